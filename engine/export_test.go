package engine

import (
	"bytes"

	"github.com/vmihailenco/msgpack/v5"
)

// Exports for the external tests (package engine_test), which hold the
// golden files to states built from module events and so need the version
// 2 writer that only the tests keep (snapshot_v2_test.go).

// SnapshotV2Of is the version 2 (released, flat) encoding of s.
func SnapshotV2Of(s *State) ([]byte, error) { return snapshotV2Of(s) }

// SnapshotOneBuffer is s's version 3 container built the plain way, each
// section in a bytes.Buffer and copied in with EncodeBytes: the reference
// the chunked encoder (encodeContainer) must match byte for byte.
func SnapshotOneBuffer(s *State) ([]byte, error) {
	c := s.Capture()
	sortSnapshot(c.snap)
	var out, section bytes.Buffer
	w := Writer{enc: msgpack.NewEncoder(&out)}
	w.len(2)
	w.int(SnapshotVersion)
	w.len(len(snapshotSections))
	enc := msgpack.NewEncoder(&section)
	for _, sec := range snapshotSections {
		section.Reset()
		var err error
		if sec.EncodeCopy != nil {
			err = sec.EncodeCopy(c.copyOf(sec.Name), enc)
		} else {
			err = sec.Encode(c, enc)
		}
		if err != nil {
			return nil, err
		}
		w.len(3)
		w.str(sec.Name)
		w.int(int64(sec.Version))
		w.bytes(section.Bytes())
	}
	return out.Bytes(), w.err
}
