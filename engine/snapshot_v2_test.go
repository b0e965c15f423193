package engine

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// snapshotV2Of is the version 2 encoding of s (snapshot_v2.go), the
// released layout that no binary writes any more; tests use it to make v2
// inputs and to check that the v2 golden files still are what it gives.
// The version 3 sections hold the version 2 elements in the same
// encodings (the idempotency records aside: version 2 of the idem section
// adds two fields, which the v2 layout has not), so it lays out the
// elements of s's version 3 sections in the version 2 array.
func snapshotV2Of(s *State) ([]byte, error) {
	data, err := s.EncodeSnapshot()
	if err != nil {
		return nil, err
	}
	frames, _, err := readSectionFrames(data)
	if err != nil {
		return nil, err
	}
	fields := func(name string, n int) [][]byte {
		out := make([][]byte, n)
		f := frames[name]
		if f == nil {
			err = fmt.Errorf("no section %q", name)
			return out
		}
		r := sectionReader(f.payload, n)
		for i := range out {
			out[i] = r.rawValue(f.payload)
		}
		if e := r.done(); e != nil && err == nil {
			err = fmt.Errorf("section %q: %w", name, e)
		}
		return out
	}
	core, idem, wallets, cards := fields("core", 3), fields("idem", 1), fields("payshards", 1), fields("paypay", 3)
	if err != nil {
		return nil, fmt.Errorf("engine: encode snapshot v2: %w", err)
	}
	records := sectionReader(frames["idem"].payload, 1).idem(idemFieldsV2)
	var v1 bytes.Buffer
	w := Writer{enc: msgpack.NewEncoder(&v1)}
	w.idem(records, false)
	if w.err != nil || idem == nil {
		return nil, fmt.Errorf("engine: encode snapshot v2 records: %v", w.err)
	}
	out := []byte{0x90 | snapshotV2Fields, snapshotVersion2} // fixarray(10), 2
	for _, elem := range [][]byte{core[0], core[1], cards[0], core[2], wallets[0], v1.Bytes(), cards[1], cards[2]} {
		out = append(out, elem...)
	}
	return append(out, 0x80), nil // extra: an empty fixmap
}
