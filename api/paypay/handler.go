package paypay

import (
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// API serves PayPay.cards on an actors.System.
type API struct {
	sys *actors.System
	now func() time.Time
}

// Module declares PayPay.cards to the shared HTTP layer: its routes, its
// envelope for every refusal (every 4xx of this API has one, with
// X-Request-Id), and its answer to plain HTTP when HTTPS is required.
func Module(sys *actors.System) httpx.Module {
	a := &API{sys: sys, now: sys.Now}
	return httpx.Module{Name: APIName, Base: Base, RequestError: WriteRequestError, HTTPSReject: RejectHTTP,
		NotFound: func(ctx *fasthttp.RequestCtx) {
			WriteError(ctx, fasthttp.StatusNotFound, CodeNotFound, MsgRouteNotFound, NewRequestID(), nil)
		},
		MethodNotAllowed: func(ctx *fasthttp.RequestCtx) { WriteCode(ctx, CodeMethodNotAllowed, NewRequestID(), nil) },
		Routes: func(r *httpx.Router) {
			r.GET(Base+"/health", a.health)
			r.POST(Base+"/validate", a.code(actors.KindValidate))
			r.POST(Base+"/redeem", a.code(actors.KindRedeem))
			r.GET(Base+"/redemption_attempts", a.attempts)
			r.GET(Base+"/openapi.json", serveOpenAPI)
		}}
}

// health is public and not rate limited. Like every answer of the API it
// carries X-Request-Id.
func (a *API) health(ctx *fasthttp.RequestCtx) {
	SetRequestID(ctx, NewRequestID())
	var buf [64]byte
	j := httpx.Object(buf[:0]).Bool("ok", true)
	httpx.Reply(ctx, fasthttp.StatusOK, j.Str("time", FormatTime(a.now().UnixMilli())).Close())
}

// keyStyle: "Authorization: Bearer <key>".
const keyStyle = httpx.KeyBearer

// authorize resolves the bearer key to an active PayPay.cards partner and
// fills the op's identity, or answers 401 unauthorized.
func (a *API) authorize(ctx *fasthttp.RequestCtx, op *actors.Op, requestID string) bool {
	// Missing, unknown and inactive alike are 401: the spec has no 403.
	p, hash, res := a.sys.Authenticate(httpx.KeyOf(ctx, keyStyle), APIName)
	if res == actors.AuthOK {
		op.KeyHash, op.Partner, op.RateLimit = hash, p.ID, p.RateLimit
		return true
	}
	WriteCode(ctx, CodeUnauthorized, requestID, nil)
	return false
}

// admitted runs op (through the rate limiter) and reports whether it may
// be answered normally; otherwise it wrote the 429 or 503.
func (a *API) admitted(ctx *fasthttp.RequestCtx, op *actors.Op, requestID string) bool {
	a.sys.Do(op)
	switch op.Status {
	case actors.StatusRateLimited:
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(op.RetryAfterSec, 10))
		WriteCode(ctx, CodeRateLimited, requestID, nil)
	case actors.StatusOverloaded:
		ctx.Response.Header.Set("Retry-After", "1")
		WriteCode(ctx, CodeOverloaded, requestID, nil)
	default:
		return true
	}
	return false
}

func (a *API) code(kind actors.Kind) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		requestID := NewRequestID()
		op := actors.NewOp()
		defer op.Release()
		if !a.authorize(ctx, op, requestID) {
			return
		}
		code, bodyErr := decodeBody(ctx)
		var key string
		var keyErr error
		if kind == actors.KindRedeem { // validate is read-only: a key there means nothing
			key, _, keyErr = DecodeIdempotencyKey(ctx.Request.Header.Peek("Idempotency-Key"))
		}
		if bodyErr == nil && keyErr == nil {
			op.Kind, op.Card, op.RequestID = kind, code, requestID
			if kind == actors.KindRedeem {
				op.Reference, op.RedemptionID = key, NewRedemptionID()
			}
		}
		if !a.admitted(ctx, op, requestID) { // a bad request still counts against the limit
			return
		}
		switch {
		case bodyErr != nil:
			WriteCode(ctx, CodeInvalidBody, requestID, nil)
		case keyErr != nil:
			WriteError(ctx, fasthttp.StatusBadRequest, CodeInvalidBody, MsgInvalidIdempotencyKey, requestID, nil)
		case kind == actors.KindValidate:
			writeValidate(ctx, op, requestID)
		default:
			writeRedeem(ctx, op, requestID)
		}
	}
}

func decodeBody(ctx *fasthttp.RequestCtx) (string, error) {
	if len(ctx.PostBody()) > httpx.MaxBodyBytes {
		return "", ErrInvalidBody
	}
	return DecodeCode(ctx.PostBody())
}

