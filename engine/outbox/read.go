package outbox

import (
	"errors"

	"ledgerd/engine"
)

// Read helpers. They run inside actors.System.ReadState (on the
// committer's goroutine) and return copies, so callers render outside it.
// A copy's Body is the state's own slice, which nobody changes: never
// modify it.

// List limits.
const (
	ListLimitDefault = 10
	ListLimitMax     = 100
)

// ErrNoCursor: a list's StartingAfter names no delivery.
var ErrNoCursor = errors.New("outbox: starting_after names no delivery")

// Get is a copy of the delivery with id id.
func Get(st *engine.State, id string) (Delivery, bool) {
	if d := Of(st).Deliveries[id]; d != nil {
		return *d, true
	}
	return Delivery{}, false
}

// Pending is a copy of every pending delivery with Seq > afterSeq, in Seq
// order (afterSeq 0: all of them, as the sender reads them at start).
func Pending(st *engine.State, afterSeq uint64) []Delivery {
	s := Of(st)
	from := max(s.oldest, int(min(afterSeq, uint64(len(s.order)))))
	var out []Delivery
	for _, d := range s.order[from:] {
		if d.Status == StatusPending {
			out = append(out, *d)
		}
	}
	return out
}

// OldestPending is a copy of the pending delivery enqueued first.
func OldestPending(st *engine.State) (Delivery, bool) {
	s := Of(st)
	if s.pending == 0 {
		return Delivery{}, false
	}
	for _, d := range s.order[s.oldest:] {
		if d.Status == StatusPending {
			return *d, true
		}
	}
	return Delivery{}, false
}

// Query selects deliveries for List: each non-empty filter must match.
type Query struct {
	Status        string // pending, succeeded, failed or "" (all)
	API           string
	Partner       string
	Limit         int    // 1..ListLimitMax; 0 = ListLimitDefault
	StartingAfter string // a delivery id: the page starts after it (newest first)
}

// List is a page of the deliveries q selects, newest (highest Seq) first,
// and whether more follow. It scans from the cursor back, so a filter
// that matches few deliveries costs a scan of the older ones.
func List(st *engine.State, q Query) (out []Delivery, more bool, err error) {
	s := Of(st)
	limit := q.Limit
	if limit <= 0 {
		limit = ListLimitDefault
	}
	limit = min(limit, ListLimitMax)
	end := len(s.order)
	if q.StartingAfter != "" {
		d := s.Deliveries[q.StartingAfter]
		if d == nil {
			return nil, false, ErrNoCursor
		}
		end = int(d.Seq - 1)
	}
	for i := end - 1; i >= 0; i-- {
		d := s.order[i]
		if (q.Status != "" && d.Status != q.Status) || (q.API != "" && d.API != q.API) ||
			(q.Partner != "" && d.Partner != q.Partner) {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, *d)
	}
	return out, false, nil
}
