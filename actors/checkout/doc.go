// Package checkout is the actors side of the hosted-checkout module: the
// entity actor of each payment (creation, the customer's card attempts on
// the checkout page, expiry, refunds), shop creation and updates, and the
// expirer that fails pending payments whose time is up. Each function
// returns once its answer is durable.
//
// The HTTP layer decides what needs no state (ids, tokens, the card's
// outcome, the JSON of a created payment) and passes Render and Notice
// functions for what depends on the payment's state at its actor (a
// refund's answer, a webhook body). Every answer that binds an
// Idempotency-Key is stored whole in its event (checkout.Answer), so a
// retry within 24 hours, across restarts, gets the same status and bytes.
//
// It imports actors and engine/checkout; nothing imports it but the API
// layer and cmd/ledgerd.
package checkout
