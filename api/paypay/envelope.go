package paypay

import (
	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// Every 4xx and 5xx answer of the API is one envelope, built by WriteError:
//
//	{"error":"<short code>","message":"<text>","request_id":"req_…"}
//
// with the request id also in the X-Request-Id header. Where the spec gives
// an answer its own fields (redeem's 404/409/410/423 carry
// {"redeemed":false,"reason":…}), those come first and the envelope's three
// members follow, so a client reading either shape finds what it expects.

// HeaderRequestID carries the request id of every answer that has one.
const HeaderRequestID = "X-Request-Id"

// Short codes, as the spec spells them (wire format: never rename). The
// codes of a code's state double as validate's and redeem's "reason".
const (
	CodeUnauthorized         = "unauthorized"           // 401
	CodeInvalidBody          = "invalid_body"           // 400
	CodeRateLimited          = "rate_limited"           // 429, with Retry-After
	CodeNotFound             = "not_found"              // 404
	CodeExpired              = "expired"                // 410
	CodeRevoked              = "revoked"                // 423
	CodeAlreadyRedeemed      = "already_redeemed"       // 409
	CodeIdempotencyKeyReused = "idempotency_key_reused" // 422
	CodeHTTPSRequired        = "https_required"         // 403
	CodeMethodNotAllowed     = "method_not_allowed"     // 405
	CodeInternal             = "internal"               // 500
	CodeOverloaded           = "overloaded"             // 503, with Retry-After
)

// Message texts: constants, so that clients may log them and tests may
// compare them. None echoes client input.
const (
	MsgUnauthorized          = "Missing or invalid bearer token."
	MsgInvalidBody           = "Request body does not match the schema: expected {\"code\":\"PP-XXXX-XXXX-XXXX\"}."
	MsgInvalidIdempotencyKey = "Idempotency-Key must be 1 to 255 visible ASCII characters."
	MsgInvalidQuery          = "limit must be an integer from 1 to 100 and cursor a value returned by this API."
	MsgRateLimited           = "Rate limit exceeded; retry after the number of seconds in Retry-After."
	MsgNotFound              = "No code matches."
	MsgExpired               = "This code has expired."
	MsgRevoked               = "This code has been revoked."
	MsgAlreadyRedeemed       = "This code has already been redeemed."
	MsgIdempotencyKeyReused  = "This Idempotency-Key was already used with a different request."
	MsgHTTPSRequired         = "HTTPS is required; plain HTTP calls are rejected."
	MsgRouteNotFound         = "No such endpoint."
	MsgMethodNotAllowed      = "Method not allowed on this endpoint."
	MsgInternal              = "Internal error; the request may be retried."
	MsgOverloaded            = "The service is overloaded; retry after the number of seconds in Retry-After."
	MsgBodyTooLarge          = "Request body is over 1 MiB."
	MsgUnreadableRequest     = "The HTTP request could not be read."
)

// Status returns the HTTP status of a short code, or 500 for a code this
// package does not define.
func Status(code string) int {
	switch code {
	case CodeUnauthorized:
		return fasthttp.StatusUnauthorized
	case CodeInvalidBody:
		return fasthttp.StatusBadRequest
	case CodeRateLimited:
		return fasthttp.StatusTooManyRequests
	case CodeNotFound:
		return fasthttp.StatusNotFound
	case CodeExpired:
		return fasthttp.StatusGone
	case CodeRevoked:
		return fasthttp.StatusLocked
	case CodeAlreadyRedeemed:
		return fasthttp.StatusConflict
	case CodeIdempotencyKeyReused:
		return fasthttp.StatusUnprocessableEntity
	case CodeHTTPSRequired:
		return fasthttp.StatusForbidden
	case CodeMethodNotAllowed:
		return fasthttp.StatusMethodNotAllowed
	case CodeOverloaded:
		return fasthttp.StatusServiceUnavailable
	}
	return fasthttp.StatusInternalServerError
}

// RequestIDPrefix and RequestIDRandomChars shape request ids:
// "req_" + 18 characters of requestIDAlphabet.
const (
	RequestIDPrefix      = "req_"
	RequestIDRandomChars = 18
	requestIDAlphabet    = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

// NewRequestID returns "req_" and RequestIDRandomChars characters of
// [0-9a-zA-Z] from crypto/rand, for the request_id member of error
// envelopes and the X-Request-Id header.
func NewRequestID() string {
	var out [len(RequestIDPrefix) + RequestIDRandomChars]byte
	copy(out[:], RequestIDPrefix)
	randomChars(out[len(RequestIDPrefix):], requestIDAlphabet)
	return string(out[:])
}

// SetRequestID sets the X-Request-Id header of the response.
func SetRequestID(ctx *fasthttp.RequestCtx, requestID string) {
	ctx.Response.Header.Set(HeaderRequestID, requestID)
}

// WriteError answers with status and the error envelope. extra, when not
// nil, appends the spec's own members before the envelope's (see
// RedeemRefusal). It sets X-Request-Id; Retry-After, where one is due, is
// the caller's.
func WriteError(ctx *fasthttp.RequestCtx, status int, code, message, requestID string, extra func(httpx.JSON) httpx.JSON) {
	j := httpx.Object(make([]byte, 0, 256))
	if extra != nil {
		j = extra(j)
	}
	SetRequestID(ctx, requestID)
	httpx.Reply(ctx, status, j.Str("error", code).Str("message", message).Str("request_id", requestID).Close())
}

// RedeemRefusal returns WriteError's extra for a refused redeem:
// {"redeemed":false,"reason":reason}, and "redeemed_at" (from
// redeemedAtMs) when reason is CodeAlreadyRedeemed. The answer to a redeem
// of a code that was already redeemed is then
//
//	409 {"redeemed":false,"reason":"already_redeemed","redeemed_at":"2026-04-18T14:30:00.000Z",
//	     "error":"already_redeemed","message":"…","request_id":"req_…"}
func RedeemRefusal(reason string, redeemedAtMs int64) func(httpx.JSON) httpx.JSON {
	return func(j httpx.JSON) httpx.JSON {
		j = j.Bool("redeemed", false).Str("reason", reason)
		if reason == CodeAlreadyRedeemed {
			j = j.Str("redeemed_at", FormatTime(redeemedAtMs))
		}
		return j
	}
}

// Message returns the message text of a short code (MsgInvalidBody for
// invalid_body), or MsgInternal for a code this package does not define.
func Message(code string) string {
	switch code {
	case CodeUnauthorized:
		return MsgUnauthorized
	case CodeInvalidBody:
		return MsgInvalidBody
	case CodeRateLimited:
		return MsgRateLimited
	case CodeNotFound:
		return MsgNotFound
	case CodeExpired:
		return MsgExpired
	case CodeRevoked:
		return MsgRevoked
	case CodeAlreadyRedeemed:
		return MsgAlreadyRedeemed
	case CodeIdempotencyKeyReused:
		return MsgIdempotencyKeyReused
	case CodeHTTPSRequired:
		return MsgHTTPSRequired
	case CodeMethodNotAllowed:
		return MsgMethodNotAllowed
	case CodeOverloaded:
		return MsgOverloaded
	}
	return MsgInternal
}

// RejectHTTP answers a plain-HTTP call with 403 https_required: the reject
// handler for httpx.RequireHTTPS on the PayPay routes.
func RejectHTTP(ctx *fasthttp.RequestCtx) {
	WriteError(ctx, fasthttp.StatusForbidden, CodeHTTPSRequired, MsgHTTPSRequired, NewRequestID(), nil)
}

// WriteRequestError answers a request fasthttp refused before any handler
// ran: 413 for a body over httpx.MaxWireBodyBytes, 400 (or 408, 431) for
// one it could not read, all with code invalid_body.
func WriteRequestError(ctx *fasthttp.RequestCtx, status int) {
	msg := MsgUnreadableRequest
	if status == fasthttp.StatusRequestEntityTooLarge {
		msg = MsgBodyTooLarge
	}
	WriteError(ctx, status, CodeInvalidBody, msg, NewRequestID(), nil)
}

// WriteCode is WriteError with code's own Status and Message.
func WriteCode(ctx *fasthttp.RequestCtx, code, requestID string, extra func(httpx.JSON) httpx.JSON) {
	WriteError(ctx, Status(code), code, Message(code), requestID, extra)
}
