// Package paysmart is the actors side of the PaySmart module: the entity
// actors of payments (with their refunds), customers, payment methods and
// webhook endpoints, and the functions the HTTP layer (api/paysmart)
// calls. Each function returns once its answer is durable.
//
// The HTTP layer decides everything that needs no state (ids, the card's
// outcome, the JSON of a created object and of its event) and passes a
// Render function for the answers that depend on state (updates, refunds,
// deletes, refusals). Every answer that binds an Idempotency-Key is
// stored whole in its event (paysmart.Answer), so a retry within 24 hours,
// across restarts, gets the same status and bytes; concurrent retries wait
// for the first and get its answer as a replay (actors' idempotency
// shards); other parameters with the same key are StatusConflict.
//
// It imports actors and engine/paysmart; nothing imports it but the API
// layer (and cmd/ledgerd, for the registration).
package paysmart
