package paysmart

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	aps "ledgerd/actors/paysmart"
	"ledgerd/api/cards"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// Paths.
const (
	// Root is the module's base: the API and the receipt pages below it.
	Root = "/paysmart"
	// Base is the API's path prefix (the spec's https://api.paysmart.com/v2).
	Base = Root + "/v2"
	// ReceiptsPath serves the receipt pages receipt_url points at: no
	// auth, an unguessable token per payment.
	ReceiptsPath = Root + "/receipts"
)

// Config is what the module needs besides the ledger.
type Config struct {
	// PublicURL is the absolute base of the URLs handed out (receipt_url),
	// without a trailing slash, e.g. "http://127.0.0.1:8080".
	PublicURL string
	// MasterKey is the outbox master key (actors/outbox.LoadMasterKey):
	// webhook signing secrets, card fingerprints and Idempotency-Key
	// fingerprints are keyed with it. Empty: a random key for this process
	// only (fingerprints and secrets then change on restart; cmd/ledgerd
	// always passes one).
	MasterKey []byte
	// AllowInsecure lets endpoint URLs be http:// or non-public
	// (actors/outbox.CheckURL): tests and --demo.
	AllowInsecure bool
}

// API serves PaySmart on an actors.System.
type API struct {
	sys           *actors.System
	publicURL     string
	key           []byte
	mac           *cards.Keyed // HMAC-SHA256 under key (fingerprints)
	allowInsecure bool
	testCards     map[string]string // fingerprint under key -> test card number
}

// New returns the API (Module wraps it).
func New(sys *actors.System, cfg Config) *API {
	key := cfg.MasterKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic("paysmart: crypto/rand failed: " + err.Error())
		}
	}
	a := &API{sys: sys, publicURL: strings.TrimSuffix(cfg.PublicURL, "/"), key: key, mac: cards.NewKeyed(key), allowInsecure: cfg.AllowInsecure,
		testCards: make(map[string]string, len(TestCards))}
	for _, n := range TestCards {
		a.testCards[a.mac.Fingerprint(n)] = n
	}
	registerWebhooks()
	return a
}

// Module declares PaySmart to the shared HTTP layer.
func Module(sys *actors.System, cfg Config) httpx.Module {
	a := New(sys, cfg)
	return httpx.Module{Name: ps.API, Base: Root, RequestError: writeRequestError,
		Middleware: []httpx.Middleware{requestID},
		NotFound: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(HeaderRequestID, newRequestID())
			writeError(ctx, &apiError{status: 404, typ: TypeInvalidRequest, code: CodeRouteNotFound, message: MsgRouteNotFound})
		},
		MethodNotAllowed: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.Set(HeaderRequestID, newRequestID())
			writeError(ctx, &apiError{status: 405, typ: TypeInvalidRequest, code: CodeMethodNotAllowed, message: MsgMethodNotAllowed})
		},
		Routes: a.routes}
}

func (a *API) routes(r *httpx.Router) {
	r.POST(Base+"/payment_methods", a.cors(a.post("payment_methods.create", true, a.createMethod)))
	r.OPTIONS(Base+"/payment_methods", preflight)
	r.GET(Base+"/payment_methods/{id}", a.get(a.getMethod))
	r.POST(Base+"/payments", a.post("payments.create", false, a.createPayment))
	r.GET(Base+"/payments", a.get(a.listPayments))
	r.GET(Base+"/payments/{id}", a.get(a.getPayment))
	r.POST(Base+"/payments/{id}", a.post("payments.update", false, a.updatePayment))
	r.GET(Base+"/balance", a.get(a.balance))
	r.POST(Base+"/refunds", a.post("refunds.create", false, a.createRefund))
	r.GET(Base+"/refunds", a.get(a.listRefunds))
	r.GET(Base+"/refunds/{id}", a.get(a.getRefund))
	r.POST(Base+"/customers", a.post("customers.create", false, a.createCustomer))
	r.GET(Base+"/customers", a.get(a.listCustomers))
	r.GET(Base+"/customers/{id}", a.get(a.getCustomer))
	r.POST(Base+"/customers/{id}", a.post("customers.update", false, a.updateCustomer))
	r.DELETE(Base+"/customers/{id}", a.post("customers.delete", false, a.deleteCustomer))
	r.POST(Base+"/webhook_endpoints", a.post("webhook_endpoints.create", false, a.createEndpoint))
	r.GET(Base+"/webhook_endpoints", a.get(a.listEndpoints))
	r.GET(Base+"/webhook_endpoints/{id}", a.get(a.getEndpoint))
	r.POST(Base+"/webhook_endpoints/{id}", a.post("webhook_endpoints.update", false, a.updateEndpoint))
	r.DELETE(Base+"/webhook_endpoints/{id}", a.post("webhook_endpoints.delete", false, a.deleteEndpoint))
	r.GET(Base+"/events", a.get(a.listEvents))
	r.GET(Base+"/events/{id}", a.get(a.getEvent))
	r.GET(Base+"/openapi.json", serveOpenAPI)
	r.GET(ReceiptsPath+"/{token}", a.receipt)
}

