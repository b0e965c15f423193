// Package paypay serves the PayPay.cards partner API (specs/paypay-cards.txt)
// under /paypay/api/v1: health, validate and redeem of redeem codes,
// authenticated by "Authorization: Bearer <key>", and the partner's audit
// list of redemption attempts.
//
// It owns the HTTP shape of the API: paths, headers, status codes, the error
// envelope {"error","message","request_id"} with its short codes and message
// texts, request ids, the RFC 3339 time format of every time field, and the
// strict decoding of request bodies, headers and query strings. It also
// generates the random identifiers the API hands out (codes, redemption ids,
// request ids) from crypto/rand.
//
// It knows the actors' messages, not the WAL or the engine's internals. The
// helpers in decode.go, envelope.go, timefmt.go and codegen.go read no clock
// and keep no state; the caller passes times in as Unix milliseconds.
package paypay

// Base is the API's path prefix on ledgerd.
const Base = "/paypay/api/v1"

// APIName is the partner API a key must belong to.
const APIName = "paypay"
