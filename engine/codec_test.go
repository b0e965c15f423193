package engine_test

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
)

func TestBatchRoundTripEveryType(t *testing.T) {
	enc := engine.NewEncoder()
	for _, ev := range sampleEvents() {
		data, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			t.Fatalf("type %d: %v", ev.EventType(), err)
		}
		got, err := engine.DecodeBatch(data)
		if err != nil {
			t.Fatalf("type %d: decode: %v", ev.EventType(), err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], ev) {
			t.Fatalf("type %d round trip:\n got %+v\nwant %+v", ev.EventType(), got, ev)
		}
	}
	// All types in one batch, and an empty batch.
	all := sampleEvents()
	data, err := enc.EncodeBatch(all)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeBatch(data)
	if err != nil || !reflect.DeepEqual(got, all) {
		t.Fatalf("batch round trip: %v\n got %+v", err, got)
	}
	data, err = enc.EncodeBatch(nil)
	if err != nil || !bytes.Equal(data, []byte{0x90}) {
		t.Fatalf("empty batch: %x %v", data, err)
	}
	if got, err := engine.DecodeBatch(data); err != nil || len(got) != 0 {
		t.Fatalf("decode empty batch: %v %v", got, err)
	}
}

// TestEveryRegisteredTypeRoundTrips: every event type with a table row
// (1..255) has a sample, and each sample encodes, decodes to an equal
// event and encodes again to the same bytes.
func TestEveryRegisteredTypeRoundTrips(t *testing.T) {
	all := append(sampleEvents(), logOnlySamples()...)
	samples := map[engine.EventType]engine.Event{}
	for _, ev := range all {
		samples[ev.EventType()] = ev // the last of a type; every sample is checked below too
	}
	for typ := 1; typ <= 255; typ++ {
		et := engine.EventType(typ)
		if _, ok := samples[et]; engine.Known(et) != ok {
			t.Errorf("type %d (%q): registered %v, sampled %v", typ, engine.Name(et), engine.Known(et), ok)
		}
	}
	enc := engine.NewEncoder()
	for _, ev := range all {
		name := engine.Name(ev.EventType())
		first, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		first = bytes.Clone(first)
		got, err := engine.DecodeBatch(first)
		if err != nil || len(got) != 1 {
			t.Fatalf("%s: decode: %v", name, err)
		}
		if got[0].EventType() != ev.EventType() || got[0].Time() != ev.Time() || !reflect.DeepEqual(got[0], ev) {
			t.Fatalf("%s: decodes to %+v, want %+v", name, got[0], ev)
		}
		again, err := enc.EncodeBatch(got)
		if err != nil || !bytes.Equal(again, first) {
			t.Fatalf("%s: re-encodes as %x (%v), first %x", name, again, err, first)
		}
	}
}

