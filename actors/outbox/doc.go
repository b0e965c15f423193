// Package outbox is the webhook sender: it delivers what engine/outbox
// holds, for every API that registers itself (RegisterAPI), and records
// every attempt as an event (System.Commit) before it schedules the next.
//
// Trigger: the committed-event feed. On each committed batch the sender
// reads the deliveries enqueued since the last Seq it saw, and re-reads
// those an operator retried (DeliveryRetried), with System.ReadState; at
// start it reads every pending delivery, so a restart resumes from state.
// Due deliveries are checked against System.Now every Config.Poll (tests
// move the clock).
//
// One scheduler goroutine owns the queue of every endpoint (API + Target):
// a heap by due time, and per endpoint the attempts running and those due
// but waiting for a slot. At most Config.PerEndpoint attempts run per
// endpoint and Config.Total in all, each on its own goroutine.
//
// An attempt: Resolve (URL and secret id) against the durable state, POST
// exactly the delivery's body with the API's signed headers (a new
// timestamp each attempt), no redirects followed (a 3xx is a failure),
// Config.Timeout for the whole exchange, at most Config.MaxResponseRead
// bytes of the answer read. Any 2xx within the timeout is success. A failed
// attempt is retried at the API's Schedule offsets from the round's first
// attempt; after the last one the delivery is failed (Retry re-arms it).
//
// URL policy (CheckURL, and a dialer Control on the connected address, so
// DNS rebinding cannot slip past): https only, no userinfo, public
// addresses only, unless Config.AllowInsecure (tests, --demo).
//
// Secrets are derived (Secret) from a master key (LoadMasterKey), never
// stored or logged.
//
// Stop the Sender before its System: an attempt running when the Sender
// stops is abandoned without a record, and made again after a restart.
package outbox
