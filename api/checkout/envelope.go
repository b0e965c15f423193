package checkout

import (
	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// Every 4xx and 5xx answer of the API is one envelope, built by
// writeError (the spec shows none; this is Stripe's shape, which the
// checkout's clients most likely know):
//
//	{"error":{"type":"invalid_request_error","code":"amount_too_small",
//	          "message":"…","param":"amount"}}
//
// type is the family (invalid_request_error, authentication_error,
// rate_limit_error, idempotency_error, api_error), code the machine
// reason, message a fixed human text that never echoes input, param the
// request field at fault or null.

// Error families.
const (
	TypeInvalidRequest = "invalid_request_error" // 400, 404, 405, 413, 415
	TypeAuthentication = "authentication_error"  // 401
	TypeRateLimit      = "rate_limit_error"      // 429, with Retry-After
	TypeIdempotency    = "idempotency_error"     // 400: an Idempotency-Key reused with other parameters
	TypeAPI            = "api_error"             // 500, 503: ours, never internals
)

// Codes (wire format: clients match on them; never rename).
const (
	CodeParameterMissing     = "parameter_missing"
	CodeParameterUnknown     = "parameter_unknown"
	CodeInvalidInteger       = "parameter_invalid_integer"
	CodeInvalidString        = "parameter_invalid_string"
	CodeAmountTooSmall       = "amount_too_small"
	CodeAmountTooLarge       = "amount_too_large"
	CodeCurrencyNotSupported = "currency_not_supported"
	CodeURLInvalid           = "url_invalid"
	CodeEmailInvalid         = "email_invalid"
	CodeMetadataInvalid      = "metadata_invalid"
	CodeMetadataTooManyKeys  = "metadata_too_many_keys"
	CodeMetadataKeyInvalid   = "metadata_key_invalid"
	CodeMetadataValueInvalid = "metadata_value_invalid"
	CodeMetadataValueTooLong = "metadata_value_too_long"
	CodeMetadataTooLarge     = "metadata_too_large"
	CodeInvalidJSON          = "invalid_json"
	CodeUnsupportedMedia     = "unsupported_media_type"
	CodeInvalidIdemKey       = "idempotency_key_invalid"
	CodeIdemKeyReused        = "idempotency_key_reused"
	CodeInvalidQuery         = "parameter_invalid"
	CodeResourceMissing      = "resource_missing"
	CodeNotRefundable        = "payment_not_refundable"
	CodeRefundTooLarge       = "refund_amount_too_large"
	CodeKeyMissing           = "api_key_missing"
	CodeKeyFormat            = "api_key_invalid_format"
	CodeKeyUnknown           = "api_key_invalid"
	CodeShopInactive         = "shop_inactive"
	CodeRateLimited          = "rate_limited"
	CodeRouteNotFound        = "route_not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeBodyTooLarge         = "body_too_large"
	CodeBadRequest           = "bad_request"
	CodeInternal             = "internal_error"
	CodeOverloaded           = "overloaded"
)

// Message texts: constants, so that clients may log them and tests may
// compare them. None echoes client input.
const (
	MsgParameterMissing     = "A required parameter is missing."
	MsgParameterUnknown     = "This parameter is not known."
	MsgInvalidInteger       = "This parameter must be an integer."
	MsgInvalidString        = "This parameter must be a string of printable characters, at most 200."
	MsgAmountTooSmall       = "The amount must be at least 50 cents."
	MsgAmountTooLarge       = "The amount must be at most 99999999 cents."
	MsgCurrencyNotSupported = "Only the currency usd is supported."
	MsgURLInvalid           = "return_url must be an absolute http or https URL of at most 2048 bytes."
	MsgEmailInvalid         = "customer_email must be a valid e-mail address."
	MsgMetadataInvalid      = "metadata must be an object."
	MsgMetadataTooManyKeys  = "metadata may have at most 50 keys."
	MsgMetadataKeyInvalid   = "metadata keys must be 1 to 40 characters."
	MsgMetadataValueInvalid = "metadata values must be strings, numbers or booleans."
	MsgMetadataValueTooLong = "metadata string values may be at most 500 characters."
	MsgMetadataTooLarge     = "metadata may be at most 5 KB (5120 bytes of compact JSON)."
	MsgInvalidJSON          = "The body must be a JSON object."
	MsgUnsupportedMedia     = "Content-Type must be application/json."
	MsgInvalidIdemKey       = "Idempotency-Key must be 1 to 255 visible ASCII characters."
	MsgIdemKeyReused        = "This Idempotency-Key was already used with other parameters."
	MsgInvalidLimit         = "limit must be an integer from 1 to 100."
	MsgInvalidStatus        = "status must be pending, completed, failed or refunded."
	MsgInvalidCursor        = "starting_after must be the id of a payment of this shop and mode."
	MsgNoSuchPayment        = "No such payment."
	MsgNotRefundable        = "Only a completed payment can be refunded."
	MsgRefundTooLarge       = "The refund is more than is left to refund."
	MsgKeyMissing           = "No API key: send Authorization: Bearer <key>."
	MsgKeyFormat            = "The API key is not in the format ck_test_… or ck_live_… followed by 48 characters."
	MsgKeyUnknown           = "The API key does not exist or was deleted."
	MsgShopInactive         = "The shop of this API key is inactive."
	MsgRateLimited          = "Rate limit exceeded; retry after the number of seconds in Retry-After."
	MsgRouteNotFound        = "No such endpoint."
	MsgMethodNotAllowed     = "Method not allowed on this endpoint."
	MsgBodyTooLarge         = "The request body is over 1 MiB."
	MsgBadRequest           = "The HTTP request could not be read."
	MsgInternal             = "Internal error; the request may be retried."
	MsgOverloaded           = "The service is overloaded; retry after the number of seconds in Retry-After."
)

// apiError is one refusal.
type apiError struct {
	status  int
	typ     string
	code    string
	message string
	param   string // "" = null
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func invalid(code, message, param string) *apiError {
	return &apiError{status: fasthttp.StatusBadRequest, typ: TypeInvalidRequest, code: code, message: message, param: param}
}

// errorBody is the envelope of e.
func errorBody(e *apiError) []byte {
	b := append(make([]byte, 0, 192), `{"error":{"type":`...)
	b = httpx.AppendString(b, e.typ)
	b = append(b, `,"code":`...)
	b = httpx.AppendString(b, e.code)
	b = append(b, `,"message":`...)
	b = httpx.AppendString(b, e.message)
	b = append(b, `,"param":`...)
	if e.param == "" {
		b = append(b, "null"...)
	} else {
		b = httpx.AppendString(b, e.param)
	}
	return append(b, "}}"...)
}

func writeError(ctx *fasthttp.RequestCtx, e *apiError) {
	httpx.Reply(ctx, e.status, errorBody(e))
}

var (
	errRouteNotFound = &apiError{status: fasthttp.StatusNotFound, typ: TypeInvalidRequest, code: CodeRouteNotFound, message: MsgRouteNotFound}
	errMethod        = &apiError{status: fasthttp.StatusMethodNotAllowed, typ: TypeInvalidRequest, code: CodeMethodNotAllowed, message: MsgMethodNotAllowed}
	errNoPayment     = &apiError{status: fasthttp.StatusNotFound, typ: TypeInvalidRequest, code: CodeResourceMissing, message: MsgNoSuchPayment, param: "id"}
	errMedia         = &apiError{status: fasthttp.StatusUnsupportedMediaType, typ: TypeInvalidRequest, code: CodeUnsupportedMedia, message: MsgUnsupportedMedia}
	errIdemKey       = &apiError{status: fasthttp.StatusBadRequest, typ: TypeInvalidRequest, code: CodeInvalidIdemKey, message: MsgInvalidIdemKey, param: "Idempotency-Key"}
	errIdemReused    = &apiError{status: fasthttp.StatusBadRequest, typ: TypeIdempotency, code: CodeIdemKeyReused, message: MsgIdemKeyReused}
	errRateLimited   = &apiError{status: fasthttp.StatusTooManyRequests, typ: TypeRateLimit, code: CodeRateLimited, message: MsgRateLimited}
	errOverloaded    = &apiError{status: fasthttp.StatusServiceUnavailable, typ: TypeAPI, code: CodeOverloaded, message: MsgOverloaded}
	errInternal      = &apiError{status: fasthttp.StatusInternalServerError, typ: TypeAPI, code: CodeInternal, message: MsgInternal}
	errNotRefundable = &apiError{status: fasthttp.StatusBadRequest, typ: TypeInvalidRequest, code: CodeNotRefundable, message: MsgNotRefundable, param: "id"}
	errRefundTooBig  = &apiError{status: fasthttp.StatusBadRequest, typ: TypeInvalidRequest, code: CodeRefundTooLarge, message: MsgRefundTooLarge, param: "amount"}
)

func authError(code, msg string) *apiError {
	return &apiError{status: fasthttp.StatusUnauthorized, typ: TypeAuthentication, code: code, message: msg}
}

// writeRequestError answers what fasthttp refused before any handler ran.
func writeRequestError(ctx *fasthttp.RequestCtx, status int) {
	if status == fasthttp.StatusRequestEntityTooLarge {
		writeError(ctx, &apiError{status: status, typ: TypeInvalidRequest, code: CodeBodyTooLarge, message: MsgBodyTooLarge})
		return
	}
	writeError(ctx, &apiError{status: status, typ: TypeInvalidRequest, code: CodeBadRequest, message: MsgBadRequest})
}
