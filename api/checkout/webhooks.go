package checkout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"sync"
	"time"

	sender "ledgerd/actors/outbox"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
	eob "ledgerd/engine/outbox"
)

// Standard Webhooks (standardwebhooks.com): every delivery carries
//
//	webhook-id:        the event id (evt_…), the same on every retry
//	webhook-timestamp: unix seconds of this attempt
//	webhook-signature: v1,<base64 of HMAC-SHA256(key, "<id>.<timestamp>.<body>")>
//
// where key is the base64-decoded part of the shop's secret after
// "whsec_", so the public verifier libraries work as they are.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	secretPrefix    = "whsec_"
)

// Schedule is Standard Webhooks' retry schedule: at once, then 5 s, 5 min,
// 30 min, 2 h, 5 h, 10 h and 10 h after each failure, as offsets from the
// first attempt; after the eighth attempt fails the delivery is failed.
var Schedule = func() []time.Duration {
	gaps := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	out := make([]time.Duration, len(gaps))
	var at time.Duration
	for i, g := range gaps {
		at += g
		out[i] = at
	}
	return out
}()

var registerOnce sync.Once

// registerWebhooks declares the checkout's deliveries to the sender.
func registerWebhooks() {
	registerOnce.Do(func() {
		sender.RegisterAPI(ck.API, sender.API{Schedule: Schedule, Resolve: resolve, Sign: sign})
	})
}

// resolve: the shop's webhook URL now, and its secret's id and rotation.
func resolve(st *engine.State, d *eob.Delivery) (string, string, int64, bool) {
	sh, ok := ck.GetShop(st, d.Target)
	if !ok || sh.WebhookURL == "" {
		return "", "", 0, false
	}
	return sh.WebhookURL, sh.ID, sh.WebhookRotation, true
}

// signingKey is the HMAC key of a secret the outbox derived
// (sender.Secret: "whsec_" + unpadded base64url of 32 bytes).
func signingKey(secret string) []byte {
	key, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil {
		return []byte(secret)
	}
	return key
}

func sign(secret string, d *eob.Delivery, now time.Time) [][2]string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return [][2]string{{HeaderID, d.EventID}, {HeaderTimestamp, ts}, {HeaderSignature, Signature(signingKey(secret), d.EventID, ts, d.Body)},
		{"Content-Type", "application/json"}}
}

// Signature is the webhook-signature value of a delivery: "v1," and the
// standard base64 of HMAC-SHA256(key, id.timestamp.body).
func Signature(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + timestamp + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ShopSecret is shop id's webhook secret at rotation, as the shop sees it:
// "whsec_" and the standard base64 of its 32-byte key. Derived, never
// stored; never log it.
func ShopSecret(master []byte, id string, rotation int64) string {
	return secretPrefix + base64.StdEncoding.EncodeToString(signingKey(sender.Secret(master, id, rotation)))
}

// SecretKey is the HMAC key of a "whsec_<base64>" secret, as a receiver
// decodes it (false when it is not one).
func SecretKey(secret string) ([]byte, bool) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	return key, err == nil && strings.HasPrefix(secret, secretPrefix)
}
