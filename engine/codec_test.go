package engine

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func derefs(evs []*Event) []Event {
	out := make([]Event, len(evs))
	for i, e := range evs {
		out[i] = *e
	}
	return out
}

func TestBatchRoundTripEveryType(t *testing.T) {
	enc := NewEncoder()
	for _, ev := range sampleEvents() {
		data, err := enc.EncodeBatch([]*Event{ev})
		if err != nil {
			t.Fatalf("type %d: %v", ev.Type, err)
		}
		got, err := DecodeBatch(data)
		if err != nil {
			t.Fatalf("type %d: decode: %v", ev.Type, err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], *ev) {
			t.Fatalf("type %d round trip:\n got %+v\nwant %+v", ev.Type, got, *ev)
		}
	}
	// All types in one batch, and an empty batch.
	all := sampleEvents()
	data, err := enc.EncodeBatch(all)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(data)
	if err != nil || !reflect.DeepEqual(got, derefs(all)) {
		t.Fatalf("batch round trip: %v\n got %+v", err, got)
	}
	data, err = enc.EncodeBatch(nil)
	if err != nil || !bytes.Equal(data, []byte{0x90}) {
		t.Fatalf("empty batch: %x %v", data, err)
	}
	if got, err := DecodeBatch(data); err != nil || len(got) != 0 {
		t.Fatalf("decode empty batch: %v %v", got, err)
	}
}

