package httpx

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Strict JSON reading for request bodies: one object whose values are
// scalars, with every key at most once. Nothing is parsed through float64.

// Parse errors. They are reported to clients only as the API's own
// "invalid request" envelope.
var (
	ErrSyntax       = errors.New("httpx: malformed JSON")
	ErrNotObject    = errors.New("httpx: body is not a JSON object")
	ErrDuplicateKey = errors.New("httpx: duplicate key")
	ErrNested       = errors.New("httpx: nested value not allowed")
	ErrTooDeep      = errors.New("httpx: too many fields")
)

// MaxFields bounds the members of one request object.
const MaxFields = 64

// ValueKind is the JSON type of a member's value.
type ValueKind uint8

const (
	KindString ValueKind = iota + 1
	KindNumber
	KindTrue
	KindFalse
	KindNull
)

// Value is one member's value. For strings Str holds the unescaped bytes
// (they may alias the input); for numbers Raw holds the literal as written.
type Value struct {
	Kind ValueKind
	Str  []byte
	Raw  []byte
}

// ParseObject calls fn for each member of the flat JSON object in data, in
// order. fn's slices are only valid during the call.
func ParseObject(data []byte, fn func(key []byte, v Value) error) error {
	p := parser{data: data}
	p.space()
	if !p.consume('{') {
		return ErrNotObject
	}
	var seen [MaxFields][]byte
	n := 0
	p.space()
	if p.consume('}') {
		return p.end()
	}
	for {
		p.space()
		key, err := p.str()
		if err != nil {
			return err
		}
		if n == MaxFields {
			return ErrTooDeep
		}
		for _, k := range seen[:n] {
			if string(k) == string(key) {
				return ErrDuplicateKey
			}
		}
		seen[n] = append([]byte(nil), key...)
		n++
		p.space()
		if !p.consume(':') {
			return ErrSyntax
		}
		p.space()
		v, err := p.value()
		if err != nil {
			return err
		}
		if err := fn(seen[n-1], v); err != nil {
			return err
		}
		p.space()
		if p.consume('}') {
			return p.end()
		}
		if !p.consume(',') {
			return ErrSyntax
		}
	}
}

type parser struct {
	data []byte
	pos  int
	buf  []byte
}

func (p *parser) end() error {
	p.space()
	if p.pos != len(p.data) {
		return ErrSyntax
	}
	return nil
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) consume(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *parser) value() (Value, error) {
	if p.pos >= len(p.data) {
		return Value{}, ErrSyntax
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		s, err := p.str()
		return Value{Kind: KindString, Str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		raw, err := p.number()
		return Value{Kind: KindNumber, Raw: raw}, err
	case c == '{' || c == '[':
		return Value{}, ErrNested
	case p.literal("true"):
		return Value{Kind: KindTrue}, nil
	case p.literal("false"):
		return Value{Kind: KindFalse}, nil
	case p.literal("null"):
		return Value{Kind: KindNull}, nil
	}
	return Value{}, ErrSyntax
}

// number scans a JSON number literal per RFC 8259 and returns it as written.
func (p *parser) number() ([]byte, error) {
	start := p.pos
	p.consume('-')
	switch {
	case p.consume('0'):
	case p.digits() == 0:
		return nil, ErrSyntax
	}
	if p.consume('.') && p.digits() == 0 {
		return nil, ErrSyntax
	}
	if p.consume('e') || p.consume('E') {
		if !p.consume('+') {
			p.consume('-')
		}
		if p.digits() == 0 {
			return nil, ErrSyntax
		}
	}
	return p.data[start:p.pos], nil
}

func (p *parser) digits() int {
	n := 0
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
		n++
	}
	return n
}

// str scans a string and returns its unescaped UTF-8 bytes. Strings
// without escapes alias the input.
func (p *parser) str() ([]byte, error) {
	if !p.consume('"') {
		return nil, ErrSyntax
	}
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return nil, ErrSyntax
			}
			return s, nil
		case c == '\\':
			return p.escaped(start)
		case c < 0x20:
			return nil, ErrSyntax
		}
		p.pos++
	}
	return nil, ErrSyntax
}

// escaped continues a string that contains escapes, copying into p.buf.
func (p *parser) escaped(start int) ([]byte, error) {
	p.buf = append(p.buf[:0], p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			if !utf8.Valid(p.buf) {
				return nil, ErrSyntax
			}
			return p.buf, nil
		case c < 0x20:
			return nil, ErrSyntax
		case c != '\\':
			p.buf = append(p.buf, c)
			p.pos++
			continue
		}
		p.pos++
		if p.pos >= len(p.data) {
			return nil, ErrSyntax
		}
		e := p.data[p.pos]
		p.pos++
		switch e {
		case '"', '\\', '/':
			p.buf = append(p.buf, e)
		case 'b':
			p.buf = append(p.buf, '\b')
		case 'f':
			p.buf = append(p.buf, '\f')
		case 'n':
			p.buf = append(p.buf, '\n')
		case 'r':
			p.buf = append(p.buf, '\r')
		case 't':
			p.buf = append(p.buf, '\t')
		case 'u':
			r, ok := p.unicode()
			if !ok {
				return nil, ErrSyntax
			}
			p.buf = utf8.AppendRune(p.buf, r)
		default:
			return nil, ErrSyntax
		}
	}
	return nil, ErrSyntax
}

// unicode reads the hex digits of \uXXXX (and a low surrogate after a high
// one). A lone surrogate is an error rather than a silent U+FFFD.
func (p *parser) unicode() (rune, bool) {
	r, ok := p.hex4()
	if !ok {
		return 0, false
	}
	if !utf16.IsSurrogate(r) {
		return r, true
	}
	if !p.literal(`\u`) {
		return 0, false
	}
	r2, ok := p.hex4()
	if !ok {
		return 0, false
	}
	dec := utf16.DecodeRune(r, r2)
	return dec, dec != utf8.RuneError
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}