// TestDecodeBatchUnknownType: a type without a table row is a format this
// binary does not know (a newer log), not corruption.
func TestDecodeBatchUnknownType(t *testing.T) {
	if engine.Known(17) || engine.Known(255) {
		t.Fatal("types 17 and 255 are registered: pick unknown ones")
	}
	good, err := engine.NewEncoder().EncodeBatch(sampleEvents()[:1])
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"type 17":                   batchOf(newRaw().arr(3).i(17).i(1).i(1).out()),
		"type 255":                  batchOf(newRaw().arr(8).i(255).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out()),
		"type 255 without fields":   batchOf(newRaw().arr(2).i(255).i(1).out()),
		"type 17 after a known one": batchOf(good[1:], newRaw().arr(3).i(17).i(1).i(1).out()),
	} {
		got, err := engine.DecodeBatch(data)
		switch {
		case err == nil:
			t.Errorf("%s: accepted as %+v", name, got)
		case !errors.Is(err, engine.ErrUnknownEventType):
			t.Errorf("%s: error %v does not wrap ErrUnknownEventType", name, err)
		case errors.Is(err, engine.ErrBadRecord):
			t.Errorf("%s: error %v wraps ErrBadRecord", name, err)
		}
	}
	// The message names the type and the event, so recovery stops and says
	// what it met instead of treating the entry as corrupt.
	for _, typ := range []int64{int64(paypay.EvAttemptsExpired) + 1, 200, 255} {
		ok := must(engine.NewEncoder().EncodeBatch([]engine.Event{&engine.ReferencesExpired{Stamp: at(1), CutoffMs: 1}}))
		data := batchOf(ok[1:], newRaw().arr(3).i(typ).i(1).i(1).out())
		_, err := engine.DecodeBatch(data)
		if !errors.Is(err, engine.ErrUnknownEventType) || errors.Is(err, engine.ErrBadRecord) {
			t.Fatalf("type %d: err %v, want ErrUnknownEventType alone", typ, err)
		}
		if want := "unknown event type " + strconv.FormatInt(typ, 10); !strings.Contains(err.Error(), want) || !eventOne.MatchString(err.Error()) {
			t.Errorf("type %d: message %q does not name the type and the event", typ, err)
		}
	}
	// Type 0, negative or beyond a byte: never a valid type, so broken.
	for _, typ := range []int64{0, -1, 256} {
		_, err := engine.DecodeBatch(batchOf(newRaw().arr(3).i(typ).i(1).i(1).out()))
		if !errors.Is(err, engine.ErrBadRecord) || errors.Is(err, engine.ErrUnknownEventType) {
			t.Errorf("type %d: err %v, want ErrBadRecord", typ, err)
		}
	}
}

// eventOne finds the second event of a batch named in a message ("event 1:"
// or "event 1 of the batch").
var eventOne = regexp.MustCompile(`\bevent 1\b`)

// TestBatchEncodeWritesOnlyTypeFields: an event is written as its type,
// its time and the fields its table row lists, nothing else.
func TestBatchEncodeWritesOnlyTypeFields(t *testing.T) {
	ev := &engine.PartnerStatusChanged{Stamp: at(5), Partner: "p", Status: engine.StatusActive}
	data, err := engine.NewEncoder().EncodeBatch([]engine.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if want := batchOf(newRaw().arr(4).i(int64(engine.EvPartnerStatus)).i(5).s("p").s(engine.StatusActive).out()); !bytes.Equal(data, want) {
		t.Fatalf("encoded %x, want %x", data, want)
	}
	got, err := engine.DecodeBatch(data)
	want := &engine.PartnerStatusChanged{Stamp: at(5), Partner: "p", Status: engine.StatusActive}
	if err != nil || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("got %+v %v", got, err)
	}
}

func TestBatchEncodeUnknownType(t *testing.T) {
	for _, typ := range []engine.EventType{0, 17, 255} {
		_, err := engine.NewEncoder().EncodeBatch([]engine.Event{&unknownEvent{typ: typ}})
		if !errors.Is(err, engine.ErrBadRecord) || !errors.Is(err, engine.ErrUnknownEventType) {
			t.Errorf("type %d: err %v", typ, err)
		}
	}
}

