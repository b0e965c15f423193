package paysmart

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"ledgerd/actors/outbox"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
	ps "ledgerd/engine/paysmart"
)

// Webhook headers.
const (
	HeaderSignature  = "paysmart-signature"
	HeaderDeliveryID = "paysmart-delivery-id"
	HeaderEventID    = "paysmart-event-id"
)

// Schedule is when a failed delivery is attempted again, from the first
// attempt; after the last it is failed (an operator may retry it).
var Schedule = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour,
	12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour}

// registerWebhooks declares PaySmart's deliveries to the outbox sender.
func registerWebhooks() {
	outbox.RegisterAPI(ps.API, outbox.API{Schedule: Schedule, Resolve: resolve, Sign: Sign})
}

// resolve names where a delivery goes: its endpoint's URL and secret,
// unless the endpoint was deleted or disabled since.
func resolve(st *engine.State, d *eob.Delivery) (string, string, int64, bool) {
	we, ok := ps.EndpointByID(st, d.Target)
	if !ok || we.Deleted || we.Disabled {
		return "", "", 0, false
	}
	return we.URL, we.ID, we.Rotation, true
}

// Sign is Stripe's scheme: paysmart-signature: t=<unix>,v1=<hex
// HMAC-SHA256 of "<t>.<body>" keyed with the whole secret, whsec_
// included>, t taken anew for every attempt; paysmart-delivery-id is the
// same for every attempt of one event to one endpoint; paysmart-event-id is
// the event's stable id (also the body's "id").
func Sign(secret string, d *eob.Delivery, now time.Time) [][2]string {
	t := strconv.FormatInt(now.Unix(), 10)
	return [][2]string{
		{"Content-Type", "application/json"},
		{HeaderSignature, "t=" + t + ",v1=" + Signature(secret, t, d.Body)},
		{HeaderDeliveryID, d.ID},
		{HeaderEventID, d.EventID},
	}
}

// Signature is hex(HMAC-SHA256(secret, t + "." + body)).
func Signature(secret, t string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
