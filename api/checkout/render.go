package checkout

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"

	"ledgerd/api/httpx"
	ck "ledgerd/engine/checkout"
)

// Paths below the public URL.
const (
	PagePath    = "/checkout/pay"    // + "/<token>": the checkout page
	receiptPart = "/receipt"         // + after the page path: the receipt
	StaticPath  = "/checkout/static" // the page's script and style
)

// timeLayout is ISO 8601 in UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// FormatTime renders unix milliseconds as ISO 8601 (UTC, milliseconds).
func FormatTime(ms int64) string { return time.UnixMilli(ms).UTC().Format(timeLayout) }

func appendTime(dst []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, timeLayout)
}

// checkoutURL is the page's absolute URL.
func (a *API) checkoutURL(p *ck.Payment) string { return a.cfg.PublicURL + PagePath + "/" + p.Token }

// receiptURL is the receipt's absolute URL, for a paid payment only.
func (a *API) receiptURL(p *ck.Payment) string {
	return a.cfg.PublicURL + PagePath + "/" + p.Token + receiptPart
}

func paid(p *ck.Payment) bool { return p.Status == ck.StatusCompleted || p.Status == ck.StatusRefunded }

// appendPayment appends the payment object: every field present, null
// when not sent or not yet known.
func (a *API) appendPayment(b []byte, p *ck.Payment) []byte {
	str := func(b []byte, k, v string) []byte {
		b = append(append(append(b, ',', '"'), k...), '"', ':')
		if v == "" {
			return append(b, "null"...)
		}
		return httpx.AppendString(b, v)
	}
	tm := func(b []byte, k string, ms int64) []byte {
		b = append(append(append(b, ',', '"'), k...), '"', ':')
		if ms == 0 {
			return append(b, "null"...)
		}
		return append(appendTime(append(b, '"'), ms), '"')
	}
	b = append(b, `{"id":`...)
	b = httpx.AppendString(b, p.ID)
	b = append(b, `,"object":"payment","livemode":`...)
	b = strconv.AppendBool(b, p.Live)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, p.Amount, 10)
	b = str(b, "currency", p.Currency)
	b = str(b, "status", p.Status)
	b = str(b, "checkout_url", a.checkoutURL(p))
	b = str(b, "return_url", p.ReturnURL)
	b = str(b, "customer_email", p.CustomerEmail)
	b = str(b, "customer_name", p.CustomerName)
	b = append(b, `,"metadata":`...)
	if p.Metadata == "" {
		b = append(b, "null"...)
	} else {
		b = append(b, p.Metadata...)
	}
	b = append(b, `,"amount_refunded":`...)
	b = strconv.AppendInt(b, p.AmountRefunded, 10)
	b = str(b, "failure_reason", p.FailureReason)
	receipt := ""
	if paid(p) {
		receipt = a.receiptURL(p)
	}
	b = str(b, "receipt_url", receipt)
	b = tm(b, "created_at", p.CreatedMs)
	b = tm(b, "expires_at", p.ExpiresMs)
	b = tm(b, "completed_at", p.CompletedMs)
	return append(b, '}')
}

// notice renders the webhook event of type typ about p: the Standard
// Webhooks payload {"type","timestamp","data":{payment}}.
func (a *API) notice(p *ck.Payment, typ string) ck.Notice {
	b := append(make([]byte, 0, 768), `{"type":`...)
	b = httpx.AppendString(b, typ)
	b = append(b, `,"timestamp":"`...)
	b = append(appendTime(b, a.sys.Now().UnixMilli()), `","data":`...)
	b = a.appendPayment(b, p)
	return ck.Notice{ID: httpx.RandomString(ck.PrefixEvent, idAlphabet, 24), Type: typ, Body: append(b, '}')}
}

// fingerprint is what a retry with the same Idempotency-Key must repeat.
func fingerprint(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(strconv.Itoa(len(p))))
		h.Write([]byte{':'})
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

const idAlphabet = httpx.Alphabet62

// randomID is n characters of idAlphabet from crypto/rand, without bias.
func randomID(n int) string { return httpx.RandomString("", idAlphabet, n) }

// newToken is a checkout token: 32 random bytes, base64url (43 characters).
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("checkout: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
