package engine

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// Internal tests of the snapshot container: they reach its reader
// (readSectionFrames) and its table (snapshotSections). The states they use
// come from the golden files (internal_helpers_test.go). The unknown event
// type tests are external: TestDecodeBatchUnknownType in codec_test.go.

// withSections re-encodes a version 3 snapshot with its sections changed
// by f.
func withSections(t *testing.T, data []byte, f func([]sectionFrame) []sectionFrame) []byte {
	t.Helper()
	_, order, err := readSectionFrames(data)
	if err != nil {
		t.Fatal(err)
	}
	frames := make([]sectionFrame, len(order))
	for i, fr := range order {
		frames[i] = *fr
	}
	frames = f(frames)
	r := newRaw().arr(2).i(SnapshotVersion).arr(len(frames))
	for _, fr := range frames {
		r.arr(3).s(fr.name).i(int64(fr.version)).b(fr.payload)
	}
	return r.out()
}

// TestDecodeSnapshotUnknownFormat: what a newer binary may write — another
// container version, another section, another version of a section — is
// ErrUnknownSnapshotFormat (never ErrBadRecord, which would move the file
// aside), with a message naming it, from DecodeSnapshot and from
// CheckSnapshotFormat alike.
func TestDecodeSnapshotUnknownFormat(t *testing.T) {
	good := mustSnapshot(t, goldenCardsState())
	set := func(name string, version int) func([]sectionFrame) []sectionFrame {
		return func(fs []sectionFrame) []sectionFrame {
			for i := range fs {
				if fs[i].name == name {
					fs[i].version = version
				}
			}
			return fs
		}
	}
	cases := map[string]struct {
		data []byte
		want string
	}{
		"container version 99":              {newRaw().arr(2).i(99).arr(0).out(), "container version 99"},
		"container version 99, other shape": {newRaw().arr(5).i(99).s("x").s("y").nil().nil().out(), "container version 99"},
		"container version 0":               {newRaw().arr(2).i(0).arr(0).out(), "container version 0"},
		"container version 1":               {newRaw().arr(7).i(1).i(0).i(0).nil().nil().nil().nil().out(), "container version 1"},
		"unknown section": {withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			return append(fs, sectionFrame{name: "webhooks", version: 1, payload: []byte{0x90}})
		}), `section "webhooks" (version 1)`},
		"unknown section first": {withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			return append([]sectionFrame{{name: "novel", version: 4, payload: []byte("anything")}}, fs...)
		}), `section "novel" (version 4)`},
		"core version 2":    {withSections(t, good, set("core", 2)), `section "core" version 2`},
		"paypay version 9":  {withSections(t, good, set("paypay", 9)), `section "paypay" version 9`},
		"idem version 1000": {withSections(t, good, set("idem", 1000)), `section "idem" version 1000`},
	}
	for name, c := range cases {
		_, err := DecodeSnapshot(c.data)
		if !errors.Is(err, ErrUnknownSnapshotFormat) || errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: err %v, want ErrUnknownSnapshotFormat alone", name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: message %q does not say %q", name, err, c.want)
		}
		if cerr := CheckSnapshotFormat(c.data); !errors.Is(cerr, ErrUnknownSnapshotFormat) {
			t.Errorf("%s: CheckSnapshotFormat: %v", name, cerr)
		}
	}
	for name, data := range map[string][]byte{"v3": good, "v2": must(snapshotV2Of(goldenCardsState()))} {
		if err := CheckSnapshotFormat(data); err != nil {
			t.Errorf("%s: CheckSnapshotFormat: %v", name, err)
		}
	}
}

