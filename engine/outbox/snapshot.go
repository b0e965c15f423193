package outbox

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// ErrBadSection is a snapshot section the decoder refuses.
var ErrBadSection = errors.New("outbox: bad snapshot section")

// Snapshot section "outbox", version 1, Order 600 (wire format: never
// change it; a new layout is a new version, read next to this one):
//
//	[seq, deliveries (array, by Seq 1, 2, ...) of
//	  [id, api, partner, target, eventID, eventType, body, createdMs,
//	   status, attempts, firstMs, nextMs, lastMs, lastStatus, lastError,
//	   roundStart, retries]]
//
// body is an array of bin chunks of bodyChunk bytes, the last one shorter
// and not empty (an empty body is no chunk), because the engine's Reader
// reads bins of at most 4,096 bytes. Seq is the position in the array.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "outbox", Version: 1, Reads: []int{1}, Order: 600,
		Stepped: copySteps, EncodeCopy: encodeSection, Decode: decodeSection})
}

const (
	bodyChunk      = 4096
	deliveryFields = 17
)

// copyChunk is how many deliveries one chunk of a copy holds: the copy is
// never one allocation as large as the outbox.
const copyChunk = 4096

// stepCopy copies the section in steps on the committer's goroutine. The
// deliveries in order (append-only) are taken at the start; their values
// are copied n per Step. Attempts and retries change a delivery in place
// (its Body is never changed and is shared), so Before keeps the value of
// one such an event is about to change, if the copy has not reached it.
// Deliveries are never removed, so the section only grows with every
// webhook: copied whole at the start it was a pause as long as the outbox.
type stepCopy struct {
	order []*Delivery // order[i].Seq == i+1
	next  int
	out   [][]Delivery        // chunks of copyChunk, by Seq
	pre   map[uint64]Delivery // Seq -> value before the first change after the start
}

type sectionCopy struct {
	n      int
	chunks [][]Delivery
}

func copySteps(s *engine.State) engine.SectionCopy {
	st := Of(s)
	return &stepCopy{order: st.order[:len(st.order):len(st.order)], pre: map[uint64]Delivery{}}
}

func (c *stepCopy) Step(_ *engine.State, n int) bool {
	for ; c.next < len(c.order) && n > 0; c.next, n = c.next+1, n-1 {
		if len(c.out) == 0 || len(c.out[len(c.out)-1]) == copyChunk {
			c.out = append(c.out, make([]Delivery, 0, min(copyChunk, len(c.order)-c.next)))
		}
		d := c.order[c.next]
		v, changed := c.pre[d.Seq]
		if !changed {
			v = *d
		}
		last := &c.out[len(c.out)-1]
		*last = append(*last, v)
	}
	return c.next == len(c.order)
}

// Before keeps the value of the delivery an attempt or a retry is about to
// change. Any other outbox event (a type added later) completes the copy
// first; other modules' events only add deliveries (Enqueue), past the
// ones taken.
func (c *stepCopy) Before(s *engine.State, ev engine.Event) {
	var id string
	switch e := ev.(type) {
	case *DeliveryAttempted:
		id = e.ID
	case *DeliveryRetried:
		id = e.ID
	default:
		if strings.HasPrefix(engine.Name(ev.EventType()), "outbox.") {
			c.Step(s, math.MaxInt)
		}
		return
	}
	d := Of(s).Deliveries[id]
	if d == nil || d.Seq > uint64(len(c.order)) || int(d.Seq-1) < c.next {
		return
	}
	if _, had := c.pre[d.Seq]; !had {
		c.pre[d.Seq] = *d
	}
}

func (c *stepCopy) Value() any { return sectionCopy{n: len(c.order), chunks: c.out} }

func encodeSection(copy any, enc *msgpack.Encoder) error {
	c := copy.(sectionCopy)
	w := engine.NewWriter(enc)
	w.Len(2)
	w.Uint(uint64(c.n))
	w.Len(c.n)
	for _, ch := range c.chunks {
		if err := encodeChunk(w, ch); err != nil {
			return err
		}
	}
	return w.Err()
}