// requestID gives every answer a Request-Id.
func requestID(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set(HeaderRequestID, newRequestID())
		h(ctx)
	}
}

// writeRequestError answers what fasthttp refused before any handler.
func writeRequestError(ctx *fasthttp.RequestCtx, status int) {
	ctx.Response.Header.Set(HeaderRequestID, newRequestID())
	msg := MsgRequestUnreadable
	if status == fasthttp.StatusRequestEntityTooLarge {
		msg = MsgBodyTooLarge
	}
	writeError(ctx, &apiError{status: status, typ: TypeInvalidRequest, code: CodeRequestUnreadable, message: msg})
}

// call is one authorized request.
type call struct {
	ctx  *fasthttp.RequestCtx
	auth aps.Auth
	ans  ps.Answer // Key and Fingerprint, when the request has an Idempotency-Key
	body *node
	now  time.Time
}

func (c *call) owner() ps.Owner { return c.auth.Owner() }

// keyStyle: HTTP Basic with the key as user name, or Bearer.
const keyStyle = httpx.KeyBasicUser

// authorize resolves the key to an active PaySmart account and its mode,
// or answers 401 (no key, an unknown or revoked one, an inactive account)
// or 403 (a publishable key where only a secret key may be used).
func (a *API) authorize(ctx *fasthttp.RequestCtx, publishableOK bool) (*call, bool) {
	key := httpx.KeyOf(ctx, keyStyle)
	if key == nil {
		writeError(ctx, errKeyMissing)
		return nil, false
	}
	kind := kindOf(key)
	p, _, res := a.sys.Authenticate(key, ps.API)
	if !kind.known || res != actors.AuthOK {
		writeError(ctx, errKeyInvalid)
		return nil, false
	}
	if kind.publishable && !publishableOK {
		writeError(ctx, errSecretOnly)
		return nil, false
	}
	return &call{ctx: ctx, now: a.sys.Now(), auth: aps.Auth{Account: p.ID, Live: kind.live, KeyHash: limiterKey(p.ID), RateLimit: p.RateLimit}}, true
}

// limiterKey is the rate limiter's key of an account: one window for its
// four keys together.
func limiterKey(account string) [engine.KeyHashLen]byte {
	return engine.HashKey([]byte("paysmart account " + account))
}

// admit counts a request that reaches no actor (a read, a refused body)
// against the account's rate limit; false when it answered 429 or 503.
func (a *API) admit(c *call) bool {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Partner, op.KeyHash, op.RateLimit = actors.KindNone, c.auth.Account, c.auth.KeyHash, c.auth.RateLimit
	a.sys.Do(op)
	switch op.Status {
	case actors.StatusRateLimited:
		writeRateLimited(c.ctx, op.RetryAfterSec)
		return false
	case actors.StatusOverloaded:
		writeOverloaded(c.ctx)
		return false
	}
	return true
}

// MaxIdempotencyKey bounds an Idempotency-Key, in characters.
const MaxIdempotencyKey = 255

// idempotencyKey reads the header: absent → ""; 1–255 printable ASCII
// characters (space included), else invalid.
func idempotencyKey(h []byte) (string, bool) {
	if h == nil {
		return "", true
	}
	if len(h) == 0 || len(h) > MaxIdempotencyKey {
		return "", false
	}
	for _, c := range h {
		if c < 0x20 || c > 0x7e {
			return "", false
		}
	}
	return string(h), true
}

