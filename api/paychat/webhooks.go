package paychat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	sender "ledgerd/actors/outbox"
	apc "ledgerd/actors/paychat"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
	pc "ledgerd/engine/paychat"
)

// Webhooks, as the spec describes them. Every delivery carries
//
//	Content-Type:          application/json
//	X-PAYchat-Event:       the event type (payment.completed, withdraw.completed, test)
//	X-PAYchat-Signature:   t=<unix seconds of this attempt>,v1=<hex HMAC-SHA256(secret key, "<t>.<body>")>
//	X-PAYchat-Delivery-ID: the delivery's id, the same on every attempt
//
// where the secret key is the partner's sk_…, and body the exact bytes
// sent (what JSON.stringify prints for them: jsjson.go).
const (
	HeaderEvent      = "X-PAYchat-Event"
	HeaderSignature  = "X-PAYchat-Signature"
	HeaderDeliveryID = "X-PAYchat-Delivery-ID"
)

// Schedule is the spec's retry schedule: at once, then 1 min, 5 min,
// 30 min and 2 h between attempts (offsets 1, 6, 36 and 156 minutes from
// the first); after the fifth attempt fails the delivery is failed (the
// FAQ's "up to 5 times over ~2.5 hours"), and the partner may retry it.
var Schedule = []time.Duration{time.Minute, 6 * time.Minute, 36 * time.Minute, 156 * time.Minute}

var registerOnce sync.Once

func registerWebhooks() {
	registerOnce.Do(func() {
		sender.RegisterAPI(pc.API, sender.API{Schedule: Schedule, Resolve: resolve, Sign: sign})
	})
}

// secretID is the id the partner's secret key derives from.
func secretID(partner string) string { return "paychat/" + partner }

// resolve: the partner's webhook URL now, and its secret key's id and
// rotation.
func resolve(st *engine.State, d *eob.Delivery) (string, string, int64, bool) {
	p, ok := pc.GetPartner(st, d.Target)
	if !ok || p.WebhookURL == "" {
		return "", "", 0, false
	}
	return p.WebhookURL, secretID(p.ID), p.SecretRotation, true
}

// SecretKey is the partner's secret key (sk_…) at rotation: "sk_" and the
// outbox secret of its id (sender.Secret, unpadded base64url of an HMAC of
// the master key). Derived on demand, never stored (only its SHA-256, in
// the partner record); never log it.
func SecretKey(master []byte, partner string, rotation int64) string {
	return SecretKeyPrefix + strings.TrimPrefix(sender.Secret(master, secretID(partner), rotation), "whsec_")
}

// Signature is the X-PAYchat-Signature value of body signed at unix
// seconds t with a secret key.
func Signature(secretKey string, t int64, body []byte) string {
	ts := strconv.FormatInt(t, 10)
	m := hmac.New(sha256.New, []byte(secretKey))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

func sign(secret string, d *eob.Delivery, now time.Time) [][2]string {
	sk := SecretKeyPrefix + strings.TrimPrefix(secret, "whsec_")
	return [][2]string{{"Content-Type", "application/json"}, {HeaderEvent, d.EventType},
		{HeaderSignature, Signature(sk, now.Unix(), d.Body)}, {HeaderDeliveryID, d.ID}}
}

func (a *API) setWebhook(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classOther)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	url, err := DecodeWebhook(ctx.PostBody())
	if err == nil && sender.CheckURL(url, a.cfg.Development) != nil {
		err = ErrWebhookURL
	}
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	c.auth.RateLimit = 0 // counted above
	r := apc.SetWebhook(a.sys, c.auth, url)
	if r.Status == actors.StatusUnknownUser {
		writeError(ctx, fasthttp.StatusForbidden, CodePartnerInactive, msgNotRegistered)
		return
	}
	if writeStatus(ctx, r.Status, r.RetryAfterSec) {
		return
	}
	obj := newObject(nil).str("webhook_url", url).close()
	reply(ctx, fasthttp.StatusOK, envelope("webhook", obj))
}

