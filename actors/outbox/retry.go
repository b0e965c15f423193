package outbox

import (
	"errors"
	"fmt"
	"sync"

	"ledgerd/actors"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// Retry errors.
var (
	ErrNotFound  = errors.New("outbox: no such delivery")
	ErrNotFailed = errors.New("outbox: delivery is not failed")
)

// retryMu serializes operator retries: each is decided against the durable
// state and committed before the next is decided, so two retries of one
// delivery cannot both pass (the second sees it pending). The sender never
// attempts a failed delivery, so nothing else races them.
var retryMu sync.Mutex

// Retry re-arms a failed delivery (DeliveryRetried): pending and due at
// once, a new round of its API's schedule. It returns the delivery read
// right after the retry is committed (the sender, woken by it, may already
// have attempted it again), ErrNotFound or ErrNotFailed (with the delivery
// as it is).
func Retry(sys *actors.System, id string) (eob.Delivery, error) {
	retryMu.Lock()
	defer retryMu.Unlock()
	var d eob.Delivery
	var ok bool
	sys.ReadState(func(st *engine.State) { d, ok = eob.Get(st, id) })
	switch {
	case !ok:
		return eob.Delivery{}, ErrNotFound
	case d.Status != eob.StatusFailed:
		return d, ErrNotFailed
	}
	ev := &eob.DeliveryRetried{ID: id}
	ev.TimeMs = sys.Now().UnixMilli()
	if err := sys.Commit(ev); err != nil {
		return d, fmt.Errorf("outbox: retry %s: %w", id, err)
	}
	sys.ReadState(func(st *engine.State) { d, _ = eob.Get(st, id) })
	return d, nil
}
