package actors

import (
	"errors"
	"fmt"

	"ledgerd/engine"
)

// Commit errors.
var (
	// ErrOwnedEvent: the event changes what an entity actor or the
	// directory owns (an entity, partners or keys); it goes through them.
	ErrOwnedEvent = errors.New("actors: event owned by an actor")
	// ErrStopped: the System stopped before the event was durable (it may
	// or may not be in the log).
	ErrStopped = errors.New("actors: system stopped")
)

// Commit makes ev durable and applies it to the durable state, for an
// event that no entity actor owns (the webhook outbox's attempts and
// retries): it returns nil once ev is durable and applied, so a ReadState
// after it sees ev. ev is stamped by its caller.
//
// The caller guarantees that ev applies: it decided ev against the
// durable state (ReadState) and it is the only writer of what ev changes,
// or serializes its writers, so nothing else changes that part of the
// state between its read and ev. An event whose Apply panics stops the
// process, as on every broken invariant. An event that fails
// engine.Validate is refused (ErrInvalidCommand); one that names an entity
// (engine.EntityOf) or changes partners or keys is refused (ErrOwnedEvent).
func (s *System) Commit(ev engine.Event) error {
	if err := engine.Validate(ev); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCommand, err)
	}
	if _, owned := engine.EntityOf(ev); owned || engine.ChangesAuth(ev) {
		return fmt.Errorf("%w: %s", ErrOwnedEvent, engine.Name(ev.EventType()))
	}
	done := make(chan struct{})
	select {
	case s.committer.in <- item{kind: itemEvent, ev: ev, committed: done}:
	case <-s.committer.stopped:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-s.committer.stopped:
		select {
		case <-done:
			return nil
		default:
			return ErrStopped
		}
	}
}
