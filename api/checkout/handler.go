package checkout

import (
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// Base is the API's path prefix.
const Base = "/checkout/api/v1"

// DefaultExpiry is how long a payment stays pending before it fails
// (failure_reason expired) when Config.Expiry is zero.
const DefaultExpiry = 24 * time.Hour

// Config is what the module needs besides the ledger.
type Config struct {
	// PublicURL is the absolute base of checkout_url and receipt_url,
	// without a trailing slash ("http://127.0.0.1:8080").
	PublicURL string
	// WebhookKey is the outbox master key: webhook secrets and the page's
	// CSRF tokens derive from it, and card fingerprints.
	WebhookKey []byte
	// WebhooksInsecure allows http:// and non-public webhook URLs (tests,
	// --demo).
	WebhooksInsecure bool
	// Expiry of a pending payment; default DefaultExpiry.
	Expiry time.Duration
}

// API serves hosted checkout on an actors.System.
type API struct {
	sys *actors.System
	cfg Config
}

func newAPI(sys *actors.System, cfg Config) *API {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.Expiry <= 0 {
		cfg.Expiry = DefaultExpiry
	}
	a := &API{sys: sys, cfg: cfg}
	registerWebhooks()
	return a
}

// Module declares the checkout API to the shared HTTP layer: its routes
// and its envelope for every refusal. PageModule serves the checkout page.
func Module(sys *actors.System, cfg Config) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "checkout", Base: Base, RequestError: writeRequestError,
		NotFound:         func(ctx *fasthttp.RequestCtx) { writeError(ctx, errRouteNotFound) },
		MethodNotAllowed: func(ctx *fasthttp.RequestCtx) { writeError(ctx, errMethod) },
		Routes: func(r *httpx.Router) {
			r.POST(Base+"/payments", a.createPayment)
			r.GET(Base+"/payments", a.listPayments)
			r.GET(Base+"/payments/{id}", a.getPayment)
			r.POST(Base+"/payments/{id}/refund", a.refundPayment)
			r.GET(Base+"/openapi.json", serveOpenAPI)
		}}
}

// Key format: ck_test_ or ck_live_ and 48 characters [0-9A-Za-z].
const (
	KeyPrefixTest = "ck_test_"
	KeyPrefixLive = "ck_live_"
	KeyRandom     = 48
)

// KeyMode reports whether key has the shop key format, and its mode.
func KeyMode(key []byte) (live, ok bool) {
	if len(key) != len(KeyPrefixTest)+KeyRandom {
		return false, false
	}
	switch string(key[:len(KeyPrefixTest)]) {
	case KeyPrefixTest:
	case KeyPrefixLive:
		live = true
	default:
		return false, false
	}
	for _, c := range key[len(KeyPrefixTest):] {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false, false
		}
	}
	return live, true
}

// authorize resolves the bearer key to an active shop and its mode, or
// writes the 401. Every route then counts the request against the key's
// rate limit (limit, or the command's own limiter hop).
func (a *API) authorize(ctx *fasthttp.RequestCtx) (ack.Auth, bool) {
	if len(ctx.Request.Header.Peek("Authorization")) == 0 {
		writeError(ctx, authError(CodeKeyMissing, MsgKeyMissing))
		return ack.Auth{}, false
	}
	key := httpx.KeyOf(ctx, httpx.KeyBearer)
	live, ok := KeyMode(key)
	if !ok {
		writeError(ctx, authError(CodeKeyFormat, MsgKeyFormat))
		return ack.Auth{}, false
	}
	p, hash, res := a.sys.Authenticate(key, ck.API)
	switch res {
	case actors.AuthOK:
	case actors.AuthInactive:
		writeError(ctx, authError(CodeShopInactive, MsgShopInactive))
		return ack.Auth{}, false
	default:
		writeError(ctx, authError(CodeKeyUnknown, MsgKeyUnknown))
		return ack.Auth{}, false
	}
	return ack.Auth{Shop: p.ID, Live: live, KeyHash: hash, RateLimit: p.RateLimit}, true
}

