package paysmart

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// Every refusal of the API is one error object, Stripe's:
//
//	{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined.",
//	          "param":null,"decline_code":"generic_decline","payment":"pay_…"}}
//
// type, code, message, param and decline_code are always present (null
// when they do not apply); payment only on a decline (the failed payment
// that was created). Message texts are constants and never echo input.

// Error types (Stripe's families).
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeCard           = "card_error"
	TypeIdempotency    = "idempotency_error"
	TypeAPI            = "api_error"
	TypeAuthentication = "authentication_error"
	TypeRateLimit      = "rate_limit_error"
)

// Error codes besides the card codes of api/cards and the refusal codes of
// actors/paysmart.
const (
	CodeAPIKeyMissing         = "api_key_missing"
	CodeAPIKeyInvalid         = "api_key_invalid"
	CodeSecretKeyRequired     = "secret_key_required"
	CodeParameterMissing      = "parameter_missing"
	CodeParameterUnknown      = "parameter_unknown"
	CodeParameterInvalid      = "parameter_invalid"
	CodeParameterInteger      = "parameter_invalid_integer"
	CodeParameterString       = "parameter_invalid_string"
	CodeParameterEmpty        = "parameter_invalid_empty"
	CodeAmountTooSmall        = "amount_too_small"
	CodeAmountTooLarge        = "amount_too_large"
	CodeInvalidCurrency       = "invalid_currency"
	CodeBodyInvalid           = "body_invalid"
	CodeURLInvalid            = "url_invalid"
	CodeIdempotencyKeyInvalid = "idempotency_key_invalid"
	CodeIdempotencyKeyReused  = "idempotency_key_reused"
	CodeRateLimit             = "rate_limit"
	CodeRouteNotFound         = "route_not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeOverloaded            = "overloaded"
	CodeRequestUnreadable     = "request_unreadable"
)

// Message texts.
const (
	MsgAPIKeyMissing         = "You did not provide an API key. Use HTTP Basic auth with your secret key as the user name and an empty password, or Authorization: Bearer <key>."
	MsgAPIKeyInvalid         = "Invalid API key provided."
	MsgSecretKeyRequired     = "This request needs a secret key (sk_test_ or sk_live_): a publishable key may only create payment methods."
	MsgParameterMissing      = "Missing required param."
	MsgParameterUnknown      = "Received unknown parameter."
	MsgParameterInvalid      = "Invalid value for this parameter."
	MsgParameterInteger      = "Invalid integer: this parameter must be an integer."
	MsgParameterString       = "Invalid string: this parameter must be printable text within its length limit (500 bytes of UTF-8 for text fields)."
	MsgParameterEmpty        = "This parameter may not be empty."
	MsgAmountTooSmall        = "Amount must be at least 50 minor units."
	MsgAmountTooLarge        = "Amount must be no more than 99999999 minor units."
	MsgInvalidCurrency       = "Invalid currency: PaySmart supports usd, eur and gbp (lower case)."
	MsgBodyInvalid           = "The request body could not be read: send a JSON object (Content-Type: application/json) or form parameters (application/x-www-form-urlencoded)."
	MsgURLInvalid            = "Invalid URL: an endpoint URL must be an absolute https URL of a public host."
	MsgIdempotencyKeyInvalid = "Idempotency-Key must be 1 to 255 printable ASCII characters."
	MsgIdempotencyKeyReused  = "Keys for idempotent requests can only be used with the same parameters they were first used with."
	MsgRateLimit             = "Too many requests hit the API too quickly. Retry after the number of seconds in Retry-After."
	MsgRouteNotFound         = "Unrecognized request URL."
	MsgMethodNotAllowed      = "This method is not allowed on this URL."
	MsgOverloaded            = "PaySmart is overloaded; retry after the number of seconds in Retry-After."
	MsgRequestUnreadable     = "The HTTP request could not be read."
	MsgBodyTooLarge          = "The request body is too large: at most 64 KiB."
	MsgResourceMissing       = "No such object."
	MsgAlreadyRefunded       = "This payment has already been refunded in full."
	MsgRefundTooLarge        = "Refund amount is greater than what is left to refund on this payment."
	MsgNotRefundable         = "This payment failed: there is nothing to refund."
	MsgMetadataKeys          = "Metadata can have at most 50 keys; keys up to 40 bytes (no [ or ]), values up to 500 bytes (UTF-8)."
	MsgStubMissing           = "No such customer: it was deleted."
)

