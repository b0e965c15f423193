package outbox

import (
	"errors"
	"fmt"

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
		Copy: copySection, EncodeCopy: encodeSection, Decode: decodeSection})
}

const (
	bodyChunk      = 4096
	deliveryFields = 17
)

// copySection runs on the committer's goroutine: attempts change the
// deliveries in place, so each is copied (its Body is never changed and
// is shared).
func copySection(s *engine.State) any {
	st := Of(s)
	out := make([]Delivery, len(st.order))
	for i, d := range st.order {
		out[i] = *d
	}
	return out
}

func encodeSection(copy any, enc *msgpack.Encoder) error {
	ds := copy.([]Delivery)
	w := engine.NewWriter(enc)
	w.Len(2)
	w.Uint(uint64(len(ds)))
	w.Len(len(ds))
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