func TestBatchGolden(t *testing.T) {
	data, err := engine.NewEncoder().EncodeBatch(sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "batch_v1.golden", data)
	// The golden bytes must decode to the same events, whatever the encoder.
	want, err := readGolden("batch_v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeBatch(want)
	if err != nil || !reflect.DeepEqual(got, sampleEvents()) {
		t.Fatalf("golden batch decodes to %+v, %v", got, err)
	}
}

// deductRecord returns the raw fields of a valid Deducted event, with mod
// applied to the field list before encoding (index 0 is the type).
func deductRecord(mod func(r *raw, field int) bool) []byte {
	r := newRaw().arr(8)
	vals := []any{int64(payshards.EvDeducted), int64(1), "p", "u", "ref", int64(10), int64(90), int64(0)}
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

// deductField is a batch of deductRecord with field i written by put.
func deductField(i int, put func(r *raw)) []byte {
	return batchOf(deductRecord(func(r *raw, f int) bool {
		if f == i {
			put(r)
			return true
		}
		return false
	}))
}

func TestDecodeBatchRejects(t *testing.T) {
	valid, err := engine.NewEncoder().EncodeBatch(sampleEvents())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.DecodeBatch(batchOf(deductRecord(nil))); err != nil {
		t.Fatalf("control record rejected: %v", err)
	}
	field := deductField
	long := strings.Repeat("x", maxStringLen+1)
	const MaxAmount, MaxBalance = engine.MaxAmount, engine.MaxBalance

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
		got, err := engine.DecodeBatch(data)
		if err == nil {
			t.Errorf("%s: accepted %x as %+v", name, data, got)
		} else if !errors.Is(err, engine.ErrBadRecord) {
			t.Errorf("%s: error %v does not wrap ErrBadRecord", name, err)
		}
	}
	// An unregistered type is refused as unknown, not as corrupt (it used
	// to be ErrBadRecord; see TestDecodeBatchUnknownType).
	data := batchOf(newRaw().arr(8).i(255).i(1).s("p").s("u").s("r").i(1).i(1).i(0).out())
	if got, err := engine.DecodeBatch(data); err == nil {
		t.Errorf("unknown type 255: accepted as %+v", got)
	} else if !errors.Is(err, engine.ErrUnknownEventType) {
		t.Errorf("unknown type 255: error %v does not wrap ErrUnknownEventType", err)
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
		if got, err := engine.DecodeBatch(data); err == nil {
			t.Errorf("%s: accepted as %+v (value wrapped modulo 256)", name, got[0])
		}
	}
}

// TestDecodeBatchCanonical: a record the decoder accepts must be the one
// the encoder writes, so a record has one byte form (the fuzz property).
// msgpack's generic readers also accept nil for ints and strings, wider int
// formats than needed and bin for str.
func TestDecodeBatchCanonical(t *testing.T) {
	field := deductField
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
	enc := engine.NewEncoder()
	for name, data := range cases {
		evs, err := engine.DecodeBatch(data)
		if err != nil {
			continue // rejecting is fine
		}
		again, err := enc.EncodeBatch(evs)
		if err != nil || !bytes.Equal(again, data) {
			t.Errorf("%s: accepted %x, which re-encodes as %x", name, data, again)
		}
	}
}

func TestDecodeBatchLimits(t *testing.T) {
	// maxStringLen is accepted, one more is not (checked above).
	ev := &payshards.Credited{User: strings.Repeat("u", maxStringLen), Reference: "r", Amount: engine.MaxAmount, BalanceAfter: engine.MaxBalance}
	data, err := engine.NewEncoder().EncodeBatch([]engine.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeBatch(data)
	if err != nil {
		t.Fatalf("limits: %v", err)
	}
	if c, ok := got[0].(*payshards.Credited); !ok || c.User != ev.User || c.Amount != engine.MaxAmount || c.BalanceAfter != engine.MaxBalance {
		t.Fatalf("limits: %+v", got[0])
	}
	// A batch of many small events decodes; the count check is against the
	// data length, not a fixed small number.
	evs := make([]engine.Event, 1000)
	for i := range evs {
		evs[i] = &engine.PartnerStatusChanged{Partner: "p", Status: engine.StatusActive, Stamp: at(int64(i))}
	}
	data, err = engine.NewEncoder().EncodeBatch(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err = engine.DecodeBatch(data)
	if err != nil || len(got) != 1000 || got[999].Time() != 999 {
		t.Fatalf("1000 events: %d %v", len(got), err)
	}
	// Negative times and a zero rate limit are in range.
	pc := &engine.PartnerCreated{Stamp: at(-5), Partner: "p", Key: key("key_1", 3, "abcd")}
	data, _ = engine.NewEncoder().EncodeBatch([]engine.Event{pc})
	if got, err := engine.DecodeBatch(data); err != nil || got[0].Time() != -5 {
		t.Fatalf("negative time: %+v %v", got, err)
	}
}

func TestEncoderReuse(t *testing.T) {
	enc := engine.NewEncoder()
	evs := sampleEvents()
	a, _ := enc.EncodeBatch(evs)
	a = append([]byte(nil), a...)
	_, _ = enc.EncodeBatch(evs[:1])
	b, _ := enc.EncodeBatch(evs)
	if !bytes.Equal(a, b) {
		t.Fatal("an Encoder's output depends on earlier calls")
	}
}
