package engine

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Helpers of the internal tests (package engine: upgrade_test.go,
// snapshot_v2_test.go), which reach the section table, the container
// reader and the version 2 writer. They cannot import the module packages
// (engine/payshards and engine/paypay import engine), so they build no
// module event: the states with wallets and codes they need are read from
// the golden files, which the external tests (package engine_test) hold,
// byte for byte, to states built from events (TestSnapshotGolden,
// TestSnapshotCardsGolden). The external package imports
// ledgerd/engine/modules, so every module is registered in this test
// binary by the time any test runs. Tiny helpers are duplicated from
// helpers_test.go, which is package engine_test.

// raw builds msgpack bytes field by field, for hand-made (bad) records.
type raw struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

func newRaw() *raw {
	r := &raw{}
	r.enc = msgpack.NewEncoder(&r.buf)
	return r
}

func (r *raw) arr(n int) *raw  { _ = r.enc.EncodeArrayLen(n); return r }
func (r *raw) i(v int64) *raw  { _ = r.enc.EncodeInt(v); return r }
func (r *raw) s(v string) *raw { _ = r.enc.EncodeString(v); return r }
func (r *raw) b(v []byte) *raw { _ = r.enc.EncodeBytes(v); return r }
func (r *raw) nil() *raw       { _ = r.enc.EncodeNil(); return r }
func (r *raw) out() []byte     { return append([]byte(nil), r.buf.Bytes()...) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func mustSnapshot(t *testing.T, s *State) []byte {
	t.Helper()
	b, err := s.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mustPanic runs f and fails the test unless it panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: expected a panic, got none", name)
		}
	}()
	f()
}

// goldenFileState decodes testdata/name.
func goldenFileState(name string) *State {
	return must(DecodeSnapshot(must(os.ReadFile(filepath.Join("testdata", name)))))
}

// goldenState is the state of snapshot_v3.golden: partners, wallets and
// references, no codes (goldenState in snapshot_test.go).
func goldenState() *State { return goldenFileState("snapshot_v3.golden") }

// goldenCardsState is the state of snapshot_cards_v3.golden: every
// section non-empty (goldenCardsState in cards_test.go).
func goldenCardsState() *State { return goldenFileState("snapshot_cards_v3.golden") }

// statesEqual reports how two states differ, or "" if they hold the same
// ledger; a copy of the external helper for the core, and the module
// sections, which these tests cannot name, compared by the bytes of their
// snapshot sections (deterministic, and blind to Refundable order and
// nil-vs-empty slices as the external helper is).
func statesEqual(a, b *State) string {
	switch {
	case a.Index != b.Index:
		return "Index"
	case a.Events != b.Events:
		return "Events"
	case !reflect.DeepEqual(a.Partners, b.Partners):
		return "Partners"
	case !reflect.DeepEqual(a.Keys, b.Keys):
		return "Keys"
	case !reflect.DeepEqual(maps.Collect(a.IdemRecords()), maps.Collect(b.IdemRecords())):
		return "Idem"
	case !slices.Equal(a.IdemKeys(), b.IdemKeys()):
		return "IdemKeys (log order)"
	}
	for _, sec := range snapshotSections {
		if sec.EncodeCopy != nil && !bytes.Equal(encodedCopy(sec, a), encodedCopy(sec, b)) {
			return "section " + sec.Name
		}
	}
	return ""
}

// encodedCopy is the payload sec writes for s.
func encodedCopy(sec SnapshotSection, s *State) []byte {
	var buf bytes.Buffer
	if err := sec.EncodeCopy(sec.copyNow(s), msgpack.NewEncoder(&buf)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// sectionBytes is the payload of the module section name for s.
func sectionBytes(t *testing.T, name string, s *State) []byte {
	t.Helper()
	sec := findSection(name)
	if sec == nil || sec.EncodeCopy == nil {
		t.Fatalf("no module section %q", name)
	}
	return encodedCopy(*sec, s)
}
