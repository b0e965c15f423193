package paychat

import (
	"testing"

	"ledgerd/engine"
)

// FuzzDecodeEvents: any bytes decode to events that re-encode to the same
// bytes, or to an error; never a panic. The seeds are every event type.
func FuzzDecodeEvents(f *testing.F) {
	enc := engine.NewEncoder()
	for _, ev := range scenario() {
		b, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte(nil), b...))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := engine.DecodeBatch(data)
		if err != nil {
			return
		}
		again, err := engine.NewEncoder().EncodeBatch(evs)
		if err != nil {
			t.Fatalf("decoded events do not encode: %v", err)
		}
		if string(again) != string(data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzDecodeSection: the section decoder refuses or loads; what it loads
// encodes back to the same bytes.
func FuzzDecodeSection(f *testing.F) {
	f.Add(encode(f, engine.NewState()))
	f.Add(encode(f, applyAll(scenario())))
	f.Add(encode(f, applyAll(scenario()[:9])))
	f.Fuzz(func(t *testing.T, data []byte) {
		st := engine.NewState()
		if err := decodeSection(1, data, st); err != nil {
			return
		}
		if again := encode(t, st); string(again) != string(data) {
			t.Fatalf("re-encoding differs")
		}
	})
}
