package outbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"ledgerd/engine"
)

// Limits of a delivery (the enqueuing module validates its events against
// them; Enqueue panics past them, as on any broken invariant).
const (
	MaxBody     = 256 << 10 // bytes of one delivery's body
	MaxIDLen    = 255       // bytes of an id, API, partner, target, event id or type
	MaxErrorLen = 1024      // bytes of an attempt's error text (DeliveryAttempted.Error)
)

// idPrefix and idHexChars make a delivery id: "dlv_" and 24 hex characters.
const (
	idPrefix   = "dlv_"
	idHexChars = 24
)

// DeliveryID is the stable id of the delivery of eventID to target:
// "dlv_" and the first 24 hex characters of SHA-256(eventID + "/" + target).
// Deterministic, so an event replayed from the log enqueues the same ids.
func DeliveryID(eventID, target string) string {
	sum := sha256.Sum256([]byte(eventID + "/" + target))
	return idPrefix + hex.EncodeToString(sum[:])[:idHexChars]
}

// State is the outbox's section of an engine.State: every delivery by id
// and in enqueue order. Only Apply functions change it (Enqueue, and this
// package's events), on the committer's goroutine.
type State struct {
	Seq        uint64               // last Delivery.Seq given
	Deliveries map[string]*Delivery // by id
	order      []*Delivery          // by Seq: order[i].Seq == i+1
	pending    int                  // deliveries with Status pending
	oldest     int                  // order[:oldest] are not pending
}

// Entries is what a snapshot of the section holds (engine.State.Entries).
func (s *State) Entries() int { return len(s.order) }

// PendingCount is how many deliveries wait for an attempt.
func (s *State) PendingCount() int { return s.pending }

var stateKey = engine.RegisterState("outbox", func() any { return newState() })

func newState() *State { return &State{Deliveries: make(map[string]*Delivery)} }

// Of is the outbox's section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

// Enqueue adds d to the outbox as pending and due at once (NextMs =
// CreatedMs), giving it the next Seq; the attempt fields of d are ignored.
// A module's Apply calls it, so the change and its deliveries are one WAL
// record. It panics on a broken invariant (an id already enqueued, a field
// past its limit): the module's Validate must have refused such an event.
func Enqueue(st *engine.State, d Delivery) {
	s := Of(st)
	if err := checkNew(&d); err != nil {
		panic(fmt.Sprintf("outbox: invariant violated: enqueue %q: %v", d.ID, err))
	}
	if s.Deliveries[d.ID] != nil {
		panic(fmt.Sprintf("outbox: invariant violated: delivery %q enqueued twice", d.ID))
	}
	s.Seq++
	n := &Delivery{Seq: s.Seq, ID: d.ID, API: d.API, Partner: d.Partner, Target: d.Target,
		EventID: d.EventID, EventType: d.EventType, Body: d.Body, CreatedMs: d.CreatedMs,
		Status: StatusPending, NextMs: d.CreatedMs}
	s.add(n)
}

// add indexes a delivery whose Seq is the next one.
func (s *State) add(d *Delivery) {
	s.Deliveries[d.ID] = d
	s.order = append(s.order, d)
	if d.Status == StatusPending {
		s.pending++
	}
	s.advanceOldest()
}

// advanceOldest moves the oldest-pending hint past deliveries that are not
// pending (amortised: each delivery is passed once per time it leaves
// pending).
func (s *State) advanceOldest() {
	for s.oldest < len(s.order) && s.order[s.oldest].Status != StatusPending {
		s.oldest++
	}
}

// checkNew checks the fields a module gives a new delivery.
func checkNew(d *Delivery) error {
	for _, f := range [...]struct{ name, v string }{{"id", d.ID}, {"api", d.API}, {"partner", d.Partner},
		{"target", d.Target}, {"event id", d.EventID}, {"event type", d.EventType}} {
		if f.v == "" || len(f.v) > MaxIDLen {
			return fmt.Errorf("%s of %d bytes", f.name, len(f.v))
		}
	}
	if len(d.Body) > MaxBody {
		return fmt.Errorf("body of %d bytes", len(d.Body))
	}
	if d.CreatedMs < 0 {
		return fmt.Errorf("created %d", d.CreatedMs)
	}
	return nil
}
