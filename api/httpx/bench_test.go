package httpx

import (
	"bytes"
	"errors"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// The two readers compared for nested request bodies, on the same bodies
// and doing the same work (every field checked and copied out, the same
// limits): (a) this package's hand-written reader, (b) jsontext, the
// tokenizer of go-json-experiment/json (Go's encoding/json/v2), which
// refuses duplicate names and invalid UTF-8 by default. Run with
//
//	go test -run XXX -bench Decode -benchtime 1s ./api/httpx
//
// Figures on the shared, busy 2-core AMD EPYC dev machine, go1.26.8,
// go-json-experiment/json v1.27.2, -benchtime 1s, two to three runs each
// (ns/op; B/op and allocs/op are the same for both readers in Decode, as
// they are the decoded strings and the metadata map themselves):
//
//	Decode (check and decode into a struct)   httpx (a)     jsontext (b)
//	payshards (flat)   32 B  3 allocs         390-505 ns    495-740 ns
//	paypay (flat)      24 B  1 alloc          190-205 ns    210-310 ns
//	paysmart (nested) 376 B  8 allocs         1030-1450 ns  1320-1940 ns
//
//	Check (whole body checked, nothing decoded; 0 allocs for both)
//	payshards                                 250-280 ns    170-210 ns
//	paypay                                    97-109 ns     83-91 ns
//	paysmart                                  620-690 ns    370-490 ns
//
//	ParseObject alone, before this reader: payshards 536 ns 48 B 4 allocs,
//	paypay 178 ns 8 B 1 alloc; after: 260 ns and 116 ns, 0 allocs.
//
// Choice: (a). jsontext validates a whole value faster, but a decoder
// does not validate and then decode: it walks the members, and reading
// names and values token by token through jsontext (ReadValue, then
// AppendUnquote) is 1.2-1.5x slower than (a)'s callbacks on every body.
// Strictness is equal on duplicates (at every level), invalid UTF-8 and
// lone surrogates (TestBenchReadersAgree, FuzzReadObject), but jsontext has
// no member, element, key length or value count limit of its own (its
// nesting limit is 10000), so (b) needs those checks by hand around it;
// (a) has them built in and adds no runtime dependency. jsontext stays as
// a test-only reference: FuzzReadObject checks (a) against it.

var benchBodies = []struct{ name, body string }{
	{"payshards", `{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"Pro export"}`},
	{"paypay", `{"code":"PP-ABCD-EFGH-JKMN"}`},
	{"paysmart", paySmartBody},
}

type flatCommand struct {
	userID, reference, description, code string
	amount                               int64
}

func flatMember(c *flatCommand) func(key []byte, v Value) error {
	return func(key []byte, v Value) error {
		var err error
		switch string(key) {
		case "userId":
			c.userID, err = PrintableString(v, 128)
		case "amount":
			c.amount, err = Integer(v, 1, 1<<53-1)
		case "reference":
			c.reference, err = PrintableString(v, 255)
		case "description":
			c.description, err = PrintableString(v, 1000)
		case "code":
			c.code, err = PrintableString(v, 64)
		default:
			err = UnknownField(key)
		}
		return err
	}
}

func decodeHTTPX(body []byte) error {
	if bytes.Contains(body, []byte("payment_method")) {
		_, err := decodePayment(body)
		return err
	}
	var c flatCommand
	return ReadObject(body, flatMember(&c))
}

// jt is reader (b): a jsontext.Decoder reused across bodies, with the
// limits (a) has built in.
type jt struct {
	dec  *jsontext.Decoder
	r    bytes.Reader
	name []byte
	str  []byte
}

var errJTLimit = errors.New("jsontext: over a limit")

// members reads one object's members, calling fn after each name; fn
// reads the value.
func (j *jt) members(fn func(key []byte) error) error {
	tok, err := j.dec.ReadToken()
	if err != nil {
		return err
	}
	if tok.Kind() != '{' {
		return errNotNestedValue
	}
	if j.dec.StackDepth() > MaxDepth {
		return errJTLimit
	}
	for n := 0; j.dec.PeekKind() != '}'; n++ {
		raw, err := j.dec.ReadValue()
		if err != nil {
			return err
		}
		if n == MaxFields || len(raw) > MaxKeyBytes+2 {
			return errJTLimit
		}
		if j.name, err = jsontext.AppendUnquote(j.name[:0], raw); err != nil {
			return err
		}
		if err := fn(j.name); err != nil {
			return err
		}
	}
	_, err = j.dec.ReadToken()
	return err
}

func (j *jt) string(maxChars int) (string, error) {
	if j.dec.PeekKind() != '"' {
		return "", ErrBadString
	}
	raw, err := j.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if j.str, err = jsontext.AppendUnquote(j.str[:0], raw); err != nil {
		return "", err
	}
	return PrintableString(Value{Kind: KindString, Str: j.str}, maxChars)
}

func (j *jt) integer(minimum, maximum int64) (int64, error) {
	if j.dec.PeekKind() != '0' {
		return 0, ErrNotInteger
	}
	raw, err := j.dec.ReadValue()
	if err != nil {
		return 0, err
	}
	return Integer(Value{Kind: KindNumber, Raw: raw}, minimum, maximum)
}

func (j *jt) decode(body []byte) error {
	j.r.Reset(body)
	j.dec.Reset(&j.r)
	var err error
	if bytes.Contains(body, []byte("payment_method")) {
		var p payment
		err = j.members(func(key []byte) error { return j.payment(&p, key) })
	} else {
		var c flatCommand
		err = j.members(func(key []byte) error { return j.flat(&c, key) })
	}
	if err != nil {
		return err
	}
	if _, err := j.dec.ReadToken(); err == nil {
		return ErrSyntax // more than one value
	}
	return nil
}

func (j *jt) flat(c *flatCommand, key []byte) error {
	var err error
	switch string(key) {
	case "userId":
		c.userID, err = j.string(128)
	case "amount":
		c.amount, err = j.integer(1, 1<<53-1)
	case "reference":
		c.reference, err = j.string(255)
	case "description":
		c.description, err = j.string(1000)
	case "code":
		c.code, err = j.string(64)
	default:
		err = UnknownField(key)
	}
	return err
}

func (j *jt) payment(p *payment, key []byte) error {
	var err error
	switch string(key) {
	case "amount":
		p.amountMinor, err = j.integer(1, 1<<53-1)
	case "currency":
		p.currency, err = j.string(3)
	case "payment_method":
		err = j.members(func(key []byte) error {
			switch string(key) {
			case "type":
				p.methodType, err = j.string(16)
				return err
			case "card":
				return j.members(func(key []byte) error { return j.card(&p.card, key) })
			}
			return UnknownField(key)
		})
	case "metadata":
		p.metadata = map[string]string{}
		err = j.members(func(key []byte) error {
			k := string(key)
			s, err := j.string(500)
			p.metadata[k] = s
			return err
		})
	default:
		err = UnknownField(key)
	}
	return err
}

func (j *jt) card(c *card, key []byte) error {
	var err error
	switch string(key) {
	case "number":
		c.number, err = j.string(19)
	case "exp_month":
		c.expMonth, err = j.integer(1, 12)
	case "exp_year":
		c.expYear, err = j.integer(2000, 2100)
	case "cvc":
		c.cvc, err = j.string(4)
	default:
		err = UnknownField(key)
	}
	return err
}

func newJT() *jt {
	j := &jt{}
	j.dec = jsontext.NewDecoder(&j.r)
	return j
}

func BenchmarkDecode(b *testing.B) {
	for _, tc := range benchBodies {
		body := []byte(tc.body)
		b.Run(tc.name+"/httpx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := decodeHTTPX(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/jsontext", func(b *testing.B) {
			j := newJT()
			b.ReportAllocs()
			for b.Loop() {
				if err := j.decode(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Both readers of the benchmark decode the same bodies to the same values
// and refuse the same strictness cases.
func TestBenchReadersAgree(t *testing.T) {
	j := newJT()
	for _, tc := range benchBodies {
		if err := decodeHTTPX([]byte(tc.body)); err != nil {
			t.Errorf("%s: httpx: %v", tc.name, err)
		}
		if err := j.decode([]byte(tc.body)); err != nil {
			t.Errorf("%s: jsontext: %v", tc.name, err)
		}
	}
	for _, bad := range []string{
		`{"amount":1,"amount":2}`,
		`{"payment_method":{"card":{"cvc":"1","cvc":"2"}}}`,
		`{"metadata":{"a":"1","\u0061":"2"}}`,
		"{\"metadata\":{\"a\":\"\xff\"}}",
		`{"metadata":{"a":"\ud800"}}`,
		`{"amount":2.5e2}`,
		`{"payment_method":{"card":{"pin":"1"}}}`,
		`{"amount":1}{}`,
	} {
		if err := decodeHTTPX([]byte(bad)); err == nil {
			t.Errorf("httpx accepted %q", bad)
		}
		if err := j.decode([]byte(bad)); err == nil {
			t.Errorf("jsontext accepted %q", bad)
		}
	}
}

// BenchmarkCheck is the readers alone: the whole body checked (syntax,
// duplicates, UTF-8) and nothing decoded.
func BenchmarkCheck(b *testing.B) {
	for _, tc := range benchBodies {
		body := []byte(tc.body)
		b.Run(tc.name+"/httpx", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := ReadObject(body, func([]byte, Value) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/jsontext", func(b *testing.B) {
			j := newJT()
			b.ReportAllocs()
			for b.Loop() {
				j.r.Reset(body)
				j.dec.Reset(&j.r)
				if _, err := j.dec.ReadValue(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