// reasons maps a refused code's status to the spec's reason string.
var reasons = map[actors.Status]string{
	actors.StatusNotFound:        CodeNotFound,
	actors.StatusExpired:         CodeExpired,
	actors.StatusAlreadyRedeemed: CodeAlreadyRedeemed,
	actors.StatusRevoked:         CodeRevoked,
}

func writeValidate(ctx *fasthttp.RequestCtx, op *actors.Op, requestID string) {
	SetRequestID(ctx, requestID)
	j := httpx.Object(make([]byte, 0, 192))
	if op.Status == actors.StatusOK {
		j = j.Bool("valid", true).Str("tier", op.Detail.Tier).Str("entitlement_label", op.Detail.Label).
			Str("expires_at", FormatTime(op.Detail.ExpiresMs))
	} else {
		j = j.Bool("valid", false).Str("reason", reasons[op.Status])
	}
	httpx.Reply(ctx, fasthttp.StatusOK, j.Close())
}

// writeRedeem answers a redeem. A replay (same Idempotency-Key) carries the
// first response's request id and redemption, and Idempotent-Replayed.
func writeRedeem(ctx *fasthttp.RequestCtx, op *actors.Op, requestID string) {
	if op.Status == actors.StatusConflict {
		WriteCode(ctx, CodeIdempotencyKeyReused, requestID, nil)
		return
	}
	d := op.Detail
	if op.Idempotent {
		ctx.Response.Header.Set("Idempotent-Replayed", "true")
	}
	if op.Status != actors.StatusOK {
		reason := reasons[op.Status]
		WriteCode(ctx, reason, d.RequestID, RedeemRefusal(reason, d.RedeemedMs))
		return
	}
	SetRequestID(ctx, d.RequestID)
	httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(make([]byte, 0, 256)).Bool("redeemed", true).
		Str("tier", d.Tier).Str("entitlement_label", d.Label).Str("redeemed_at", FormatTime(d.RedeemedMs)).
		Str("redemption_id", d.RedemptionID).Close())
}

// attempts lists the partner's audited calls, newest first:
// {"data":[…],"has_more":bool,"next_cursor":"att_…"|null}.
func (a *API) attempts(ctx *fasthttp.RequestCtx) {
	requestID := NewRequestID()
	op := actors.NewOp()
	defer op.Release()
	if !a.authorize(ctx, op, requestID) {
		return
	}
	limit, cursor, err := DecodeListQuery(ctx.QueryArgs())
	if !a.admitted(ctx, op, requestID) {
		return
	}
	if err != nil {
		WriteError(ctx, fasthttp.StatusBadRequest, CodeInvalidBody, MsgInvalidQuery, requestID, nil)
		return
	}
	var before uint64
	if cursor != "" {
		before, _ = strconv.ParseUint(cursor[len(CursorPrefix):], 10, 64)
	}
	items, more := a.sys.Attempts(op.Partner, before, limit)
	SetRequestID(ctx, requestID)
	httpx.Reply(ctx, fasthttp.StatusOK, appendAttempts(make([]byte, 0, 64+160*len(items)), items, more))
}

func appendAttempts(b []byte, items []paypay.Attempt, more bool) []byte {
	b = append(b, `{"data":[`...)
	for i, at := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = httpx.Object(b).Str("id", CursorPrefix+strconv.FormatUint(at.Seq, 10)).Str("code", at.Card).
			Str("action", actionName(at.Action)).Str("outcome", outcomeName(at)).
			Str("request_id", at.RequestID).Str("created_at", FormatTime(at.TimeMs)).Close()
	}
	b = append(b, `],"has_more":`...)
	b = strconv.AppendBool(b, more)
	b = append(b, `,"next_cursor":`...)
	if more {
		b = httpx.AppendString(b, CursorPrefix+strconv.FormatUint(items[len(items)-1].Seq, 10))
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func actionName(a paypay.Action) string {
	if a == paypay.ActionRedeem {
		return "redeem"
	}
	return "validate"
}

// outcomeName is "valid" or "redeemed" for a successful call, else the
// spec's reason.
func outcomeName(at paypay.Attempt) string {
	switch at.Outcome {
	case engine.CodeOK:
		if at.Action == paypay.ActionRedeem {
			return "redeemed"
		}
		return "valid"
	case paypay.ResultNotFound:
		return CodeNotFound
	case paypay.ResultExpired:
		return CodeExpired
	case paypay.ResultAlreadyRedeemed:
		return CodeAlreadyRedeemed
	}
	return CodeRevoked
}
