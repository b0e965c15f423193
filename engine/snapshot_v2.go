package engine

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Snapshot wire format, version 2 (msgpack), released before the section
// container. No binary writes it any more; every binary reads it, for good
// (principle 8). Never change this reader's behaviour:
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
// start-up waits while a snapshot is decoded.
const snapshotV2Fields = 10

// decodeSnapshotV2 rebuilds a State from a version 2 snapshot.
func decodeSnapshotV2(data []byte) (*State, error) {
	snap, err := readSnapshotV2(data)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot v2: %w", ErrBadRecord, err)
	}
	s := NewState()
	s.Index, s.Events, s.Attempt = snap.Index, snap.Events, snap.Attempt
	loads := []func() error{
		func() error { return loadPartners(s, snap.Partners) },
		func() error { return loadWallets(s, snap.Wallets) },
		func() error { return loadIdem(s, snap.Idem) },
		func() error { return loadCards(s, snap.Cards) },
		func() error { return loadAttempts(s, snap.Attempts) },
	}
	for _, load := range loads {
		if err := load(); err != nil {
			return nil, fmt.Errorf("%w: snapshot v2: %w", ErrBadRecord, err)
		}
	}
	return s, nil
}

// readSnapshotV2 parses the version 2 wire format. Every count is checked
// against the bytes left before anything is allocated for it.
func readSnapshotV2(data []byte) (*snapshot, error) {
	rd := bytes.NewReader(data)
	r := &Reader{dec: msgpack.NewDecoder(rd), rd: rd}
	snap := &snapshot{}
	if n := r.len(); r.err == nil && n != snapshotV2Fields {
		return nil, fmt.Errorf("%d fields", n)
	}
	snap.Version = int(r.int())
	if r.err == nil && snap.Version != snapshotVersion2 {
		return nil, fmt.Errorf("version %d", snap.Version)
	}
	snap.Index, snap.Events, snap.Attempt = r.uint(), r.uint(), r.uint()
	snap.Partners = r.partners(data)
	snap.Wallets = r.wallets()
	snap.Idem = r.idem()
	snap.Cards = r.cards()
	snap.Attempts = r.attempts()
	if n, err := r.dec.DecodeMapLen(); r.err == nil && (err != nil || n > 0) {
		r.err = fmt.Errorf("extra: %d entries, %v", n, err)
	}
	if r.err == nil && rd.Len() != 0 {
		r.err = fmt.Errorf("%d trailing bytes", rd.Len())
	}
	return snap, r.err
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
