package httpx

import (
	"errors"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// Strict JSON reading for request bodies: one object, every key at most
// once in each object, strings valid UTF-8 without lone surrogates, numbers
// kept as written (nothing is parsed through float64). ParseObject reads
// flat objects only; ReadObject also reads nested objects and arrays,
// within the limits below. The benchmark figures that chose this reader
// over jsontext are in bench_test.go.

// Parse errors. They are reported to clients only as the API's own
// "invalid request" envelope.
var (
	ErrSyntax       = errors.New("httpx: malformed JSON")
	ErrNotObject    = errors.New("httpx: body is not a JSON object")
	ErrDuplicateKey = errors.New("httpx: duplicate key")
	ErrNested       = errors.New("httpx: nested value not allowed")
	// ErrTooDeep is "too many members in one object" (MaxFields); its
	// name predates nesting and is kept for callers. Nesting beyond
	// MaxDepth is ErrDepth.
	ErrTooDeep        = errors.New("httpx: too many fields")
	ErrDepth          = errors.New("httpx: nesting too deep")
	ErrTooManyItems   = errors.New("httpx: too many array elements")
	ErrTooManyValues  = errors.New("httpx: too many values in one body")
	ErrKeyTooLong     = errors.New("httpx: key too long")
	ErrValueReused    = errors.New("httpx: nested value read twice or after its callback")
	ErrUnknownField   = errors.New("httpx: unknown field")
	errNotNestedValue = errors.New("httpx: value is not an object or array")
)

// Limits of the strict reader. Each is a hard maximum: a body beyond one is
// refused, never truncated.
const (
	// MaxFields bounds the members of one object (at every level).
	MaxFields = 64
	// MaxDepth bounds nesting for ReadObject: the body's own object is
	// depth 1, so {"payment_method":{"card":{…}}} is depth 3.
	MaxDepth = 8
	// MaxElements bounds the elements of one array.
	MaxElements = 256
	// MaxKeyBytes bounds a member name (after unescaping) for ReadObject.
	MaxKeyBytes = 256
	// MaxValues bounds the values of one body read by ReadObject, the
	// objects and arrays themselves included (the body's object is not
	// counted).
	MaxValues = 2048
)

// ValueKind is the JSON type of a member's value.
type ValueKind uint8

const (
	KindString ValueKind = iota + 1
	KindNumber
	KindTrue
	KindFalse
	KindNull
	KindObject // only from ReadObject: read it with Value.Object
	KindArray  // only from ReadObject: read it with Value.Array
)

// Value is one member's (or array element's) value. For strings Str holds
// the unescaped bytes (they may alias the input); for numbers Raw holds the
// literal as written. An object or array is read with Object or Array
// during the callback that received it; one the callback does not read is
// still checked in full (syntax, duplicate keys, limits) and skipped.
type Value struct {
	Kind ValueKind
	Str  []byte
	Raw  []byte

	p     *parser // set for KindObject and KindArray
	gen   uint64  // p.gen when v was read: p is pooled
	start int     // offset of the value's '{' or '['
	depth int     // the value's own depth
}

// ParseObject calls fn for each member of the flat JSON object in data, in
// order. A member whose value is an object or array is ErrNested. fn's
// slices are only valid during the call.
func ParseObject(data []byte, fn func(key []byte, v Value) error) error {
	p := getParser(data, false)
	defer putParser(p)
	return p.document(fn)
}

// ReadObject calls fn for each member of the JSON object in data, in order.
// Values may be objects and arrays, up to MaxDepth, MaxFields, MaxElements,
// MaxKeyBytes and MaxValues; read them with Value.Object and Value.Array
// inside fn. fn decides which keys are known: it returns an error
// (UnknownField) for the others. fn's slices are only valid during the
// call.
func ReadObject(data []byte, fn func(key []byte, v Value) error) error {
	p := getParser(data, true)
	defer putParser(p)
	return p.document(fn)
}

// Object calls fn for each member of the object v, in order, with the
// same rules and slice lifetimes as ReadObject. It must be called at most
// once, inside the callback that received v.
func (v Value) Object(fn func(key []byte, v Value) error) error {
	if err := v.enter('{'); err != nil {
		return err
	}
	return v.p.fail(v.p.object(v.depth, fn))
}

// Array calls fn for each element of the array v, in order (i from 0),
// with the same rules as Object.
func (v Value) Array(fn func(i int, v Value) error) error {
	if err := v.enter('['); err != nil {
		return err
	}
	return v.p.fail(v.p.array(v.depth, fn))
}

// enter checks that v is an unread object or array opened by open and
// steps over its opening bracket.
func (v Value) enter(open byte) error {
	p := v.p
	if p == nil || (open == '{') != (v.Kind == KindObject) {
		return errNotNestedValue
	}
	if p.gen != v.gen {
		return ErrValueReused // p went back to the pool and may be another parse's
	}
	if p.err != nil {
		return p.err
	}
	if p.pos != v.start || p.data[p.pos] != open {
		return p.fail(ErrValueReused)
	}
	p.pos++
	return nil
}

// maxPooledBufBytes and maxPooledKeys bound what a pooled parser keeps: its
// unescape buffer and its stack of keys seen in the open objects.
const (
	maxPooledBufBytes = 4 << 10
	maxPooledKeys     = MaxFields * 4
)

// parsers pools parsers: a Value points at its parser, which would
// otherwise be allocated on every body.
var parsers = sync.Pool{New: func() any { return new(parser) }}

func getParser(data []byte, nested bool) *parser {
	p := parsers.Get().(*parser)
	*p = parser{data: data, buf: p.buf[:0], seen: p.seen[:0], nested: nested, gen: p.gen + 1}
	if nested {
		p.keyBytesMax = MaxKeyBytes
	}
	return p
}

func putParser(p *parser) {
	buf := p.buf
	if cap(buf) > maxPooledBufBytes {
		buf = nil
	}
	seen := p.seen[:cap(p.seen)]
	clear(seen) // drop references to the body
	if len(seen) > maxPooledKeys {
		seen = nil
	}
	*p = parser{buf: buf[:0], seen: seen[:0], gen: p.gen + 1}
	parsers.Put(p)
}

type parser struct {
	gen         uint64 // changes whenever p is taken from or returned to the pool
	data        []byte
	pos         int
	buf         []byte
	seen        [][]byte // keys of the open objects, innermost last
	nested      bool     // objects and arrays allowed as values
	keyBytesMax int      // 0: no limit
	values      int
	err         error // first error inside a nested value: sticky
}

// fail records the first error met inside a nested value, so that a
// callback that drops it cannot make the reader go on from the middle of
// the value.
func (p *parser) fail(err error) error {
	if err != nil && p.err == nil {
		p.err = err
	}
	return err
}

func (p *parser) document(fn func(key []byte, v Value) error) error {
	p.space()
	if !p.consume('{') {
		return ErrNotObject
	}
	if err := p.object(1, fn); err != nil {
		return err
	}
	return p.end()
}

// object reads the members of an object whose '{' is consumed, at depth
// depth, up to and including its '}'. fn nil: check and skip.
func (p *parser) object(depth int, fn func(key []byte, v Value) error) error {
	base := len(p.seen) // this object's keys are p.seen[base:]
	defer func() { p.seen = p.seen[:base] }()
	n := 0
	p.space()
	if p.consume('}') {
		return nil
	}
	for {
		p.space()
		key, escaped, err := p.str()
		if err != nil {
			return err
		}
		if n == MaxFields {
			return ErrTooDeep
		}
		if p.keyBytesMax > 0 && len(key) > p.keyBytesMax {
			return ErrKeyTooLong
		}
		for _, k := range p.seen[base:] {
			if string(k) == string(key) {
				return ErrDuplicateKey
			}
		}
		if escaped { // p.buf is reused by the next string
			key = append([]byte(nil), key...)
		}
		p.seen = append(p.seen, key)
		n++
		p.space()
		if !p.consume(':') {
			return ErrSyntax
		}
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return err
		}
		if fn != nil {
			if err := fn(key, v); err != nil {
				return err
			}
		}
		if err := p.finish(v); err != nil {
			return err
		}
		p.space()
		if p.consume('}') {
			return nil
		}
		if !p.consume(',') {
			return ErrSyntax
		}
	}
}

