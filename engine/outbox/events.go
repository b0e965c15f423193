package outbox

import (
	"errors"
	"fmt"

	"ledgerd/engine"
)

// Event types (wire format, never renumber; engine/doc.go lists them).
const (
	EvDeliveryAttempted engine.EventType = 40
	EvDeliveryRetried   engine.EventType = 41
)

// MaxAttempts bounds Delivery.Attempts (schedules are far shorter; an
// operator retry starts a new round, so the count grows with retries).
const MaxAttempts = 1 << 20

// ErrBadEvent is an event of this package out of its field ranges.
var ErrBadEvent = errors.New("outbox: bad event")

// DeliveryAttempted records one attempt of a delivery, as the sender
// decided it: Attempt is its number (1, 2, ... over the delivery's whole
// life), AtMs when the request started, HTTPStatus the answer's status (0
// when none came back), LatencyMs how long it took, Error what went wrong
// ("" on success), Outcome the delivery's status after it (pending: NextMs
// is when the next attempt is due; succeeded or failed: none is).
type DeliveryAttempted struct {
	engine.Stamp
	ID         string
	Attempt    int64
	AtMs       int64
	HTTPStatus int64
	LatencyMs  int64
	Error      string
	Outcome    string
	NextMs     int64
}

// DeliveryRetried is an operator re-arming a failed delivery: pending and
// due at once (the event's time), a new round of the API's schedule.
type DeliveryRetried struct {
	engine.Stamp
	ID string
}

func (*DeliveryAttempted) EventType() engine.EventType { return EvDeliveryAttempted }
func (*DeliveryRetried) EventType() engine.EventType   { return EvDeliveryRetried }

func init() {
	engine.Register(engine.EventDef[*DeliveryAttempted]{Type: EvDeliveryAttempted, Name: "outbox.delivery_attempted", Fields: 8,
		Encode: func(w *engine.Writer, ev *DeliveryAttempted) {
			w.Str(ev.ID)
			w.Int(ev.Attempt)
			w.Int(ev.AtMs)
			w.Int(ev.HTTPStatus)
			w.Int(ev.LatencyMs)
			w.Str(ev.Error)
			w.Str(ev.Outcome)
			w.Int(ev.NextMs)
		},
		Decode: func(r *engine.Reader, t int64) *DeliveryAttempted {
			return &DeliveryAttempted{Stamp: engine.Stamp{TimeMs: t}, ID: r.Str(), Attempt: r.Int(), AtMs: r.Int(),
				HTTPStatus: r.Int(), LatencyMs: r.Int(), Error: r.Str(), Outcome: r.Str(), NextMs: r.Int()}
		},
		Validate: validateAttempted,
		Apply:    applyAttempted,
	})
	engine.Register(engine.EventDef[*DeliveryRetried]{Type: EvDeliveryRetried, Name: "outbox.delivery_retried", Fields: 1,
		Encode: func(w *engine.Writer, ev *DeliveryRetried) { w.Str(ev.ID) },
		Decode: func(r *engine.Reader, t int64) *DeliveryRetried {
			return &DeliveryRetried{Stamp: engine.Stamp{TimeMs: t}, ID: r.Str()}
		},
		Validate: func(ev *DeliveryRetried) error {
			if ev.ID == "" || len(ev.ID) > MaxIDLen || ev.TimeMs < 0 {
				return fmt.Errorf("%w: retry of %q at %d", ErrBadEvent, ev.ID, ev.TimeMs)
			}
			return nil
		},
		Apply: applyRetried,
	})
}

func validateAttempted(ev *DeliveryAttempted) error {
	var err error
	switch {
	case ev.ID == "" || len(ev.ID) > MaxIDLen:
		err = fmt.Errorf("id of %d bytes", len(ev.ID))
	case ev.Attempt < 1 || ev.Attempt > MaxAttempts:
		err = fmt.Errorf("attempt %d", ev.Attempt)
	case ev.AtMs < 0 || ev.TimeMs < 0 || ev.LatencyMs < 0 || ev.NextMs < 0:
		err = fmt.Errorf("times %d %d %d %d", ev.AtMs, ev.TimeMs, ev.LatencyMs, ev.NextMs)
	case ev.HTTPStatus < 0 || ev.HTTPStatus > 999:
		err = fmt.Errorf("http status %d", ev.HTTPStatus)
	case len(ev.Error) > MaxErrorLen:
		err = fmt.Errorf("error of %d bytes", len(ev.Error))
	case ev.Outcome == StatusSucceeded && (ev.HTTPStatus < 200 || ev.HTTPStatus > 299 || ev.Error != ""):
		err = fmt.Errorf("succeeded with status %d, error %q", ev.HTTPStatus, ev.Error)
	case ev.Outcome != StatusSucceeded && ev.Error == "":
		err = fmt.Errorf("%s without an error", ev.Outcome)
	case ev.Outcome != StatusPending && ev.Outcome != StatusSucceeded && ev.Outcome != StatusFailed:
		err = fmt.Errorf("outcome %q", ev.Outcome)
	case ev.Outcome != StatusPending && ev.NextMs != 0:
		err = fmt.Errorf("%s with a next attempt at %d", ev.Outcome, ev.NextMs)
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadEvent, err)
	}
	return nil
}

// applyAttempted: the delivery exists, is pending, and this is its next
// attempt; anything else is a broken invariant (the sender attempts only
// pending deliveries, one attempt at a time).
func applyAttempted(st *engine.State, ev *DeliveryAttempted) {
	s := Of(st)
	d := s.Deliveries[ev.ID]
	switch {
	case d == nil:
		panic(engine.Invariant("delivery exists", ev, 0))
	case d.Status != StatusPending:
		panic(engine.Invariant("attempted delivery is pending", ev, d.Attempts))
	case ev.Attempt != d.Attempts+1:
		panic(engine.Invariant("attempt numbers consecutive", ev, d.Attempts))
	}
	d.Attempts = ev.Attempt
	if d.Attempts == d.RoundStart+1 {
		d.FirstMs = ev.AtMs
	}
	d.LastMs, d.LastStatus, d.LastError = ev.AtMs, ev.HTTPStatus, ev.Error
	d.Status, d.NextMs = ev.Outcome, ev.NextMs
	if d.Status != StatusPending {
		s.pending--
		s.advanceOldest()
	}
}

// applyRetried: only a failed delivery is retried (the caller checks
// against the durable state and serializes retries).
func applyRetried(st *engine.State, ev *DeliveryRetried) {
	s := Of(st)
	d := s.Deliveries[ev.ID]
	switch {
	case d == nil:
		panic(engine.Invariant("delivery exists", ev, 0))
	case d.Status != StatusFailed:
		panic(engine.Invariant("retried delivery is failed", ev, d.Attempts))
	}
	d.Status, d.NextMs, d.FirstMs, d.RoundStart = StatusPending, ev.TimeMs, 0, d.Attempts
	d.Retries++
	s.pending++
	if i := int(d.Seq - 1); i < s.oldest {
		s.oldest = i
	}
}