func (a *API) webhookTest(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classOther)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	p, ok := a.record(ctx, c)
	if !ok {
		return
	}
	if p.WebhookURL == "" {
		writeError(ctx, fasthttp.StatusBadRequest, CodeWebhookNotSet, msgWebhookNotSet)
		return
	}
	n := pc.Notice{ID: newEventID(), Type: pc.EventTest, Body: testBody(p.ID, a.nowMs())}
	if err := apc.TestWebhook(a.sys, p.ID, n); err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeServiceUnavailable, msgOverloaded)
		return
	}
	obj := newObject(nil).str("delivery_id", eob.DeliveryID(n.ID, p.ID)).str("event", pc.EventTest).
		str("webhook_url", p.WebhookURL).str("status", eob.StatusPending).close()
	reply(ctx, fasthttp.StatusOK, envelope("webhook_test", obj))
}

func deliveryJSON(dst []byte, d *eob.Delivery) []byte {
	o := newObject(dst).str("id", d.ID).str("event", d.EventType).str("status", d.Status).integer("attempts", d.Attempts)
	if d.LastMs != 0 {
		o = o.str("last_attempt_at", timestamp(d.LastMs)).integer("last_status", d.LastStatus).strOrNull("last_error", d.LastError)
	} else {
		o = o.null("last_attempt_at").null("last_status").null("last_error")
	}
	if d.Status == eob.StatusPending {
		o = o.str("next_attempt_at", timestamp(d.NextMs))
	} else {
		o = o.null("next_attempt_at")
	}
	return o.str("created_at", timestamp(d.CreatedMs)).close()
}

func (a *API) listDeliveries(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classRead)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	q := eob.Query{API: pc.API, Partner: c.auth.Partner, Limit: eob.ListLimitDefault}
	var err error
	ctx.QueryArgs().VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		switch string(k) {
		case "status":
			switch s := string(v); s {
			case eob.StatusPending, eob.StatusSucceeded, eob.StatusFailed:
				q.Status = s
			case "all", "":
			default:
				err = invalid("status must be pending, succeeded, failed or all")
			}
		case "limit":
			n, e := httpx.Integer(httpx.Value{Kind: httpx.KindNumber, Raw: v}, 1, eob.ListLimitMax)
			if e != nil {
				err = invalid("limit must be an integer from 1 to %d", eob.ListLimitMax)
			}
			q.Limit = int(n)
		case "starting_after":
			q.StartingAfter = string(v)
		default:
			err = invalid("unknown query parameter %q", k)
		}
	})
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	var list []eob.Delivery
	var more bool
	a.sys.ReadState(func(st *engine.State) {
		if q.StartingAfter != "" {
			if d, ok := eob.Get(st, q.StartingAfter); !ok || d.API != pc.API || d.Partner != c.auth.Partner {
				err = eob.ErrNoCursor
				return
			}
		}
		list, more, err = eob.List(st, q)
	})
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, CodeValidation, "starting_after names no delivery of yours")
		return
	}
	out := append(make([]byte, 0, 256*len(list)+2), '[')
	for i := range list {
		if i > 0 {
			out = append(out, ',')
		}
		out = deliveryJSON(out, &list[i])
	}
	out = append(out, ']')
	reply(ctx, fasthttp.StatusOK, newObject(nil).boolean("success", true).raw("deliveries", out).boolean("has_more", more).close())
}

func (a *API) retryDelivery(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classOther)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	id = strings.Clone(id)
	var d eob.Delivery
	a.sys.ReadState(func(st *engine.State) { d, ok = eob.Get(st, id) })
	if !ok || d.API != pc.API || d.Partner != c.auth.Partner {
		writeError(ctx, fasthttp.StatusNotFound, CodeDeliveryNotFound, msgDeliveryMissing)
		return
	}
	d, err := sender.Retry(a.sys, id)
	switch {
	case errors.Is(err, sender.ErrNotFailed):
		writeError(ctx, fasthttp.StatusConflict, CodeDeliveryNotFailed, msgDeliveryState)
	case errors.Is(err, sender.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, CodeDeliveryNotFound, msgDeliveryMissing)
	case err != nil:
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeServiceUnavailable, msgOverloaded)
	default:
		reply(ctx, fasthttp.StatusOK, envelope("delivery", deliveryJSON(nil, &d)))
	}
}
