package paychat

import (
	"time"

	"ledgerd/api/httpx"
	pc "ledgerd/engine/paychat"
)

// timestamp is JavaScript's Date.prototype.toISOString of a unix ms time.
func timestamp(ms int64) string {
	t := time.UnixMilli(ms).UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.Format(timestampLayout)
	}
	// By hand: time.Format parses its layout on every call, 0.27 s of a
	// 13-s paychat-withdrawal profile for the two timestamps of each answer.
	hour, minute, sec := t.Clock()
	milli := t.Nanosecond() / 1e6
	var b [24]byte
	put := func(at, v, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = 'T'
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, sec, 2)
	b[19] = '.'
	put(20, milli, 3)
	b[23] = 'Z'
	return string(b[:])
}

const timestampLayout = "2006-01-02T15:04:05.000Z"

const alphabet36 = httpx.Alphabet36
const alphabet62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString is n characters of alphabet from crypto/rand (rejection
// sampling: every character equally likely).
func randomString(alphabet string, n int) string { return httpx.RandomString("", alphabet, n) }

// Id formats.
func newPaymentID() string    { return httpx.RandomString(pc.PrefixPayment, alphabet36, 16) }
func newLinkID() string       { return randomString(alphabet36, pc.LinkIDLen) }
func newWithdrawalID() string { return httpx.RandomString(pc.PrefixWithdrawal, alphabet36, 16) }
func newEventID() string      { return httpx.RandomString(pc.PrefixEvent, alphabet36, 24) }
func newPartnerSuffix() string {
	return randomString(alphabet36, 12)
}

// APIKeyPrefix and the length of its random part.
const (
	APIKeyPrefix    = "pk_"
	SecretKeyPrefix = "sk_"
	apiKeyRandom    = 40
)

func newAPIKey() string { return httpx.RandomString(APIKeyPrefix, alphabet62, apiKeyRandom) }

// metadataOrEmpty is a payment's metadata object, {} when it has none.
func metadataOrEmpty(md []byte) []byte {
	if len(md) == 0 {
		return []byte("{}")
	}
	return md
}

// paymentJSON is a payment as POST /payments and GET /payments/:id show
// it; id is the identifier asked for (the pay_ id, or the link id).
func (a *API) paymentJSON(p *pc.Payment, id string, nowMs int64) []byte {
	o := newObject(make([]byte, 0, 512)).str("id", id).str("link_id", p.LinkID).amount("amount", p.Amount).
		str("currency", pc.Currency).strOrNull("description", p.Description).str("status", p.StatusAt(nowMs)).
		str("payment_url", a.paymentURL(p.LinkID)).str("expires_at", timestamp(p.ExpiresMs)).raw("metadata", metadataOrEmpty(p.Metadata))
	if p.Status == pc.StatusCompleted {
		o = o.raw("payer", newObject(nil).str("telegram_id", p.Payer).close()).str("paid_at", timestamp(p.PaidMs))
		if p.Fee > 0 {
			o = o.amount("fee", p.Fee)
		}
	}
	return o.str("created_at", timestamp(p.CreatedMs)).close()
}

func envelope(name string, obj []byte) []byte {
	return newObject(make([]byte, 0, len(obj)+32)).boolean("success", true).raw(name, obj).close()
}

func withdrawalJSON(w *pc.Withdrawal) []byte {
	o := newObject(make([]byte, 0, 256)).str("id", w.ID).str("telegram_id", w.User).amount("amount", w.Amount).
		strOrNull("memo", w.Memo)
	if w.Fee > 0 {
		o = o.amount("fee", w.Fee)
	}
	return o.str("status", pc.StatusCompleted).str("created_at", timestamp(w.CreatedMs)).close()
}

// Webhook bodies, exactly as the spec shows them (plus the payment's
// metadata in payment.completed, which the spec says webhooks return).
func paymentCompletedBody(p *pc.Payment) []byte {
	data := newObject(make([]byte, 0, 256)).str("payment_id", p.LinkID).amount("amount", p.Amount).
		raw("payer", newObject(nil).str("telegram_id", p.Payer).close()).raw("metadata", metadataOrEmpty(p.Metadata)).close()
	return newObject(make([]byte, 0, len(data)+96)).str("event", pc.EventPaymentCompleted).raw("data", data).str("created_at", timestamp(p.PaidMs)).close()
}

func withdrawCompletedBody(w *pc.Withdrawal) []byte {
	data := newObject(make([]byte, 0, 192)).str("withdrawal_id", w.ID).str("telegram_id", w.User).amount("amount", w.Amount).strOrNull("memo", w.Memo).close()
	return newObject(make([]byte, 0, len(data)+96)).str("event", pc.EventWithdrawCompleted).raw("data", data).str("created_at", timestamp(w.CreatedMs)).close()
}

func testBody(partner string, nowMs int64) []byte {
	data := newObject(nil).str("message", "Test webhook from PAYchat").str("partner_id", partner).close()
	return newObject(nil).str("event", pc.EventTest).raw("data", data).str("created_at", timestamp(nowMs)).close()
}