// TestDecodeSnapshotContainerStructure: a section missing is that module's
// empty state, unless it is core; a section twice, a name that is no
// string, a payload that is no bin, or bytes after the container are
// broken structure.
func TestDecodeSnapshotContainerStructure(t *testing.T) {
	full := goldenCardsState()
	good := mustSnapshot(t, full)
	without := func(name string) []byte {
		return withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			return slices.DeleteFunc(fs, func(f sectionFrame) bool { return f.name == name })
		})
	}
	s, err := DecodeSnapshot(without("paypay"))
	if err != nil {
		t.Fatalf("without paypay: %v", err)
	}
	// The module sections are compared by their encoded copies: these
	// internal tests cannot name the modules' types (no codes, no audit
	// logs; every wallet).
	if !bytes.Equal(sectionBytes(t, "paypay", s), sectionBytes(t, "paypay", NewState())) ||
		!bytes.Equal(sectionBytes(t, "payshards", s), sectionBytes(t, "payshards", full)) || s.IdemLen() != full.IdemLen() {
		t.Fatalf("without paypay: paypay section %x, payshards section equal %v, %d records", sectionBytes(t, "paypay", s),
			bytes.Equal(sectionBytes(t, "payshards", s), sectionBytes(t, "payshards", full)), s.IdemLen())
	}
	// Sections in another order decode to the same state (table order rules).
	reversed := withSections(t, good, func(fs []sectionFrame) []sectionFrame { slices.Reverse(fs); return fs })
	if s, err := DecodeSnapshot(reversed); err != nil || statesEqual(s, full) != "" {
		t.Fatalf("sections reversed: %v", err)
	}
	cases := map[string][]byte{
		"without core": without("core"),
		"idem twice": withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			return append(fs, fs[1])
		}),
		"empty name": withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			return append(fs, sectionFrame{name: "", version: 1, payload: []byte{0x90}})
		}),
		"payload not bin":     newRaw().arr(2).i(3).arr(1).arr(3).s("core").i(1).s("x").out(),
		"name not string":     newRaw().arr(2).i(3).arr(1).arr(3).i(1).i(1).b([]byte{0x90}).out(),
		"negative version":    newRaw().arr(2).i(3).arr(1).arr(3).s("core").i(-1).b([]byte{0x90}).out(),
		"section of 2":        newRaw().arr(2).i(3).arr(1).arr(2).s("core").i(1).out(),
		"container of 3":      newRaw().arr(3).i(3).arr(0).nil().out(),
		"trailing bytes":      append(slices.Clone(good), 0xc0),
		"bin beyond the end":  good[:len(good)-3],
		"core payload broken": withSections(t, good, func(fs []sectionFrame) []sectionFrame { fs[0].payload = fs[0].payload[:5]; return fs }),
		"core trailing bytes": withSections(t, good, func(fs []sectionFrame) []sectionFrame {
			fs[0].payload = append(slices.Clone(fs[0].payload), 0x01)
			return fs
		}),
	}
	for name, data := range cases {
		if _, err := DecodeSnapshot(data); !errors.Is(err, ErrBadRecord) || errors.Is(err, ErrUnknownSnapshotFormat) {
			t.Errorf("%s: err %v, want ErrBadRecord alone", name, err)
		}
	}
}

// TestRegisterSnapshotSection: a module's section is written, read back,
// and refused when malformed or registered twice.
func TestRegisterSnapshotSection(t *testing.T) {
	saved := snapshotSections
	t.Cleanup(func() { snapshotSections = saved })
	snapshotSections = slices.Clone(saved)
	var got []byte
	RegisterSnapshotSection(SnapshotSection{Name: "test", Version: 2, Reads: []int{1, 2},
		Encode: func(_ *Capture, enc *msgpack.Encoder) error { return enc.EncodeString("hello") },
		Decode: func(version int, payload []byte, _ *State) error {
			got = append([]byte{byte(version)}, payload...)
			return nil
		}})
	if _, err := DecodeSnapshot(mustSnapshot(t, goldenState())); err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{2, 0xa5}, "hello"...); !bytes.Equal(got, want) {
		t.Fatalf("the registered section read %x, want %x", got, want)
	}
	for name, sec := range map[string]SnapshotSection{
		"twice":         {Name: "core", Version: 1, Reads: []int{1}, Encode: encodeCore, Decode: decodeCore},
		"writes unread": {Name: "x", Version: 2, Reads: []int{1}, Encode: encodeCore, Decode: decodeCore},
		"no decode":     {Name: "y", Version: 1, Reads: []int{1}, Encode: encodeCore},
	} {
		mustPanic(t, name, func() { RegisterSnapshotSection(sec) })
	}
}

