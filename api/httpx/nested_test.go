package httpx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// payment is a PaySmart-like request: the shape ReadObject is for.
type payment struct {
	amountMinor int64
	currency    string
	methodType  string
	card        card
	metadata    map[string]string
	tags        []string
}

type card struct {
	number             string
	expMonth, expYear  int64
	cvc                string
	haveNumber, haveMo bool
}

const maxMetadataKeys = 20

// decodePayment is how an API module decodes a nested body: one callback
// per object, a switch on the key, UnknownField for the rest.
func decodePayment(body []byte) (payment, error) {
	var p payment
	err := ReadObject(body, func(key []byte, v Value) error {
		var err error
		switch string(key) {
		case "amount":
			p.amountMinor, err = Integer(v, 1, 1<<53-1)
		case "currency":
			p.currency, err = PrintableString(v, 3)
		case "payment_method":
			err = v.Object(func(key []byte, v Value) error {
				switch string(key) {
				case "type":
					p.methodType, err = PrintableString(v, 16)
					return err
				case "card":
					return v.Object(p.card.member)
				}
				return UnknownField(key)
			})
		case "metadata":
			p.metadata = map[string]string{}
			err = v.Object(func(key []byte, v Value) error {
				if len(p.metadata) == maxMetadataKeys {
					return errors.New("too many metadata keys")
				}
				s, err := PrintableString(v, 500)
				p.metadata[string(key)] = s
				return err
			})
		case "tags":
			err = v.Array(func(_ int, v Value) error {
				s, err := PrintableString(v, 40)
				p.tags = append(p.tags, s)
				return err
			})
		default:
			err = UnknownField(key)
		}
		return err
	})
	return p, err
}

func (c *card) member(key []byte, v Value) error {
	var err error
	switch string(key) {
	case "number":
		c.number, err = PrintableString(v, 19)
		c.haveNumber = true
	case "exp_month":
		c.expMonth, err = Integer(v, 1, 12)
		c.haveMo = true
	case "exp_year":
		c.expYear, err = Integer(v, 2000, 2100)
	case "cvc":
		c.cvc, err = PrintableString(v, 4)
	default:
		err = UnknownField(key)
	}
	return err
}

const paySmartBody = `{"amount":2000,"currency":"usd","payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}},"metadata":{"order_id":"6735"}}`

func TestReadObjectNested(t *testing.T) {
	p, err := decodePayment([]byte(paySmartBody))
	if err != nil {
		t.Fatal(err)
	}
	want := payment{amountMinor: 2000, currency: "usd", methodType: "card",
		card:     card{number: "4242424242424242", expMonth: 12, expYear: 2030, cvc: "123", haveNumber: true, haveMo: true},
		metadata: map[string]string{"order_id": "6735"}}
	if fmt.Sprint(p) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", p, want)
	}
	p, err = decodePayment([]byte(`{"tags":["a","b\u00e9"],"metadata":{}}`))
	if err != nil || strings.Join(p.tags, ",") != "a,bé" || len(p.metadata) != 0 {
		t.Fatalf("tags %q metadata %v err %v", p.tags, p.metadata, err)
	}
}

func TestReadObjectRefusals(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"duplicate in card", `{"payment_method":{"card":{"cvc":"1","cvc":"2"}}}`, ErrDuplicateKey},
		{"duplicate escaped in metadata", `{"metadata":{"a":"1","\u0061":"2"}}`, ErrDuplicateKey},
		{"duplicate at top", `{"metadata":{},"metadata":{}}`, ErrDuplicateKey},
		{"unknown nested field", `{"payment_method":{"card":{"pin":"1"}}}`, ErrUnknownField},
		{"unknown top field", `{"amount":1,"extra":{}}`, ErrUnknownField},
		{"float amount", `{"amount":20.00}`, ErrNotInteger},
		{"invalid UTF-8 nested", "{\"metadata\":{\"a\":\"\xff\"}}", ErrSyntax},
		{"invalid UTF-8 nested key", "{\"metadata\":{\"\xc3\":\"a\"}}", ErrSyntax},
		{"lone surrogate in array", `{"tags":["\ud800"]}`, ErrSyntax},
		{"unclosed nested", `{"metadata":{"a":"b"}`, ErrSyntax},
		{"unclosed array", `{"tags":["a"}`, ErrSyntax},
		{"trailing comma in array", `{"tags":["a",]}`, ErrSyntax},
		{"trailing comma in object", `{"metadata":{"a":"b",}}`, ErrSyntax},
		{"wrong type nested", `{"payment_method":[]}`, errNotNestedValue},
		{"metadata not object", `{"metadata":"x"}`, errNotNestedValue},
	}
	for _, tc := range tests {
		if _, err := decodePayment([]byte(tc.in)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %q: error %v, want %v", tc.name, tc.in, err, tc.want)
		}
	}
}

