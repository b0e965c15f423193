// Package outbox is the engine side of ledgerd's webhook outbox, shared by
// every API that notifies partners (PaySmart, hosted checkout, PAYchat).
//
// A module's Apply enqueues a Delivery in the same event as the change that
// caused it (Enqueue), so a crash keeps both or neither. The sender
// (actors/outbox) only ever sends what is committed, and records every
// attempt as an event of this package (DeliveryAttempted), so the retry
// schedule survives a restart.
package outbox

// Delivery statuses.
const (
	StatusPending   = "pending"   // waiting for its next attempt
	StatusSucceeded = "succeeded" // a 2xx answer
	StatusFailed    = "failed"    // the schedule ran out; an operator may retry it
)

// Delivery is "send event EventID to Target", one per event and endpoint.
// ID is stable across attempts (the delivery id header); Body is the
// exact bytes every attempt sends (the event's JSON), shared with the
// module's own record of the event.
type Delivery struct {
	Seq       uint64 // enqueue order, 1, 2, ... (assigned by Enqueue)
	ID        string // stable: the same for every attempt
	API       string // the module that enqueued it ("paysmart")
	Partner   string // the account it belongs to
	Target    string // what the API resolves to a URL and secret (an endpoint id)
	EventID   string // the event's stable id (evt_...)
	EventType string
	Body      []byte
	CreatedMs int64

	Status     string
	Attempts   int64 // attempts made
	FirstMs    int64 // the first attempt's time (the schedule counts from it); 0 before
	NextMs     int64 // when the next attempt is due (pending only); 0 = at once
	LastMs     int64 // the last attempt's time
	LastStatus int64 // HTTP status of the last attempt, 0 when none came back
	LastError  string
	// RoundStart is Attempts when the current round of the API's schedule
	// began: 0, or the attempts made before an operator's last retry
	// (DeliveryRetried). FirstMs is the first attempt of the round.
	RoundStart int64
	Retries    int64 // operator retries (DeliveryRetried)
}