// apiError is one refusal, rendered by body.
type apiError struct {
	status      int
	typ         string
	code        string
	message     string
	param       string // "" = null
	declineCode string // "" = null
	payment     string // the failed payment of a decline; "" = absent
}

func (e *apiError) body() []byte {
	w := newJW()
	w.open()
	w.key("error")
	w.open()
	w.str("type", e.typ)
	w.str("code", e.code)
	w.str("message", e.message)
	w.strOrNull("param", e.param)
	w.strOrNull("decline_code", e.declineCode)
	if e.payment != "" {
		w.str("payment", e.payment)
	}
	w.close()
	w.close()
	return w.b
}

func invalid(code, message, param string) *apiError {
	return &apiError{status: fasthttp.StatusBadRequest, typ: TypeInvalidRequest, code: code, message: message, param: param}
}

func missing(param string) *apiError {
	return invalid(CodeParameterMissing, MsgParameterMissing, param)
}

// notFound is resource_missing: 404 for the object of the path (param
// "id"), 400 for an object a body parameter names (Stripe's habit).
func notFound(param string) *apiError {
	status := fasthttp.StatusBadRequest
	if param == "id" {
		status = fasthttp.StatusNotFound
	}
	return &apiError{status: status, typ: TypeInvalidRequest, code: "resource_missing", message: MsgResourceMissing, param: param}
}

var (
	errKeyMissing = &apiError{status: fasthttp.StatusUnauthorized, typ: TypeAuthentication, code: CodeAPIKeyMissing, message: MsgAPIKeyMissing}
	errKeyInvalid = &apiError{status: fasthttp.StatusUnauthorized, typ: TypeAuthentication, code: CodeAPIKeyInvalid, message: MsgAPIKeyInvalid}
	errSecretOnly = &apiError{status: fasthttp.StatusForbidden, typ: TypeInvalidRequest, code: CodeSecretKeyRequired, message: MsgSecretKeyRequired}
	errRateLimit  = &apiError{status: fasthttp.StatusTooManyRequests, typ: TypeRateLimit, code: CodeRateLimit, message: MsgRateLimit}
	errReused     = &apiError{status: fasthttp.StatusBadRequest, typ: TypeIdempotency, code: CodeIdempotencyKeyReused, message: MsgIdempotencyKeyReused}
	errOverloaded = &apiError{status: fasthttp.StatusServiceUnavailable, typ: TypeAPI, code: CodeOverloaded, message: MsgOverloaded}
	errBody       = invalid(CodeBodyInvalid, MsgBodyInvalid, "")
	errIdemKey    = invalid(CodeIdempotencyKeyInvalid, MsgIdempotencyKeyInvalid, "")
	// errBodyTooLarge: a body over httpx.MaxBodyBytes (64 KiB; fasthttp
	// itself refuses one over httpx.MaxWireBodyBytes with 413).
	errBodyTooLarge = invalid(CodeBodyInvalid, MsgBodyTooLarge, "")
)

// HeaderRequestID is set on every answer of the API.
const HeaderRequestID = "Request-Id"

// RequestIDChars is the random part of a request id ("req_" + 24).
const RequestIDChars = 24

func newRequestID() string { return httpx.RandomString("req_", alphabet, RequestIDChars) }

func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	reply(ctx, e.status, e.body())
}

// reply writes a JSON answer; Request-Id is set by the module's
// middleware before the handler runs.
func reply(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

func writeRateLimited(ctx *fasthttp.RequestCtx, retryAfterSec int64) {
	ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(retryAfterSec, 1), 10))
	writeError(ctx, errRateLimit)
}

func writeOverloaded(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Retry-After", "1")
	writeError(ctx, errOverloaded)
}
