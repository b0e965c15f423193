package engine_test

import (
	"bytes"
	"reflect"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// The fuzz targets decode records of every event type, so they live in
// the external test package, where the modules are registered.

func FuzzDecodeBatch(f *testing.F) {
	addBatchSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := engine.DecodeBatch(data)
		if err != nil {
			return
		}
		for i, ev := range evs {
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("accepted event %d fails Validate: %v", i, err)
			}
		}
		again, err := engine.NewEncoder().EncodeBatch(evs)
		if err != nil {
			t.Fatalf("accepted batch does not re-encode: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("accepted batch re-encodes differently:\n in %x\nout %x", data, again)
		}
	})
}

// FuzzDecodeBatchOf: the filtered decoder never panics; wanting every
// type it accepts and refuses exactly what DecodeBatch does; on a batch
// DecodeBatch accepts it returns exactly the wanted events, in order.
func FuzzDecodeBatchOf(f *testing.F) {
	addBatchSeeds(f)
	odd := func(t engine.EventType) bool { return t%2 == 1 }
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := engine.DecodeBatch(data)
		all, errAll := engine.DecodeBatchOf(data, func(engine.EventType) bool { return true })
		if (err == nil) != (errAll == nil) || (err == nil && !reflect.DeepEqual(evs, all) && len(evs)+len(all) > 0) {
			t.Fatalf("wanting all: %v, %v; DecodeBatch: %v", all, errAll, err)
		}
		some, errSome := engine.DecodeBatchOf(data, odd)
		if err != nil {
			return
		}
		var want []engine.Event
		for _, ev := range evs {
			if odd(ev.EventType()) {
				want = append(want, ev)
			}
		}
		if errSome != nil || !reflect.DeepEqual(some, want) {
			t.Fatalf("odd types: %v (%v), want %v", some, errSome, want)
		}
	})
}

func addBatchSeeds(f *testing.F) {
	enc := engine.NewEncoder()
	for _, ev := range sampleEvents() {
		data, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte(nil), data...))
	}
	all, _ := enc.EncodeBatch(sampleEvents())
	f.Add(append([]byte(nil), all...))
	some, _ := enc.EncodeBatch(randomEvents(7, 40))
	f.Add(append([]byte(nil), some...))
	// Cards traffic: keys, codes, attempts with and without keys, expiries.
	more, _ := enc.EncodeBatch(randomEvents(9, 120)[60:])
	f.Add(append([]byte(nil), more...))
	big, _ := enc.EncodeBatch([]engine.Event{&paypay.CodesIssued{Stamp: at(1), Partner: "p", Tier: "t", Label: "l", ExpiresMs: 2,
		Codes: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q"}}})
	f.Add(append([]byte(nil), big...))
	f.Add([]byte{0x90})
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add(append(append([]byte(nil), all...), 0))
}

func FuzzDecodeSnapshot(f *testing.F) {
	add := func(s *engine.State) {
		data, err := s.EncodeSnapshot()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	add(engine.NewState())
	add(goldenState())
	add(applyAll(engine.NewState(), randomEvents(8, 60)))
	add(goldenCardsState())
	add(applyAll(engine.NewState(), randomEvents(9, 300)))
	for _, s := range []*engine.State{goldenState(), goldenCardsState(), applyAll(engine.NewState(), randomEvents(8, 60))} {
		v2, err := engine.SnapshotV2Of(s) // the released format, read for good
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v2)
	}
	f.Add([]byte{0x92, 0x63, 0x90}) // container version 99
	f.Add([]byte{})
	f.Add([]byte("garbage"))
	f.Add([]byte{0x97, 0x01, 0x00, 0x00, 0xc0, 0xc0, 0xc0, 0xc0})
	f.Add([]byte{0x97, 0x01, 0x00, 0x00, 0xc0, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff})

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
		if diff := statesEqual(s, s2); diff != "" {
			t.Fatalf("re-encoded snapshot decodes to a different state (%s)", diff)
		}
		if enc2, err := s2.EncodeSnapshot(); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatal("snapshot encoding is not a fixed point")
		}
	})
}