func TestBatchEncodeIgnoresUnusedFields(t *testing.T) {
	// Fields a type does not list are not written: they decode as zero.
	ev := Event{Type: EvPartnerStatus, TimeMs: 5, Partner: "p", Status: StatusActive, User: "u", Amount: 9, KeyHash: []byte{1}}
	data, err := NewEncoder().EncodeBatch([]*Event{&ev})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(data)
	want := Event{Type: EvPartnerStatus, TimeMs: 5, Partner: "p", Status: StatusActive}
	if err != nil || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestBatchEncodeUnknownType(t *testing.T) {
	for _, typ := range []EventType{0, EvAttemptsExpired + 1, 255} {
		_, err := NewEncoder().EncodeBatch([]*Event{{Type: typ}})
		if !errors.Is(err, ErrBadRecord) {
			t.Errorf("type %d: err %v", typ, err)
		}
	}
}

func TestBatchGolden(t *testing.T) {
	data, err := NewEncoder().EncodeBatch(sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "batch_v1.golden", data)
	// The golden bytes must decode to the same events, whatever the encoder.
	want, err := readGolden("batch_v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(want)
	if err != nil || !reflect.DeepEqual(got, derefs(sampleEvents())) {
		t.Fatalf("golden batch decodes to %+v, %v", got, err)
	}
}

// event encodes one hand-made event record as a batch of one.
func batchOf(events ...[]byte) []byte {
	r := newRaw().arr(len(events))
	for _, e := range events {
		r.bytes(e...)
	}
	return r.out()
}

// goodDeduct returns the raw fields of a valid Deducted event, with f
// applied to the field list before encoding (index 0 is the type).
func deductRecord(mod func(r *raw, field int) bool) []byte {
	r := newRaw().arr(8)
	vals := []any{int64(EvDeducted), int64(1), "p", "u", "ref", int64(10), int64(90), int64(0)}
	for i, v := range vals {
		if mod != nil && mod(r, i) {
			continue
		}
		switch v := v.(type) {
		case int64:
			r.i(v)
		case string:
			r.s(v)
		}
	}
	return r.out()
}

func TestDecodeBatchRejects(t *testing.T) {
	valid, err := NewEncoder().EncodeBatch(sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBatch(batchOf(deductRecord(nil))); err != nil {
		t.Fatalf("control record rejected: %v", err)
	}
	field := func(i int, put func(r *raw)) []byte {
		return batchOf(deductRecord(func(r *raw, f int) bool {
			if f == i {
				put(r)
				return true
			}
			return false
		}))
	}
	long := strings.Repeat("x", maxStringLen+1)

	cases := map[string][]byte{
		"nil input":             nil,
		"empty input":           {},
		"not an array":          {0x01},
		"nil batch":             {0xc0},
		"trailing byte":         append(append([]byte(nil), valid...), 0x00),
		"trailing batch":        append(append([]byte(nil), valid...), valid...),
		"truncated":             valid[:len(valid)-1],
		"count > events":        newRaw().arr(2).bytes(deductRecord(nil)...).out(),
		"count > len(data)":     newRaw().arr(1000).out(),
		"count > max":           newRaw().bytes(0xdd, 0x00, 0x01, 0x00, 0x01).out(),
		"event not array":       newRaw().arr(1).i(4).out(),
		"event nil":             newRaw().arr(1).nil().out(),
		"type not int":          batchOf(newRaw().arr(8).s("4").out()),
		"unknown type 0":        batchOf(newRaw().arr(2).i(0).i(1).out()),
		"unknown type 9":        batchOf(newRaw().arr(8).i(9).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out()),
		"negative type":         batchOf(newRaw().arr(8).i(-4).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out()),
		"deduct 7 fields":       batchOf(newRaw().arr(7).i(4).i(1).s("p").s("u").s("r").i(1).i(1).out()),
		"deduct 9 fields":       batchOf(newRaw().arr(9).i(4).i(1).s("p").s("u").s("r").i(1).i(1).i(0).i(0).out()),
		"credit 8 fields":       batchOf(newRaw().arr(8).i(3).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out()),
		"credit 5 fields":       batchOf(newRaw().arr(5).i(3).i(1).s("u").s("r").i(1).out()),
		"status 3 fields":       batchOf(newRaw().arr(3).i(2).i(1).s("p").out()),
		"status 5 fields":       batchOf(newRaw().arr(5).i(2).i(1).s("p").s("active").s("x").out()),
		"created 6 fields":      batchOf(newRaw().arr(6).i(1).i(1).s("p").s("a").s("n").i(1).out()),
		"created 8 fields":      batchOf(newRaw().arr(8).i(1).i(1).s("p").s("a").s("n").i(1).b(keyHash(1)).i(0).out()),
		"amount zero":           field(5, func(r *raw) { r.i(0) }),
		"amount negative":       field(5, func(r *raw) { r.i(-1) }),
		"amount > MaxAmount":    field(5, func(r *raw) { r.i(MaxAmount + 1) }),
		"amount int64 min":      field(5, func(r *raw) { r.i(-1 << 63) }),
		"amount uint64 wrap":    field(5, func(r *raw) { r.bytes(0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff) }),
		"balance negative":      field(6, func(r *raw) { r.i(-1) }),
		"balance > max":         field(6, func(r *raw) { r.i(MaxBalance + 1) }),
		"code 4":                field(7, func(r *raw) { r.i(4) }),
		"code -1":               field(7, func(r *raw) { r.i(-1) }),
		"amount string":         field(5, func(r *raw) { r.s("10") }),
		"user int":              field(3, func(r *raw) { r.i(1) }),
		"reference too long":    field(4, func(r *raw) { r.s(long) }),
		"credit amount 0":       batchOf(newRaw().arr(6).i(3).i(1).s("u").s("r").i(0).i(0).out()),
		"credit balance > max":  batchOf(newRaw().arr(6).i(3).i(1).s("u").s("r").i(1).i(MaxBalance + 1).out()),
		"status unknown":        batchOf(newRaw().arr(4).i(2).i(1).s("p").s("paused").out()),
		"status empty":          batchOf(newRaw().arr(4).i(2).i(1).s("p").s("").out()),
		"created empty id":      batchOf(newRaw().arr(7).i(1).i(1).s("").s("a").s("n").i(1).b(keyHash(1)).out()),
		"created short hash":    batchOf(newRaw().arr(7).i(1).i(1).s("p").s("a").s("n").i(1).b(keyHash(1)[:31]).out()),
		"created long hash":     batchOf(newRaw().arr(7).i(1).i(1).s("p").s("a").s("n").i(1).b(append(keyHash(1), 0)).out()),
		"created neg limit":     batchOf(newRaw().arr(7).i(1).i(1).s("p").s("a").s("n").i(-1).b(keyHash(1)).out()),
		"created name too long": batchOf(newRaw().arr(7).i(1).i(1).s("p").s("a").s(long).i(1).b(keyHash(1)).out()),
		"expired 2 fields":      batchOf(newRaw().arr(2).i(8).i(1).out()),
		"expired 4 fields":      batchOf(newRaw().arr(4).i(8).i(1).i(5).i(0).out()),
		"expired cutoff < 0":    batchOf(newRaw().arr(3).i(8).i(1).i(-1).out()),
		"expired cutoff string": batchOf(newRaw().arr(3).i(8).i(1).s("5").out()),
		"type 8 as deduct":      batchOf(newRaw().arr(8).i(8).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out()),
		"garbage":               []byte("hello, world"),
	}
	for name, data := range cases {
		got, err := DecodeBatch(data)
		if err == nil {
			t.Errorf("%s: accepted %x as %+v", name, data, got)
		} else if !errors.Is(err, ErrBadRecord) {
			t.Errorf("%s: error %v does not wrap ErrBadRecord", name, err)
		}
	}
}

// TestDecodeBatchTruncatedIntegers: EventType and Code are uint8 on the
// wire side of Go, but the record stores them as msgpack ints. A value that
// does not fit must be rejected, not wrapped modulo 256 into another type or
// code.
func TestDecodeBatchTruncatedIntegers(t *testing.T) {
	cases := map[string][]byte{
		// 257 = 0x101 wraps to EvPartnerCreated.
		"type 257": batchOf(newRaw().arr(7).i(257).i(1).s("p").s("a").s("n").i(1).b(keyHash(1)).out()),
		// 260 wraps to EvDeducted.
		"type 260": batchOf(newRaw().arr(8).i(260).i(1).s("p").s("u").s("r").i(10).i(0).i(0).out()),
		// 256 wraps to CodeOK, 259 to CodeRefundExceeds.
		"code 256": batchOf(newRaw().arr(8).i(4).i(1).s("p").s("u").s("r").i(10).i(0).i(256).out()),
		"code 259": batchOf(newRaw().arr(8).i(7).i(1).s("p").s("u").s("r").i(10).i(0).i(259).out()),
	}
	for name, data := range cases {
		if got, err := DecodeBatch(data); err == nil {
			t.Errorf("%s: accepted as type %d code %d (value wrapped modulo 256)", name, got[0].Type, got[0].Code)
		}
	}
}

// TestDecodeBatchCanonical: a record the decoder accepts must be the one
// the encoder writes, so a record has one byte form (the fuzz property).
// msgpack's generic readers also accept nil for ints and strings, wider int
// formats than needed and bin for str.
func TestDecodeBatchCanonical(t *testing.T) {
	field := func(i int, put func(r *raw)) []byte {
		return batchOf(deductRecord(func(r *raw, f int) bool {
			if f == i {
				put(r)
				return true
			}
			return false
		}))
	}
	cases := map[string][]byte{
		"amount as uint8":   field(5, func(r *raw) { r.bytes(0xcc, 10) }),
		"amount as int64":   field(5, func(r *raw) { r.bytes(0xd3, 0, 0, 0, 0, 0, 0, 0, 10) }),
		"time as nil":       field(1, func(r *raw) { r.nil() }),
		"code as nil":       field(7, func(r *raw) { r.nil() }),
		"user as nil":       field(3, func(r *raw) { r.nil() }),
		"user as str8":      field(3, func(r *raw) { r.bytes(0xd9, 1, 'u') }),
		"user as bin8":      field(3, func(r *raw) { r.bytes(0xc4, 1, 'u') }),
		"batch len array16": append([]byte{0xdc, 0, 1}, deductRecord(nil)...),
	}
	enc := NewEncoder()
	for name, data := range cases {
		evs, err := DecodeBatch(data)
		if err != nil {
			continue // rejecting is fine
		}
		ptrs := make([]*Event, len(evs))
		for i := range evs {
			ptrs[i] = &evs[i]
		}
		again, err := enc.EncodeBatch(ptrs)
		if err != nil || !bytes.Equal(again, data) {
			t.Errorf("%s: accepted %x, which re-encodes as %x", name, data, again)
		}
	}
}

func TestDecodeBatchLimits(t *testing.T) {
	// maxStringLen is accepted, one more is not (checked above).
	ev := &Event{Type: EvCredited, User: strings.Repeat("u", maxStringLen), Reference: "r", Amount: MaxAmount, Balance: MaxBalance}
	data, err := NewEncoder().EncodeBatch([]*Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeBatch(data); err != nil || got[0].User != ev.User || got[0].Amount != MaxAmount || got[0].Balance != MaxBalance {
		t.Fatalf("limits: %v", err)
	}
	// A batch of many small events decodes; the count check is against the
	// data length, not a fixed small number.
	evs := make([]*Event, 1000)
	for i := range evs {
		evs[i] = &Event{Type: EvPartnerStatus, Partner: "p", Status: StatusActive, TimeMs: int64(i)}
	}
	data, err = NewEncoder().EncodeBatch(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(data)
	if err != nil || len(got) != 1000 || got[999].TimeMs != 999 {
		t.Fatalf("1000 events: %d %v", len(got), err)
	}
	// Negative times and a zero rate limit are in range.
	ev = &Event{Type: EvPartnerCreated, TimeMs: -5, Partner: "p", KeyID: "key_1", KeyHint: "abcd", KeyHash: keyHash(3)}
	data, _ = NewEncoder().EncodeBatch([]*Event{ev})
	if got, err := DecodeBatch(data); err != nil || got[0].TimeMs != -5 {
		t.Fatalf("negative time: %+v %v", got, err)
	}
}

func TestEncoderReuse(t *testing.T) {
	enc := NewEncoder()
	evs := sampleEvents()
	a, _ := enc.EncodeBatch(evs)
	a = append([]byte(nil), a...)
	_, _ = enc.EncodeBatch(evs[:1])
	b, _ := enc.EncodeBatch(evs)
	if !bytes.Equal(a, b) {
		t.Fatal("an Encoder's output depends on earlier calls")
	}
}