// limit counts a request that makes no command (a read, or a refusal
// before one) against the key's rate limit: false when it wrote the 429.
// A command carries auth.RateLimit itself, so it crosses the limiter once.
func (a *API) limit(ctx *fasthttp.RequestCtx, auth ack.Auth) bool {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Partner, op.KeyHash, op.RateLimit = actors.KindNone, auth.Shop, auth.KeyHash, auth.RateLimit
	a.sys.Do(op)
	return a.admitted(ctx, op.Status, op.RetryAfterSec)
}

// refuse counts a refused request against the rate limit, then writes e
// (or the 429).
func (a *API) refuse(ctx *fasthttp.RequestCtx, auth ack.Auth, e *apiError) {
	if a.limit(ctx, auth) {
		writeError(ctx, e)
	}
}

// admitted writes the 429 or 503 of a status, or reports true.
func (a *API) admitted(ctx *fasthttp.RequestCtx, st actors.Status, retryAfter int64) bool {
	switch st {
	case actors.StatusRateLimited:
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(retryAfter, 1), 10))
		writeError(ctx, errRateLimited)
	case actors.StatusOverloaded:
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, errOverloaded)
	case actors.StatusOK:
		return true
	default:
		writeError(ctx, errInternal)
	}
	return false
}

// jsonBody checks the Content-Type (application/json, parameters
// ignored; required when there is a body, or always) and the size.
func jsonBody(ctx *fasthttp.RequestCtx, required bool) ([]byte, *apiError) {
	body := ctx.PostBody()
	if required || len(body) > 0 {
		mt, _, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
		if err != nil || mt != "application/json" {
			return nil, errMedia
		}
	}
	if len(body) > httpx.MaxBodyBytes {
		return nil, &apiError{status: fasthttp.StatusRequestEntityTooLarge, typ: TypeInvalidRequest, code: CodeBodyTooLarge, message: MsgBodyTooLarge}
	}
	return body, nil
}

// commandInput reads what a POST carries before its command: the body
// (Content-Type, size) and the Idempotency-Key.
func commandInput(ctx *fasthttp.RequestCtx, bodyRequired bool) ([]byte, string, *apiError) {
	body, err := jsonBody(ctx, bodyRequired)
	if err != nil {
		return nil, "", err
	}
	key, err := decodeIdempotencyKey(ctx.Request.Header.Peek("Idempotency-Key"))
	return body, key, err
}

func (a *API) createPayment(ctx *fasthttp.RequestCtx) {
	auth, ok := a.authorize(ctx)
	if !ok {
		return
	}
	body, key, err := commandInput(ctx, true)
	if err != nil {
		a.refuse(ctx, auth, err)
		return
	}
	req, err := decodeCreate(body)
	if err != nil {
		a.refuse(ctx, auth, err)
		return
	}
	a.reply(ctx, a.create(auth, req, key))
}

// create records a pending payment for a decoded request; its answer is
// the payment object, bound to the Idempotency-Key key ("" none).
func (a *API) create(auth ack.Auth, req createRequest, key string) ack.Result {
	now := a.sys.Now().UnixMilli()
	p := ck.Payment{Owner: auth.Owner(), ID: httpx.RandomString(ck.PrefixPayment, idAlphabet, 24), Amount: req.Amount, Currency: req.Currency,
		ReturnURL: req.ReturnURL, CustomerEmail: req.CustomerEmail, CustomerName: req.CustomerName, Metadata: string(req.Metadata),
		Token: newToken(), Status: ck.StatusPending, CreatedMs: now, ExpiresMs: now + a.cfg.Expiry.Milliseconds()}
	answer := a.appendPayment(make([]byte, 0, 768), &p)
	ans := ck.Answer{Key: key, Fingerprint: fingerprint([]byte("POST /payments"), strconv.AppendInt(nil, p.Amount, 10),
		[]byte(p.Currency), []byte(p.ReturnURL), []byte(p.CustomerEmail), []byte(p.CustomerName), req.Metadata)}
	return ack.CreatePayment(a.sys, auth, p, fasthttp.StatusOK, answer, ans)
}

// reply writes a command's result.
func (a *API) reply(ctx *fasthttp.RequestCtx, r ack.Result) {
	switch r.Status {
	case actors.StatusOK:
		if r.Replayed {
			ctx.Response.Header.Set("Idempotent-Replayed", "true")
		}
		httpx.Reply(ctx, r.HTTP, r.Body)
	case actors.StatusConflict:
		writeError(ctx, errIdemReused)
	default:
		a.admitted(ctx, r.Status, r.RetryAfterSec)
	}
}