// FuzzSnapshotSection feeds each section decoder arbitrary payloads on top
// of a state holding the golden partners: it must not panic, and what it
// accepts must survive a snapshot round trip.
func FuzzSnapshotSection(f *testing.F) {
	data, err := goldenCardsState().EncodeSnapshot()
	if err != nil {
		f.Fatal(err)
	}
	base, _, err := readSectionFrames(data)
	if err != nil {
		f.Fatal(err)
	}
	for i, sec := range snapshotSections {
		f.Add(uint8(i), base[sec.Name].payload)
		f.Add(uint8(i), []byte{0x90})
	}
	f.Add(uint8(3), []byte{0x93, 0x05, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x90})
	f.Add(uint8(1), []byte{0x91, 0xdd, 0x00, 0x04, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, sel uint8, payload []byte) {
		sec := snapshotSections[int(sel)%len(snapshotSections)]
		s := NewState()
		if sec.Name != "core" {
			if err := decodeCore(1, base["core"].payload, s); err != nil {
				t.Fatal(err)
			}
		}
		if err := sec.Decode(sec.Version, payload, s); err != nil {
			return
		}
		again, err := DecodeSnapshot(mustSnapshot(t, s))
		if err != nil {
			t.Fatalf("section %s: accepted payload does not survive a snapshot: %v", sec.Name, err)
		}
		if diff := statesEqual(s, again); diff != "" {
			t.Fatalf("section %s: state differs after a snapshot in %s", sec.Name, diff)
		}
	})
}

// TestSnapshotSectionOrder: the table, and so the container, is in Order,
// whatever order the packages registered in (engine/modules imports paypay
// before payshards); a section without an Order goes after every ordered
// one, and equal Orders keep registration order.
func TestSnapshotSectionOrder(t *testing.T) {
	names := func() []string {
		var out []string
		for _, sec := range snapshotSections {
			out = append(out, sec.Name)
		}
		return out
	}
	if got, want := names(), []string{"core", "idem", "payshards", "paypay", "paysmart", "outbox", "checkout", "paychat"}; !slices.Equal(got, want) {
		t.Fatalf("table order %v, want %v", got, want)
	}
	_, order, err := readSectionFrames(mustSnapshot(t, goldenCardsState()))
	if err != nil {
		t.Fatal(err)
	}
	var written []string
	for _, f := range order {
		written = append(written, f.name)
	}
	if !slices.Equal(written, names()) {
		t.Fatalf("container order %v, table %v", written, names())
	}
	saved := snapshotSections
	t.Cleanup(func() { snapshotSections = saved })
	snapshotSections = slices.Clone(saved)
	sec := func(name string, order int) SnapshotSection {
		return SnapshotSection{Name: name, Version: 1, Reads: []int{1}, Order: order, Encode: encodeIdem, Decode: decodeIdem}
	}
	RegisterSnapshotSection(sec("last", 0))
	RegisterSnapshotSection(sec("between", 250))
	RegisterSnapshotSection(sec("first", 50))
	RegisterSnapshotSection(sec("tie", 300))
	RegisterSnapshotSection(sec("last2", 0))
	want := []string{"first", "core", "idem", "between", "payshards", "tie", "paypay", "paysmart", "outbox", "checkout", "paychat", "last", "last2"}
	if got := names(); !slices.Equal(got, want) {
		t.Fatalf("table order %v, want %v", got, want)
	}
	mustPanic(t, "negative order", func() { RegisterSnapshotSection(sec("neg", -1)) })
}

// TestSnapshotV2Hook: a version 2 snapshot hands each section's V2 hook
// the elements it asks for, byte for byte, after the core is loaded; a
// hook's error is ErrBadRecord.
func TestSnapshotV2Hook(t *testing.T) {
	full := goldenCardsState()
	v2 := must(snapshotV2Of(full))
	_, want, err := readSnapshotV2(v2)
	if err != nil {
		t.Fatal(err)
	}
	saved := snapshotSections
	t.Cleanup(func() { snapshotSections = saved })
	snapshotSections = slices.Clone(saved)
	var got []byte
	var partners int
	var hookErr error
	RegisterSnapshotSection(SnapshotSection{Name: "hook", Version: 1, Reads: []int{1}, Encode: encodeIdem, Decode: decodeIdem,
		V2: func(v *SnapshotV2, s *State) error {
			r := v.Reader(V2Wallets, V2Cards)
			got, _ = io.ReadAll(r.rd) // everything left unread: both elements
			partners = len(s.Partners)
			return hookErr
		}})
	s, err := DecodeSnapshot(v2)
	if err != nil {
		t.Fatal(err)
	}
	if w := append(slices.Clone(want.elems[V2Wallets]), want.elems[V2Cards]...); !bytes.Equal(got, w) || len(w) < 4 {
		t.Fatalf("the hook read %x, want %x", got, w)
	}
	if partners != len(full.Partners) || statesEqual(s, full) != "" {
		t.Fatalf("the hook saw %d partners; state differs in %q", partners, statesEqual(s, full))
	}
	hookErr = errors.New("refused")
	if _, err := DecodeSnapshot(v2); !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), "hook: refused") {
		t.Fatalf("a hook's error: %v", err)
	}
}
