package engine

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// encodeSnapshotV2 writes the released version 2 layout (snapshot_v2.go).
// No binary writes it any more; tests use it to make v2 inputs and to
// check that the v2 golden files still are what it wrote.
func encodeSnapshotV2(snap *snapshot) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	w := Writer{enc: enc}
	w.len(snapshotV2Fields)
	w.int(snapshotVersion2)
	w.uint(snap.Index)
	w.uint(snap.Events)
	w.uint(snap.Attempt)
	if w.err == nil {
		w.err = enc.Encode(snap.Partners)
	}
	w.wallets(snap.Wallets)
	w.idem(snap.Idem)
	w.cards(snap.Cards)
	w.attempts(snap.Attempts)
	if w.err == nil {
		w.err = enc.EncodeMapLen(0)
	}
	if w.err != nil {
		return nil, fmt.Errorf("engine: encode snapshot v2: %w", w.err)
	}
	return buf.Bytes(), nil
}

// snapshotV2Of is the version 2 encoding of s.
func snapshotV2Of(s *State) ([]byte, error) {
	c := s.Capture()
	sortSnapshot(c.snap)
	return encodeSnapshotV2(c.snap)
}
