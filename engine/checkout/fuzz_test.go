package checkout_test

import (
	"testing"

	"ledgerd/engine"
)

// FuzzDecodeEvents: the record decoder on checkout's events never panics,
// and what it accepts re-encodes to the same bytes.
func FuzzDecodeEvents(f *testing.F) {
	for _, ev := range samples() {
		b, err := engine.NewEncoder().EncodeBatch([]engine.Event{ev})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := engine.DecodeBatch(data)
		if err != nil {
			return
		}
		again, err := engine.NewEncoder().EncodeBatch(evs)
		if err != nil || string(again) != string(data) {
			t.Fatalf("accepted bytes re-encode differently (%v)", err)
		}
	})
}

// FuzzDecodeSection: the snapshot decoder on a state holding checkout's
// section never panics, and what it accepts re-encodes to the same bytes.
func FuzzDecodeSection(f *testing.F) {
	st := engine.NewState()
	for _, ev := range samples() {
		st.Apply(ev)
	}
	snap, err := st.EncodeSnapshot()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(snap)
	empty, _ := engine.NewState().EncodeSnapshot()
	f.Add(empty)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := engine.DecodeSnapshot(data)
		if err != nil {
			return
		}
		again, err := s.EncodeSnapshot()
		if err != nil {
			t.Fatalf("accepted snapshot does not encode: %v", err)
		}
		if _, err := engine.DecodeSnapshot(again); err != nil {
			t.Fatalf("re-encoded snapshot refused: %v", err)
		}
	})
}
