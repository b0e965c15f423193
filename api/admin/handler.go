package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/engine"
)

// Base is the admin API's path prefix.
const Base = "/admin"

// APIs a partner can be created for, with the rate limit (per minute per
// key) a new partner gets when the request names none: PayPay.cards'
// published 60, PayShards' (unpublished) 600.
var knownAPIs = map[string]int64{"payshards": DefaultRateLimit, "paypay": 60}

// Partner limits.
const (
	DefaultRateLimit = 600
	MaxRateLimit     = 100_000_000
	keyRandomChars   = 48
	idRandomChars    = 20
	keyPrefix        = "pk_live_"
	idPrefix         = "ptr_"
	keyIDPrefix      = "key_"
	keyAlphabet      = httpx.Alphabet62
)

// API serves the admin routes.
type API struct {
	sys       *actors.System
	tokenHash [sha256.Size]byte
}

// Module declares the admin API to the shared HTTP layer: every route
// guarded by token, one file per engine module (this file: partners and
// keys; payshards.go; paypay.go), and the admin envelope for refusals.
func Module(sys *actors.System, token string) httpx.Module {
	a := &API{sys: sys, tokenHash: sha256.Sum256([]byte(token))}
	return httpx.Module{Name: "admin", Base: Base, RequestError: writeRequestError,
		NotFound: NotFound, MethodNotAllowed: MethodNotAllowed,
		Middleware: []httpx.Middleware{a.guard},
		Routes: func(r *httpx.Router) {
			a.partnerRoutes(r)
			a.payshardsRoutes(r)
			a.paypayRoutes(r)
			a.outboxRoutes(r)
			a.paysmartRoutes(r)
			r.GET(Base+"/openapi.json", serveOpenAPI)
		}}
}

// partnerRoutes are the routes of partners and their API keys (every API).
func (a *API) partnerRoutes(r *httpx.Router) {
	r.POST(Base+"/partners", a.createPartner)
	r.GET(Base+"/partners/{id}", a.getPartner)
	r.PATCH(Base+"/partners/{id}", a.patchPartner)
	r.GET(Base+"/partners/{id}/keys", a.listKeys)
	r.POST(Base+"/partners/{id}/keys", a.addKey)
	r.DELETE(Base+"/partners/{id}/keys/{keyId}", a.revokeKey)
}

// Guard is the admin token check as a middleware, for the operator routes a
// module serves under /admin itself (api/checkout's shops).
func Guard(token string) httpx.Middleware {
	return (&API{tokenHash: sha256.Sum256([]byte(token))}).guard
}

// guard checks the bearer token in constant time (over hashes, so the
// comparison does not leak the token's length either).
func (a *API) guard(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		auth := ctx.Request.Header.Peek("Authorization")
		const bearer = "Bearer "
		if len(auth) <= len(bearer) || string(auth[:len(bearer)]) != bearer {
			writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "admin bearer token required")
			return
		}
		got := sha256.Sum256(auth[len(bearer):])
		if subtle.ConstantTimeCompare(got[:], a.tokenHash[:]) != 1 {
			writeError(ctx, fasthttp.StatusUnauthorized, "unauthorized", "admin bearer token required")
			return
		}
		h(ctx)
	}
}

func (a *API) createPartner(ctx *fasthttp.RequestCtx) {
	req, err := DecodeCreatePartner(body(ctx))
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	key, newKey := generateKey()
	id := idPrefix + randomString(idRandomChars)
	p, err := a.sys.CreatePartner(id, req.API, req.Name, req.RateLimit, newKey)
	if err != nil {
		writeError(ctx, fasthttp.StatusConflict, "conflict", err.Error())
		return
	}
	httpx.Reply(ctx, fasthttp.StatusCreated, partnerJSON(p).Str("apiKey", key).Close())
}

func (a *API) getPartner(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	p, ok := a.sys.PartnerByID(id)
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such partner")
		return
	}
	httpx.Reply(ctx, fasthttp.StatusOK, partnerJSON(*p).Close())
}

// patchPartner changes a partner's status (inactive = suspended) and/or
// its rate limit; each change is its own event.
func (a *API) patchPartner(ctx *fasthttp.RequestCtx) {
	patch, err := DecodePartnerPatch(body(ctx))
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id, _ := pathParam(ctx, "id") // a malformed id matches no partner: 404
	var p engine.Partner
	if patch.Status != "" {
		p, err = a.sys.SetPartnerStatus(id, patch.Status)
	}
	if err == nil && patch.RateLimit != 0 {
		p, err = a.sys.SetPartnerRateLimit(id, patch.RateLimit)
	}
	if err != nil {
		writeDirectoryError(ctx, err)
		return
	}
	httpx.Reply(ctx, fasthttp.StatusOK, partnerJSON(p).Close())
}

func partnerJSON(p engine.Partner) httpx.JSON {
	return httpx.Object(make([]byte, 0, 256)).Str("id", p.ID).Str("api", p.API).Str("name", p.Name).
		Str("status", p.Status).Int("rateLimitPerMinute", p.RateLimit)
}

// body returns the request body, or nil (refused by every decoder) when it
// is over the size limit.
func body(ctx *fasthttp.RequestCtx) []byte {
	if b := ctx.PostBody(); len(b) <= httpx.MaxBodyBytes {
		return b
	}
	return nil
}

// pathParam returns a router parameter, percent-decoded (fasthttp/router
// matches on the raw path) and copied out of the request context; ok is
// false when the escapes are malformed.
func pathParam(ctx *fasthttp.RequestCtx, name string) (string, bool) {
	v, _ := ctx.UserValue(name).(string)
	decoded, err := url.PathUnescape(v)
	if err != nil {
		return "", false
	}
	return strings.Clone(decoded), true
}

// writeRequestError answers a request fasthttp refused before any handler
// ran: 413 request_too_large for a body over httpx.MaxWireBodyBytes,
// otherwise bad_request with the status it was given.
func writeRequestError(ctx *fasthttp.RequestCtx, status int) {
	if status == fasthttp.StatusRequestEntityTooLarge {
		writeError(ctx, status, "request_too_large", "request body over 1 MiB")
		return
	}
	writeError(ctx, status, "bad_request", "the HTTP request could not be read")
}

func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	httpx.Reply(ctx, status, httpx.Object(nil).Str("error", code).Str("message", msg).Close())
}

// generateKey makes a new API key: pk_live_ + 48 random characters. Only
// its SHA-256 and last 4 characters are kept.
func generateKey() (string, actors.NewKey) {
	key := keyPrefix + randomString(keyRandomChars)
	return key, actors.NewKey{ID: keyIDPrefix + randomString(idRandomChars), Hash: engine.HashKey([]byte(key)), Hint: key[len(key)-4:]}
}

// randomString returns n characters of keyAlphabet from crypto/rand,
// without modulo bias.
func randomString(n int) string { return httpx.RandomString("", keyAlphabet, n) }
