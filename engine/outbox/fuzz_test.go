package outbox_test

import (
	"bytes"
	"reflect"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// FuzzDecodeEvents: the decoders of this package's events accept only
// what re-encodes to the same bytes, and never panic.
func FuzzDecodeEvents(f *testing.F) {
	enc := engine.NewEncoder()
	for _, ev := range sampleEvents() {
		data, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bytes.Clone(data))
	}
	data, _ := enc.EncodeBatch(sampleEvents())
	f.Add(bytes.Clone(data))
	f.Add([]byte{0x91, 0x9a, 0x28})
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := engine.DecodeBatch(bytes.Clone(data))
		if err != nil {
			return
		}
		again, err := engine.NewEncoder().EncodeBatch(evs)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted batch re-encodes as %x (%v), was %x", again, err, data)
		}
	})
}

// FuzzDecodeSection: a snapshot the decoder accepts re-encodes to the
// same bytes and decodes to the same deliveries.
func FuzzDecodeSection(f *testing.F) {
	add := func(st *engine.State) {
		data, err := st.EncodeSnapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	id := delivery(0, nil).ID
	add(engine.NewState())
	add(stateWith(3))
	add(stateWith(2, attempt(id, 1, outbox.StatusFailed, 1), &outbox.DeliveryRetried{Stamp: engine.Stamp{TimeMs: 2}, ID: id}))
	st := engine.NewState()
	outbox.Enqueue(st, delivery(1, bytes.Repeat([]byte("x"), 9000)))
	add(st)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := engine.DecodeSnapshot(data)
		if err != nil {
			return
		}
		enc, err := s.EncodeSnapshot()
		if err != nil {
			t.Fatalf("accepted snapshot does not re-encode: %v", err)
		}
		s2, err := engine.DecodeSnapshot(enc)
		if err != nil {
			t.Fatalf("re-encoded snapshot is rejected: %v", err)
		}
		if !reflect.DeepEqual(outbox.Of(s).Deliveries, outbox.Of(s2).Deliveries) {
			t.Fatal("re-encoded snapshot decodes to other deliveries")
		}
		if enc2, err := s2.EncodeSnapshot(); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatal("snapshot encoding is not a fixed point")
		}
	})
}