// pathID is the {id} parameter, percent-decoded and copied.
func pathID(ctx *fasthttp.RequestCtx) string {
	v, _ := ctx.UserValue("id").(string)
	d, err := url.PathUnescape(v)
	if err != nil {
		return ""
	}
	return strings.Clone(d)
}

func (a *API) getPayment(ctx *fasthttp.RequestCtx) {
	auth, ok := a.authorize(ctx)
	if !ok || !a.limit(ctx, auth) {
		return
	}
	p, found := a.payment(auth.Owner(), pathID(ctx))
	if !found {
		writeError(ctx, errNoPayment)
		return
	}
	httpx.Reply(ctx, fasthttp.StatusOK, a.appendPayment(make([]byte, 0, 768), &p))
}

// payment reads owner's payment id; a pending one past its expiry is
// expired first (at its actor), so no answer shows a pending payment
// that can no longer be paid.
func (a *API) payment(o ck.Owner, id string) (ck.Payment, bool) {
	var p ck.Payment
	var ok bool
	a.sys.ReadState(func(st *engine.State) { p, ok = ck.GetPayment(st, o, id) })
	if !ok || !p.Open() || a.sys.Now().UnixMilli() < p.ExpiresMs {
		return p, ok
	}
	if s, err := ack.Expire(a.sys, id, a.notice); err == nil && s.Outcome != ack.OutcomeMissing {
		return s.Payment, true
	}
	return p, ok
}

func (a *API) listPayments(ctx *fasthttp.RequestCtx) {
	auth, ok := a.authorize(ctx)
	if !ok || !a.limit(ctx, auth) {
		return
	}
	args := ctx.QueryArgs()
	q, qerr := decodeList(args.Peek("limit"), args.Peek("starting_after"), args.Peek("status"), args.Has("limit"))
	if qerr != nil {
		writeError(ctx, qerr)
		return
	}
	var page []ck.Payment
	var more bool
	var err error
	a.sys.ReadState(func(st *engine.State) {
		page, more, err = ck.ListPayments(st, ck.Query{Owner: auth.Owner(), Limit: q.Limit, StartingAfter: q.StartingAfter, Status: q.Status})
	})
	if err != nil {
		writeError(ctx, invalid(CodeResourceMissing, MsgInvalidCursor, "starting_after"))
		return
	}
	b := append(make([]byte, 0, 64+700*len(page)), `{"object":"list","url":"`+Base+`/payments","data":[`...)
	for i := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = a.appendPayment(b, &page[i])
	}
	b = append(b, `],"has_more":`...)
	b = strconv.AppendBool(b, more)
	httpx.Reply(ctx, fasthttp.StatusOK, append(b, '}'))
}

func (a *API) refundPayment(ctx *fasthttp.RequestCtx) {
	auth, ok := a.authorize(ctx)
	if !ok {
		return
	}
	body, key, err := commandInput(ctx, false)
	if err != nil {
		a.refuse(ctx, auth, err)
		return
	}
	req, err := decodeRefund(body)
	if err != nil {
		a.refuse(ctx, auth, err)
		return
	}
	id := pathID(ctx)
	ans := ck.Answer{Key: key, Fingerprint: fingerprint([]byte("POST /payments/refund"), []byte(id), strconv.AppendInt(nil, req.Amount, 10))}
	a.reply(ctx, ack.Refund(a.sys, auth, id, req.Amount, a.notice, ans, a.renderRefund))
}

// renderRefund is a refund's answer: the payment after it, or the error.
func (a *API) renderRefund(v any) (int64, []byte) {
	switch x := v.(type) {
	case *ck.Payment:
		return fasthttp.StatusOK, a.appendPayment(make([]byte, 0, 768), x)
	case ack.Refusal:
		e := errNoPayment
		switch x.Code {
		case ack.CodeNotRefundable:
			e = errNotRefundable
		case ack.CodeRefundTooLarge:
			e = errRefundTooBig
		}
		return int64(e.status), errorBody(e)
	}
	return fasthttp.StatusInternalServerError, errorBody(errInternal)
}