// A value the callback does not read is still checked in full.
func TestReadObjectSkippedValuesChecked(t *testing.T) {
	for in, want := range map[string]error{
		`{"a":{"b":[{"c":1,"c":2}]}}`:       ErrDuplicateKey,
		"{\"a\":[\"\xff\"]}":                ErrSyntax,
		`{"a":{"b":01}}`:                    ErrSyntax,
		`{"a":[1 2]}`:                       ErrSyntax,
		`{"a":{"b":1}]}`:                    ErrSyntax,
		`{"a":[1}`:                          ErrSyntax,
		`{"a":{"b":[[[[[[[[1]]]]]]]]}}`:     ErrDepth,
		`{"a":{"b":[true,false,null,"x"]}}`: nil,
	} {
		err := ReadObject([]byte(in), func([]byte, Value) error { return nil })
		if !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("%q: error %v, want %v", in, err, want)
		}
	}
}

func nest(depth int) string {
	return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
}

func readAll(data string) error {
	var member func(key []byte, v Value) error
	var elem func(i int, v Value) error
	member = func(_ []byte, v Value) error { return readValue(v, member, elem) }
	elem = func(_ int, v Value) error { return readValue(v, member, elem) }
	return ReadObject([]byte(data), member)
}

func readValue(v Value, member func([]byte, Value) error, elem func(int, Value) error) error {
	switch v.Kind {
	case KindObject:
		return v.Object(member)
	case KindArray:
		return v.Array(elem)
	}
	return nil
}

func TestReadObjectLimits(t *testing.T) {
	list := func(n int, item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]"
	}
	arrays := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%s`, i, list(MaxElements-1, "0"))
		}
		return b.String() + "}"
	}
	key := func(n int) string { return `{"` + strings.Repeat("k", n) + `":1}` }
	tests := []struct {
		name, ok, over string
		want           error
	}{
		{"MaxDepth", nest(MaxDepth), nest(MaxDepth + 1), ErrDepth},
		{"MaxDepth arrays", `{"a":` + strings.Repeat("[", MaxDepth-1) + strings.Repeat("]", MaxDepth-1) + "}",
			`{"a":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}", ErrDepth},
		{"MaxElements", `{"a":` + list(MaxElements, "0") + `}`, `{"a":` + list(MaxElements+1, "0") + `}`, ErrTooManyItems},
		{"MaxFields nested", `{"a":` + obj(MaxFields) + `}`, `{"a":` + obj(MaxFields+1) + `}`, ErrTooDeep},
		{"MaxKeyBytes", key(MaxKeyBytes), key(MaxKeyBytes + 1), ErrKeyTooLong},
		// Each array is 1 value and MaxElements-1 elements.
		{"MaxValues", arrays(MaxValues / MaxElements), arrays(MaxValues/MaxElements + 1), ErrTooManyValues},
	}
	for _, tc := range tests {
		if err := readAll(tc.ok); err != nil {
			t.Errorf("%s: at the limit: %v", tc.name, err)
		}
		if err := readAll(tc.over); !errors.Is(err, tc.want) {
			t.Errorf("%s: over the limit: %v, want %v", tc.name, err, tc.want)
		}
		skip := ReadObject([]byte(tc.over), func([]byte, Value) error { return nil })
		if !errors.Is(skip, tc.want) {
			t.Errorf("%s: over the limit, skipped: %v, want %v", tc.name, skip, tc.want)
		}
	}
	// ParseObject keeps its own rules: no key length limit.
	if err := ParseObject([]byte(key(MaxKeyBytes+1)), func([]byte, Value) error { return nil }); err != nil {
		t.Errorf("ParseObject long key: %v", err)
	}
}

func obj(n int) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String() + "}"
}