func encodeChunk(w *engine.Writer, ds []Delivery) error {
	for i := range ds {
		d := &ds[i]
		w.Len(deliveryFields)
		w.Str(d.ID)
		w.Str(d.API)
		w.Str(d.Partner)
		w.Str(d.Target)
		w.Str(d.EventID)
		w.Str(d.EventType)
		writeBody(w, d.Body)
		w.Int(d.CreatedMs)
		w.Str(d.Status)
		w.Int(d.Attempts)
		w.Int(d.FirstMs)
		w.Int(d.NextMs)
		w.Int(d.LastMs)
		w.Int(d.LastStatus)
		w.Str(d.LastError)
		w.Int(d.RoundStart)
		w.Int(d.Retries)
	}
	return w.Err()
}

func writeBody(w *engine.Writer, body []byte) {
	w.Len((len(body) + bodyChunk - 1) / bodyChunk)
	for len(body) > 0 {
		n := min(len(body), bodyChunk)
		w.Bytes(body[:n])
		body = body[n:]
	}
}

func readBody(r *engine.Reader) []byte {
	n := r.Count(-1, 2)
	if r.Err() != nil || n > (MaxBody+bodyChunk-1)/bodyChunk {
		r.Fail(fmt.Errorf("%w: body of %d chunks", ErrBadSection, n))
		return nil
	}
	var body []byte
	for i := range n {
		c := r.Bytes()
		if r.Err() != nil {
			return nil
		}
		if len(c) == 0 || len(c) > bodyChunk || (i < n-1 && len(c) != bodyChunk) {
			r.Fail(fmt.Errorf("%w: body chunk of %d bytes", ErrBadSection, len(c)))
			return nil
		}
		body = append(body, c...)
	}
	return body
}

func decodeSection(_ int, payload []byte, s *engine.State) error {
	r := engine.SectionReader(payload, 2)
	seq := r.Uint()
	n := r.Count(-1, deliveryFields+1)
	if r.Err() == nil && uint64(n) != seq {
		r.Fail(fmt.Errorf("%w: seq %d with %d deliveries", ErrBadSection, seq, n))
	}
	ds := make([]*Delivery, 0, max(n, 0))
	for i := 0; i < n && r.Err() == nil; i++ {
		r.Count(deliveryFields, 1)
		d := &Delivery{Seq: uint64(i + 1), ID: r.Str(), API: r.Str(), Partner: r.Str(), Target: r.Str(),
			EventID: r.Str(), EventType: r.Str(), Body: readBody(r), CreatedMs: r.Int(),
			Status: r.Str(), Attempts: r.Int(), FirstMs: r.Int(), NextMs: r.Int(), LastMs: r.Int(),
			LastStatus: r.Int(), LastError: r.Str(), RoundStart: r.Int(), Retries: r.Int()}
		ds = append(ds, d)
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSection, err)
	}
	st := Of(s)
	*st = *newState()
	for _, d := range ds {
		if err := checkStored(d); err != nil {
			return fmt.Errorf("%w: delivery %d: %w", ErrBadSection, d.Seq, err)
		}
		if st.Deliveries[d.ID] != nil {
			return fmt.Errorf("%w: delivery %q twice", ErrBadSection, d.ID)
		}
		st.add(d)
	}
	st.Seq = seq
	return nil
}

// checkStored checks a delivery read from a snapshot: the fields Enqueue
// checks and the attempt fields Apply keeps consistent.
func checkStored(d *Delivery) error {
	if err := checkNew(d); err != nil {
		return err
	}
	switch {
	case d.Status != StatusPending && d.Status != StatusSucceeded && d.Status != StatusFailed:
		return fmt.Errorf("status %q", d.Status)
	case d.Attempts < 0 || d.RoundStart < 0 || d.RoundStart > d.Attempts || d.Retries < 0 || d.Retries > d.Attempts:
		return fmt.Errorf("attempts %d, round from %d, retries %d", d.Attempts, d.RoundStart, d.Retries)
	case d.Status != StatusPending && d.Attempts == d.RoundStart:
		return fmt.Errorf("%s without an attempt", d.Status)
	case d.FirstMs < 0 || d.NextMs < 0 || d.LastMs < 0 || d.LastStatus < 0 || d.LastStatus > 999:
		return fmt.Errorf("times %d %d %d, last status %d", d.FirstMs, d.NextMs, d.LastMs, d.LastStatus)
	case len(d.LastError) > MaxErrorLen:
		return fmt.Errorf("last error of %d bytes", len(d.LastError))
	}
	return nil
}