// postHandler decodes and answers a POST. It returns the refusal of a
// request it refused before calling an actor (bad parameters, a card that
// fails validation): such a refusal binds no Idempotency-Key and counts
// against the rate limit; nil when it answered.
type postHandler func(c *call) *apiError

// post is the pipeline of every POST: Request-Id (middleware), auth, body,
// Idempotency-Key, decode, then the handler's call to an actor.
func (a *API) post(route string, publishableOK bool, h postHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c, ok := a.authorize(ctx, publishableOK)
		if !ok {
			return
		}
		var refusal *apiError
		var body *node
		err := errTooLarge
		if raw := ctx.PostBody(); len(raw) <= httpx.MaxBodyBytes {
			body, err = parseBody(ctx.Request.Header.ContentType(), raw)
		}
		key, keyOK := idempotencyKey(ctx.Request.Header.Peek("Idempotency-Key"))
		switch {
		case err == errTooLarge:
			refusal = errBodyTooLarge
		case err != nil:
			refusal = errBody
		case !keyOK:
			refusal = errIdemKey
		default:
			c.body = body
			if key != "" {
				c.ans = ps.Answer{Key: key, Fingerprint: a.fingerprint(route, ctx, body)}
			}
			refusal = h(c)
		}
		if refusal != nil && a.admit(c) {
			writeError(ctx, refusal)
		}
	}
}

// errTooLarge: a body over httpx.MaxBodyBytes, not parsed.
var errTooLarge = errors.New("paysmart: request body over 64 KiB")

// fingerprint is what a retry with the same Idempotency-Key must repeat:
// the route, its path and the parameters in canonical form, under an
// HMAC of the master key (the parameters may hold a card number: only
// this keyed hash of them is stored).
func (a *API) fingerprint(route string, ctx *fasthttp.RequestCtx, body *node) string {
	b := append([]byte(route), ' ')
	b = append(b, ctx.Path()...)
	b = append(b, ' ')
	var sum [sha256.Size]byte
	return hex.EncodeToString(a.mac.Sum(sum[:0], string(canonical(b, body))))
}

// get is the pipeline of every GET: auth (secret keys only), rate limit,
// then the handler.
func (a *API) get(h func(c *call)) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c, ok := a.authorize(ctx, false)
		if ok && a.admit(c) {
			h(c)
		}
	}
}

// finish answers with an actor's Result.
func (a *API) finish(c *call, r aps.Result) {
	switch r.Status {
	case actors.StatusOK:
		if r.Replayed {
			c.ctx.Response.Header.Set("Idempotent-Replayed", "true")
		}
		reply(c.ctx, r.HTTP, r.Body)
	case actors.StatusRateLimited:
		writeRateLimited(c.ctx, r.RetryAfterSec)
	case actors.StatusConflict:
		writeError(c.ctx, errReused)
	default:
		writeOverloaded(c.ctx)
	}
}

// pathID is the {id} of the path, percent-decoded and copied.
func pathID(ctx *fasthttp.RequestCtx, param string) string {
	v, _ := ctx.UserValue(param).(string)
	d, err := url.PathUnescape(v)
	if err != nil {
		return ""
	}
	return strings.Clone(d)
}

// cors allows POST /payment_methods from a browser (publishable keys).
func (a *API) cors(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
		h(ctx)
	}
}

// preflight answers a browser's CORS preflight of POST /payment_methods.
func preflight(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key")
	h.Set("Access-Control-Max-Age", "600")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// render makes the answers the actors decide against state.
func (a *API) render(v any) (int64, []byte) {
	switch x := v.(type) {
	case *ps.PaymentView:
		if x.Payment.Status == ps.StatusFailed {
			e := declineError(&x.Payment)
			return int64(e.status), e.body()
		}
		return 200, a.paymentJSON(x)
	case aps.Refusal:
		e := refusalError(x.Code, x.Param)
		return int64(e.status), e.body()
	}
	return a.renderMore(v)
}

// renderUpdate renders the answer to an update: the payment as it is now,
// 200 whatever its status (a failed payment's decline is the answer to its
// creation only).
func (a *API) renderUpdate(v any) (int64, []byte) {
	if x, ok := v.(*ps.PaymentView); ok {
		return 200, a.paymentJSON(x)
	}
	return a.render(v)
}

// newID is prefix and 24 random characters.
func newID(prefix string) string { return httpx.RandomString(prefix, alphabet, idRandomChars) }
