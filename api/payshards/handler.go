package payshards

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
)

// Base is the API's path prefix on ledgerd.
const Base = "/payshards/api/partner"

// APIName is the partner API a key must belong to.
const APIName = "payshards"

// Error codes, as the spec spells them.
const (
	errInvalidRequest = "invalid_request"
	errMissingKey     = "missing_api_key"
	errInvalidKey     = "invalid_api_key"
	errInsufficient   = "insufficient_balance"
	errInactive       = "partner_inactive"
	errUnknownUser    = "unknown_user"
	errRateLimited    = "rate_limited"
	errConflict       = "idempotency_conflict"
	errRefundExceeds  = "refund_exceeds_deducted"
	errOverloaded     = "overloaded"
)

// API serves PayShards on an actors.System.
type API struct{ sys *actors.System }

// Module declares PayShards to the shared HTTP layer: its routes, and
// its envelope for requests refused before any handler runs (404s and
// 405s keep the shared {"error":"not_found"}: the spec has no code for them).
func Module(sys *actors.System) httpx.Module {
	a := &API{sys: sys}
	return httpx.Module{Name: APIName, Base: Base, RequestError: writeRequestError,
		Routes: func(r *httpx.Router) {
			r.GET(Base+"/balance", a.balance)
			r.POST(Base+"/deduct", a.command(actors.KindDeduct))
			r.POST(Base+"/refund", a.command(actors.KindRefund))
			r.GET(Base+"/openapi.json", serveOpenAPI)
		}}
}

// keyStyle: the spec's x-api-key header.
const keyStyle = httpx.KeyXAPIKey

// authorize resolves x-api-key to an active PayShards partner and fills the
// op's identity, or writes the spec's 401/403 and returns false.
func (a *API) authorize(ctx *fasthttp.RequestCtx, op *actors.Op) bool {
	p, hash, res := a.sys.Authenticate(httpx.KeyOf(ctx, keyStyle), APIName)
	switch res {
	case actors.AuthMissing:
		writeError(ctx, fasthttp.StatusUnauthorized, errMissingKey)
	case actors.AuthUnknown:
		writeError(ctx, fasthttp.StatusUnauthorized, errInvalidKey)
	case actors.AuthInactive:
		writeError(ctx, fasthttp.StatusForbidden, errInactive)
	default:
		op.KeyHash, op.Partner, op.RateLimit = hash, p.ID, p.RateLimit
		return true
	}
	return false
}

func (a *API) balance(ctx *fasthttp.RequestCtx) {
	op := actors.NewOp()
	defer op.Release()
	if !a.authorize(ctx, op) {
		return
	}
	user, err := DecodeUserID(ctx.QueryArgs().Peek("userId"))
	if err == nil {
		op.Kind, op.User = actors.KindBalance, user
	}
	if !a.do(ctx, op, err) {
		return
	}
	var buf [256]byte
	httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(buf[:0]).Str("userId", op.User).Int("balance", op.Balance).Close())
}

func (a *API) command(kind actors.Kind) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		op := actors.NewOp()
		defer op.Release()
		if !a.authorize(ctx, op) {
			return
		}
		cmd, err := decodeRequest(ctx)
		if err == nil {
			op.Kind, op.User, op.Amount, op.Reference = kind, cmd.UserID, cmd.Amount, cmd.Reference
		}
		if !a.do(ctx, op, err) {
			return
		}
		var buf [96]byte
		httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(buf[:0]).Bool("success", true).
			Int("newBalance", op.Balance).Bool("idempotent", op.Idempotent).Close())
	}
}

// do runs op and reports whether it succeeded; otherwise it has written
// the error. A request whose input failed to decode (decodeErr) still
// passes the rate limiter, so a bad body counts against the limit, and then
// gets 400.
func (a *API) do(ctx *fasthttp.RequestCtx, op *actors.Op, decodeErr error) bool {
	a.sys.Do(op)
	switch {
	case op.Status != actors.StatusOK:
		writeStatus(ctx, op)
	case decodeErr != nil:
		writeError(ctx, fasthttp.StatusBadRequest, errInvalidRequest)
	default:
		return true
	}
	return false
}

func decodeRequest(ctx *fasthttp.RequestCtx) (Command, error) {
	body := ctx.PostBody()
	if len(body) > httpx.MaxBodyBytes {
		return Command{}, ErrInvalid
	}
	return DecodeCommand(body) // copies every string it keeps
}

// writeStatus maps a refused Op to the spec's status and envelope.
func writeStatus(ctx *fasthttp.RequestCtx, op *actors.Op) {
	var buf [96]byte
	switch op.Status {
	case actors.StatusRateLimited:
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(op.RetryAfterSec, 10))
		writeError(ctx, fasthttp.StatusTooManyRequests, errRateLimited)
	case actors.StatusInsufficient:
		httpx.Reply(ctx, fasthttp.StatusPaymentRequired, httpx.Object(buf[:0]).Str("error", errInsufficient).Int("balance", op.Balance).Close())
	case actors.StatusUnknownUser:
		writeError(ctx, fasthttp.StatusNotFound, errUnknownUser)
	case actors.StatusRefundExceeds:
		httpx.Reply(ctx, fasthttp.StatusConflict, httpx.Object(buf[:0]).Str("error", errRefundExceeds).Int("refundable", op.Balance).Close())
	case actors.StatusConflict:
		writeError(ctx, fasthttp.StatusConflict, errConflict)
	default:
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusServiceUnavailable, errOverloaded)
	}
}

// writeRequestError answers a request fasthttp refused (413 for a body
// over httpx.MaxWireBodyBytes) with the spec's envelope: the spec's code
// for a refused request is invalid_request, so only the status differs.
func writeRequestError(ctx *fasthttp.RequestCtx, status int) {
	writeError(ctx, status, errInvalidRequest)
}

func writeError(ctx *fasthttp.RequestCtx, status int, code string) {
	var buf [64]byte
	httpx.Reply(ctx, status, httpx.Object(buf[:0]).Str("error", code).Close())
}
