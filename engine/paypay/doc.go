// Package paypay is the PayPay.cards module of the engine: redeem codes
// that operators issue and revoke and partners validate and redeem, with
// an audit record of every call that reached a code.
//
// It owns its event types (wire numbers 12–14 and 16, never renumber), its
// result codes (4–7), its Idempotency-Key scope (4), DecideAttempt and
// ApplyCard, all through the engine's table, and its state: the codes, the
// audit logs and their sequence counter, its own section of every
// engine.State (Of, Cards, Attempts) and of every snapshot ("paypay",
// snapshot.go). Of ledgerd it imports only package engine.
package paypay