// array reads the elements of an array whose '[' is consumed, up to and
// including its ']'. fn nil: check and skip.
func (p *parser) array(depth int, fn func(i int, v Value) error) error {
	p.space()
	if p.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		if i == MaxElements {
			return ErrTooManyItems
		}
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return err
		}
		if fn != nil {
			if err := fn(i, v); err != nil {
				return err
			}
		}
		if err := p.finish(v); err != nil {
			return err
		}
		p.space()
		if p.consume(']') {
			return nil
		}
		if !p.consume(',') {
			return ErrSyntax
		}
	}
}

// finish skips, checking it in full, an object or array the callback did
// not read, and reports an error the callback met inside one and dropped.
func (p *parser) finish(v Value) error {
	if p.err != nil {
		return p.err
	}
	if v.p == nil || p.pos != v.start {
		return nil
	}
	p.pos++
	if v.Kind == KindObject {
		return p.object(v.depth, nil)
	}
	return p.array(v.depth, nil)
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

// value reads a value inside a container at depth depth. An object or
// array is not consumed: the returned Value points at it.
func (p *parser) value(depth int) (Value, error) {
	if p.pos >= len(p.data) {
		return Value{}, ErrSyntax
	}
	if p.nested {
		p.values++
		if p.values > MaxValues {
			return Value{}, ErrTooManyValues
		}
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		s, _, err := p.str()
		return Value{Kind: KindString, Str: s}, err
	case c == '-' || (c >= '0' && c <= '9'):
		raw, err := p.number()
		return Value{Kind: KindNumber, Raw: raw}, err
	case c == '{' || c == '[':
		if !p.nested {
			return Value{}, ErrNested
		}
		if depth == MaxDepth {
			return Value{}, ErrDepth
		}
		kind := KindObject
		if c == '[' {
			kind = KindArray
		}
		return Value{Kind: kind, p: p, gen: p.gen, start: p.pos, depth: depth + 1}, nil
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
// without escapes alias the input; escaped ones (escaped true) are in
// p.buf, which the next escaped string reuses.
func (p *parser) str() (s []byte, escaped bool, err error) {
	if !p.consume('"') {
		return nil, false, ErrSyntax
	}
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := p.data[start:p.pos]
			p.pos++
			if !utf8.Valid(s) {
				return nil, false, ErrSyntax
			}
			return s, false, nil
		case c == '\\':
			s, err := p.escaped(start)
			return s, true, err
		case c < 0x20:
			return nil, false, ErrSyntax
		}
		p.pos++
	}
	return nil, false, ErrSyntax
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
