// Package paysmart is PaySmart's HTTP layer: Stripe's habits under
// /paysmart/v2 (the spec's https://api.paysmart.com/v2), on the ledger
// through actors/paysmart, and the receipt pages under /paysmart/receipts.
//
// Every request goes auth → body → Idempotency-Key → decode → the actor
// call (module.go): a key in HTTP Basic (user name, empty password) or
// Bearer; JSON or form bodies (params.go) decoded by one set of rules
// (values.go, decode.go); cards checked and decided by api/cards before a
// command reaches an actor, so the full number and CVC never leave the
// request. Answers that bind an Idempotency-Key are stored whole by the
// actors and replayed byte for byte. Webhooks are registered with the
// shared outbox (webhooks.go). docs/api/paysmart.md is the user's guide.
//
// It imports actors, actors/paysmart, actors/outbox, api/cards, api/httpx
// and engine/paysmart; only api (the server) and api/admin import it.
package paysmart
