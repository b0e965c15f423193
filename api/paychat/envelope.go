package paychat

import (
	"strconv"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
)

// Error codes: the spec's, then ledgerd's own for what the spec does not
// name (docs/api/paychat.md lists each).
const (
	CodeInvalidAPIKey      = "INVALID_API_KEY"      // 401
	CodePartnerInactive    = "PARTNER_INACTIVE"     // 403
	CodeRateLimited        = "RATE_LIMIT_EXCEEDED"  // 429
	CodeInvalidAmount      = "INVALID_AMOUNT"       // 400
	CodeInsufficient       = "INSUFFICIENT_BALANCE" // 400
	CodePaymentNotFound    = "PAYMENT_NOT_FOUND"    // 404
	CodeInvalidWebhookURL  = "INVALID_WEBHOOK_URL"  // 400
	CodeAlreadyRegistered  = "ALREADY_REGISTERED"   // 409
	CodeValidation         = "VALIDATION_ERROR"     // 400: a malformed body or query
	CodeIdempotency        = "IDEMPOTENCY_CONFLICT" // 409: an idempotency_key reused with other parameters
	CodePartnerNotFound    = "PARTNER_NOT_FOUND"    // 404: GET /me of an unregistered Telegram id
	CodeWebhookNotSet      = "WEBHOOK_NOT_SET"      // 400: POST /webhook-test before PUT /webhook
	CodeDeliveryNotFound   = "DELIVERY_NOT_FOUND"   // 404
	CodeDeliveryNotFailed  = "DELIVERY_NOT_FAILED"  // 409: only a failed delivery is retried by hand
	CodeNotFound           = "NOT_FOUND"            // 404: no such route
	CodeMethodNotAllowed   = "METHOD_NOT_ALLOWED"   // 405
	CodePayloadTooLarge    = "PAYLOAD_TOO_LARGE"    // 413
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"  // 503: overloaded, retry later
	CodeServerError        = "SERVER_ERROR"         // 500
	// Sandbox (admin) routes.
	CodePaymentExpired   = "PAYMENT_EXPIRED"   // 409: the link expired unpaid
	CodePaymentCompleted = "PAYMENT_COMPLETED" // 409: the link is paid already
	CodeDepositConflict  = "DEPOSIT_CONFLICT"  // 409: a tx_hash again with another memo or amount
	CodeDepositNotFound  = "DEPOSIT_NOT_FOUND" // 404
	CodeDepositNotHeld   = "DEPOSIT_NOT_HELD"  // 409: the deposit is credited already
	CodeLedgerLimit      = "LEDGER_LIMIT"      // 422: deposits would pass 999,999,999.999999 USDT in all
	CodePayingDisabled   = "PAYING_DISABLED"   // 403: the pay page pays only under the development flag
)

// Messages, constants.
const (
	msgKeyRequired     = "API Key is required"
	msgKeyInvalid      = "Invalid API Key"
	msgInactive        = "Partner account is inactive"
	msgNotRegistered   = "This API key has no PAYchat partner account"
	msgRateLimited     = "Too many requests. Please retry later."
	msgAmount          = "Amount must be a number from 0.000001 to 999999999.999999 with at most 6 decimals"
	msgInsufficient    = "Insufficient balance"
	msgPaymentNotFound = "Payment not found"
	msgWebhookURL      = "Webhook URL must start with https://"
	msgRegistered      = "This Telegram account is already registered as a partner"
	msgIdempotency     = "idempotency_key was already used with other parameters"
	msgPartnerNotFound = "No partner is registered for this Telegram ID"
	msgWebhookNotSet   = "Set a webhook URL first (PUT /webhook)"
	msgDeliveryMissing = "Webhook delivery not found"
	msgDeliveryState   = "Only a failed delivery can be retried"
	msgNotFound        = "Not found"
	msgMethod          = "Method not allowed"
	msgTooLarge        = "Request body too large"
	msgOverloaded      = "Service busy. Please retry later."
	msgServerError     = "Internal server error. Please retry later."
	msgExpired         = "Payment link has expired"
	msgCompleted       = "Payment is already completed"
	msgDepositConflict = "tx_hash was already reported with another memo or amount"
	msgDepositMissing  = "Deposit not found"
	msgDepositNotHeld  = "Deposit is already credited"
	msgLedgerLimit     = "Deposits would pass the ledger's limit of 999999999.999999 USDT"
	msgPayingDisabled  = "Paying from this page is enabled only in development mode"
	msgPartnerMissing  = "Partner not found"
)

// writeError writes the spec's error envelope.
func writeError(ctx *fasthttp.RequestCtx, status int, code, message string) {
	var buf [256]byte
	errObj := newObject(nil).str("code", code).str("message", message).close()
	reply(ctx, status, newObject(buf[:0]).boolean("success", false).raw("error", errObj).close())
}

func reply(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// writeRate sets the X-RateLimit-* headers of the class the request was
// counted in (Reset: seconds until the window's oldest request leaves it).
func writeRate(ctx *fasthttp.RequestCtx, d actors.Decision, nowUnix int64) {
	if d.Limit == 0 {
		return
	}
	h := &ctx.Response.Header
	var num [20]byte
	h.SetCanonical(hdrRateLimit, strconv.AppendInt(num[:0], d.Limit, 10))
	h.SetCanonical(hdrRateRemaining, strconv.AppendInt(num[:0], d.Remaining, 10))
	h.SetCanonical(hdrRateReset, strconv.AppendInt(num[:0], max(d.ResetUnix-nowUnix, 0), 10))
}

// The rate headers' names as fasthttp's Set normalizes them (what goes on
// the wire): SetCanonical skips that normalization, which was most of
// writeRate's cost (0.26 of its 0.33 s in a paychat-withdrawal profile).
var (
	hdrRateLimit     = []byte("X-Ratelimit-Limit")
	hdrRateRemaining = []byte("X-Ratelimit-Remaining")
	hdrRateReset     = []byte("X-Ratelimit-Reset")
)

// writeStatus answers an Op that did not get through (rate limited,
// overloaded): false when st is StatusOK.
func writeStatus(ctx *fasthttp.RequestCtx, st actors.Status, retryAfter int64) bool {
	switch st {
	case actors.StatusOK:
		return false
	case actors.StatusRateLimited:
		ctx.Response.Header.Set("Retry-After", strconv.FormatInt(max(retryAfter, 1), 10))
		writeError(ctx, fasthttp.StatusTooManyRequests, CodeRateLimited, msgRateLimited)
	default:
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeServiceUnavailable, msgOverloaded)
	}
	return true
}

func writeRequestError(ctx *fasthttp.RequestCtx, status int) {
	if status == fasthttp.StatusRequestEntityTooLarge {
		writeError(ctx, status, CodePayloadTooLarge, msgTooLarge)
		return
	}
	writeError(ctx, status, CodeValidation, "Malformed request")
}

func notFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, CodeNotFound, msgNotFound)
}

func methodNotAllowed(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusMethodNotAllowed, CodeMethodNotAllowed, msgMethod)
}