// A callback that drops an error from inside a nested value cannot make
// the reader go on from the middle of that value.
func TestReadObjectDroppedErrorSticks(t *testing.T) {
	in := `{"a":{"x":{"y":1},"x":2},"b":{"z":1}}`
	err := ReadObject([]byte(in), func(key []byte, v Value) error {
		if string(key) == "a" {
			_ = v.Object(func([]byte, Value) error { return nil }) // ErrDuplicateKey, dropped
		}
		return nil
	})
	if !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("error %v, want ErrDuplicateKey", err)
	}
	stop := errors.New("stop")
	err = ReadObject([]byte(`{"a":{"x":{"y":1},"z":2},"b":1}`), func(key []byte, v Value) error {
		if string(key) == "a" {
			_ = v.Object(func(k []byte, v Value) error { return stop })
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want the dropped callback error", err)
	}
}

func TestReadObjectValueMisuse(t *testing.T) {
	var kept Value
	err := ReadObject([]byte(`{"c":[1],"a":{"b":1}}`), func(key []byte, v Value) error {
		switch string(key) {
		case "a":
			if err := v.Object(func([]byte, Value) error { return nil }); err != nil {
				return err
			}
			if err := v.Object(func([]byte, Value) error { return nil }); !errors.Is(err, ErrValueReused) {
				t.Errorf("second Object: %v", err)
			}
			return nil
		case "c":
			kept = v
			if err := v.Object(func([]byte, Value) error { return nil }); !errors.Is(err, errNotNestedValue) {
				t.Errorf("Object on an array: %v", err)
			}
		}
		return nil
	})
	if !errors.Is(err, ErrValueReused) {
		t.Fatalf("error %v, want ErrValueReused from the read-twice object", err)
	}
	if err := kept.Array(func(int, Value) error { return nil }); !errors.Is(err, ErrValueReused) {
		t.Fatalf("Array after ReadObject returned: %v", err)
	}
	if err := (Value{Kind: KindString}).Object(nil); !errors.Is(err, errNotNestedValue) {
		t.Fatalf("Object on a string: %v", err)
	}
}

func TestReadObjectFlatLikeParseObject(t *testing.T) {
	for _, in := range []string{`{}`, `{"a":1,"b":"x","c":true,"d":null}`, `{"a":1,"a":2}`, `[]`, `{"a":1}x`, "{\"a\":\"\xff\"}"} {
		var got, want []string
		errRead := ReadObject([]byte(in), func(k []byte, v Value) error { got = append(got, string(k)); return nil })
		errParse := ParseObject([]byte(in), func(k []byte, v Value) error { want = append(want, string(k)); return nil })
		if !errors.Is(errRead, errParse) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: ReadObject %v %v, ParseObject %v %v", in, got, errRead, want, errParse)
		}
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		lit    string
		digits int
		want   int64
		err    error
	}{
		{"20", 2, 2000, nil},
		{"20.5", 2, 2050, nil},
		{"20.05", 2, 2005, nil},
		{"20.500", 2, 2050, nil},
		{"0.01", 2, 1, nil},
		{"-0.01", 2, -1, nil},
		{"0", 0, 0, nil},
		{"-0", 2, 0, nil},
		{"12.345678", 6, 12345678, nil},
		{"0.000001", 6, 1, nil},
		{"9223372036854775807", 0, 1<<63 - 1, nil},
		{"-9223372036854775808", 0, -1 << 63, nil},
		{"922337203685477580.7", 1, 1<<63 - 1, nil},
		{"9223372036854775808", 0, 0, ErrOutOfRange},
		{"-9223372036854775809", 0, 0, ErrOutOfRange},
		{"92233720368547758.08", 2, 0, ErrOutOfRange},
		{"20.001", 2, 0, ErrNotDecimal},
		{"0.5", 0, 0, ErrNotDecimal},
		{"2e3", 2, 0, ErrNotDecimal},
		{"2E3", 2, 0, ErrNotDecimal},
		{"1.5e1", 2, 0, ErrNotDecimal},
	}
	for _, tc := range tests {
		var v Value
		err := ParseObject([]byte(`{"v":`+tc.lit+`}`), func(_ []byte, x Value) error { v = x; return nil })
		if err != nil {
			t.Fatalf("%s: %v", tc.lit, err)
		}
		got, err := Decimal(v, tc.digits, -1<<63, 1<<63-1)
		if !errors.Is(err, tc.err) || (tc.err == nil && (err != nil || got != tc.want)) {
			t.Errorf("Decimal(%s, %d) = %d, %v; want %d, %v", tc.lit, tc.digits, got, err, tc.want, tc.err)
		}
	}
	for _, text := range []string{"", "-", "+1", ".5", "5.", "01", "-01", " 1", "1 ", "1,5", "1.2.3", "0x10", "١"} {
		if _, err := ParseDecimal([]byte(text), 2, -1<<63, 1<<63-1); !errors.Is(err, ErrNotDecimal) {
			t.Errorf("ParseDecimal(%q): %v, want ErrNotDecimal", text, err)
		}
	}
	if n, err := ParseDecimal([]byte("10.50"), 2, 1, 100000); err != nil || n != 1050 {
		t.Errorf("ParseDecimal(10.50) = %d, %v", n, err)
	}
	if _, err := ParseDecimal([]byte("10.50"), 2, 1, 1000); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("ParseDecimal(10.50) above maximum: %v", err)
	}
	if _, err := ParseDecimal([]byte("1"), MaxFractionDigits+1, 0, 10); !errors.Is(err, ErrNotDecimal) {
		t.Errorf("fraction digits above MaxFractionDigits: %v", err)
	}
	if _, err := Decimal(Value{Kind: KindString, Str: []byte("1")}, 2, 0, 1000); !errors.Is(err, ErrNotDecimal) {
		t.Errorf("Decimal of a string: %v", err)
	}
}

func TestBool(t *testing.T) {
	if b, err := Bool(Value{Kind: KindTrue}); !b || err != nil {
		t.Error("true")
	}
	if b, err := Bool(Value{Kind: KindFalse}); b || err != nil {
		t.Error("false")
	}
	if _, err := Bool(Value{Kind: KindString, Str: []byte("true")}); !errors.Is(err, ErrNotBool) {
		t.Errorf("string: %v", err)
	}
}
