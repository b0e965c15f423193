package engine

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Snapshot wire format, version 2 (msgpack), released before the section
// container. No binary writes it any more; every binary reads it, for good
// (principle 8). Never change this reader's behaviour (nor that of the
// modules' V2 hooks):
//
//	array(10): version (2), index, events, attempt seq,
//	  partners (array of Partner, msgpack's struct encoding),
//	  wallets  (array of [user, balance, [[partner, amount]...]]),
//	  idem     (array of [partner, op, reference, user, amount, code, value, timeMs, detail|nil],
//	            detail = [requestID, redemptionID, tier, label, expiresMs, redeemedMs]),
//	  cards    (array of [code, partner, tier, label, issued, expires, revoked, redeemed, redemptionID]),
//	  attempts (array of [partner, [[seq, timeMs, code, action, outcome, requestID]...]]),
//	  extra    (map, reserved; always empty)
//
// The large lists are read with msgpack's primitives, not reflection:
// start-up waits while a snapshot is decoded. The core reads its own
// elements (index, events, partners, idem); the elements of a module's
// state are handed to its section's V2 hook (SnapshotSection.V2), after
// the core's are loaded, in table order.
const snapshotV2Fields = 10

// V2Element is the position of a module's element in the version 2 array.
type V2Element int

// The version 2 elements that hold module state.
const (
	V2AttemptSeq V2Element = 3 // PayPay.cards: last Attempt.Seq given
	V2Wallets    V2Element = 5 // PayShards: the wallets
	V2Cards      V2Element = 7 // PayPay.cards: the codes
	V2Attempts   V2Element = 8 // PayPay.cards: the audit records
)

// SnapshotV2 is a version 2 snapshot split into its elements, for the
// modules' V2 hooks: each element is its msgpack value's bytes, sliced out
// of the snapshot (well-formed msgpack, not yet checked further).
type SnapshotV2 struct {
	elems [snapshotV2Fields][]byte
}

// Reader reads the given elements one after the other, as one stream
// (Done: every byte of them was read).
func (v *SnapshotV2) Reader(elems ...V2Element) *Reader {
	if len(elems) == 1 {
		return NewReader(v.elems[elems[0]])
	}
	var data []byte
	for _, e := range elems {
		data = append(data, v.elems[e]...)
	}
	return NewReader(data)
}

// decodeSnapshotV2 rebuilds a State from a version 2 snapshot.
func decodeSnapshotV2(data []byte) (*State, error) {
	snap, v2, err := readSnapshotV2(data)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot v2: %w", ErrBadRecord, err)
	}
	s := NewState()
	s.Index, s.Events = snap.Index, snap.Events
	if err := loadPartners(s, snap.Partners); err != nil {
		return nil, fmt.Errorf("%w: snapshot v2: %w", ErrBadRecord, err)
	}
	if err := loadIdem(s, snap.Idem); err != nil {
		return nil, fmt.Errorf("%w: snapshot v2: %w", ErrBadRecord, err)
	}
	for _, sec := range snapshotSections {
		if sec.V2 == nil {
			continue
		}
		if err := sec.V2(v2, s); err != nil {
			return nil, fmt.Errorf("%w: snapshot v2: %s: %w", ErrBadRecord, sec.Name, err)
		}
	}
	return s, nil
}

// readSnapshotV2 parses the version 2 wire format: the core's elements
// into snap, the modules' sliced out into v2. Every count the core reads
// is checked against the bytes left before anything is allocated for it.
func readSnapshotV2(data []byte) (*snapshot, *SnapshotV2, error) {
	rd := bytes.NewReader(data)
	r := &Reader{dec: msgpack.NewDecoder(rd), rd: rd}
	snap, v2 := &snapshot{}, &SnapshotV2{}
	if n := r.len(); r.err == nil && n != snapshotV2Fields {
		return nil, nil, fmt.Errorf("%d fields", n)
	}
	snap.Version = int(r.int())
	if r.err == nil && snap.Version != snapshotVersion2 {
		return nil, nil, fmt.Errorf("version %d", snap.Version)
	}
	snap.Index, snap.Events = r.uint(), r.uint()
	v2.elems[V2AttemptSeq] = r.rawValue(data)
	snap.Partners = r.partners(data)
	v2.elems[V2Wallets] = r.rawValue(data)
	snap.Idem = r.idem(idemFieldsV1)
	v2.elems[V2Cards] = r.rawValue(data)
	v2.elems[V2Attempts] = r.rawValue(data)
	if n, err := r.dec.DecodeMapLen(); r.err == nil && (err != nil || n > 0) {
		r.err = fmt.Errorf("extra: %d entries, %v", n, err)
	}
	if r.err == nil && rd.Len() != 0 {
		r.err = fmt.Errorf("%d trailing bytes", rd.Len())
	}
	return snap, v2, r.err
}

// rawValue skips one msgpack value of data, which r reads, and returns its
// bytes without copying them.
func (r *Reader) rawValue(data []byte) []byte {
	if r.err != nil {
		return nil
	}
	start := len(data) - r.rd.Len()
	if r.err = r.dec.Skip(); r.err != nil {
		return nil
	}
	end := len(data) - r.rd.Len()
	return data[start:end:end]
}

// partners reads the partners list, msgpack's struct encoding of
// []Partner, from r, which reads data: its shape is checked without
// allocating first, so that no announced length makes the reflecting
// decoder allocate for elements the bytes cannot hold.
func (r *Reader) partners(data []byte) []Partner {
	if r.err != nil {
		return nil
	}
	if err := checkShape(data[len(data)-r.rd.Len():], true); err != nil {
		r.err = err
		return nil
	}
	var out []Partner
	r.err = r.dec.Decode(&out)
	return out
}
