package paychat

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"ledgerd/api/httpx"
)

// JSON as JavaScript's JSON.stringify writes it. PAYchat's receivers
// verify a webhook by signing JSON.stringify(req.body) after Express parsed
// it (the spec's verifyWebhook), so every body sent must already be what
// JSON.stringify prints for its own parse: compact, members in the order
// JavaScript keeps them (integer-like keys first, ascending; then the rest
// in insertion order), numbers in JavaScript's Number::toString, and
// strings escaped only where JSON.stringify escapes them (", \, control
// characters: not <, >, &, U+2028 or U+2029 as Go's encoding/json does).
// Answers use the same writer, so a body reads the same everywhere.

// jsObject builds one JSON object by appending.
type jsObject struct{ b []byte }

func newObject(dst []byte) jsObject { return jsObject{b: append(dst, '{')} }

func (o jsObject) key(k string) jsObject {
	if o.b[len(o.b)-1] != '{' {
		o.b = append(o.b, ',')
	}
	o.b = appendJSString(o.b, k)
	o.b = append(o.b, ':')
	return o
}

func (o jsObject) str(k, v string) jsObject {
	o = o.key(k)
	o.b = appendJSString(o.b, v)
	return o
}

// strOrNull writes v, or null when it is empty.
func (o jsObject) strOrNull(k, v string) jsObject {
	if v == "" {
		return o.null(k)
	}
	return o.str(k, v)
}

func (o jsObject) null(k string) jsObject {
	o = o.key(k)
	o.b = append(o.b, "null"...)
	return o
}

func (o jsObject) integer(k string, v int64) jsObject {
	o = o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
	return o
}

func (o jsObject) boolean(k string, v bool) jsObject {
	o = o.key(k)
	o.b = strconv.AppendBool(o.b, v)
	return o
}

// amount writes micro-USDT as a JavaScript number (AppendAmount).
func (o jsObject) amount(k string, micro int64) jsObject {
	o = o.key(k)
	o.b = AppendAmount(o.b, micro)
	return o
}

// raw writes a value already in this form (a nested object).
func (o jsObject) raw(k string, v []byte) jsObject {
	o = o.key(k)
	o.b = append(o.b, v...)
	return o
}

func (o jsObject) close() []byte { return append(o.b, '}') }

// appendJSString appends s as JSON.stringify quotes it (QuoteJSONString):
// \b \t \n \f \r \" \\ by name, other code units below U+0020 as \u00xx
// with lower-case hex, everything else as is. s is valid UTF-8 (the
// decoder refuses anything else, lone surrogates included).
func appendJSString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20:
			dst = append(dst, c)
		case c == '\b':
			dst = append(dst, '\\', 'b')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\f':
			dst = append(dst, '\\', 'f')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
	}
	return append(dst, '"')
}

// AppendJSNumber appends f as JavaScript's Number::toString(f) writes it
// (ECMA-262 6.1.6.1.20): the shortest digits that round-trip, in fixed
// notation from 1e-7 up to 1e21, else d.ddde±x. f is finite.
func AppendJSNumber(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // also -0
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // "d.ddde±XX"
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, "0."...)
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// Metadata errors.
var (
	ErrMetadata        = errors.New("paychat: metadata must be a JSON object")
	ErrMetadataNumber  = errors.New("paychat: metadata number out of JavaScript's range")
	ErrMetadataTooLong = errors.New("paychat: metadata too long")
)

// jsonNode is a parsed JSON value, kept in its source order.
type jsonNode struct {
	kind    httpx.ValueKind
	str     string
	num     float64
	keys    []string
	members []*jsonNode // object members (with keys) or array elements
}

// NormalizeMetadata reads a metadata object and writes it as
// JSON.stringify would print JSON.parse of it (the members in
// JavaScript's order, numbers as JavaScript prints them: 1.0 is 1, 1e2 is
// 100, 0.1 stays 0.1). A number JSON.parse would make infinite is refused.
// null is no metadata (nil).
func NormalizeMetadata(v httpx.Value, maxBytes int) ([]byte, error) {
	if v.Kind == httpx.KindNull {
		return nil, nil
	}
	if v.Kind != httpx.KindObject {
		return nil, ErrMetadata
	}
	n, err := readNode(v)
	if err != nil {
		return nil, err
	}
	out := writeNode(nil, n)
	if len(out) > maxBytes || !utf8.Valid(out) {
		return nil, ErrMetadataTooLong
	}
	return out, nil
}

func readNode(v httpx.Value) (*jsonNode, error) {
	n := &jsonNode{kind: v.Kind}
	switch v.Kind {
	case httpx.KindString:
		n.str = string(v.Str)
	case httpx.KindNumber:
		f, err := strconv.ParseFloat(string(v.Raw), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, ErrMetadataNumber
		}
		n.num = f
	case httpx.KindObject:
		err := v.Object(func(key []byte, mv httpx.Value) error {
			m, err := readNode(mv)
			if err != nil {
				return err
			}
			n.keys, n.members = append(n.keys, string(key)), append(n.members, m)
			return nil
		})
		if err != nil {
			return nil, err
		}
	case httpx.KindArray:
		err := v.Array(func(_ int, ev httpx.Value) error {
			m, err := readNode(ev)
			if err != nil {
				return err
			}
			n.members = append(n.members, m)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

// arrayIndex reports whether key is a JavaScript array index: the
// canonical decimal form of an integer 0 .. 2^32-2.
func arrayIndex(key string) (uint64, bool) {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	n, err := strconv.ParseUint(key, 10, 64)
	return n, err == nil && n <= math.MaxUint32-1
}

// jsOrder is the order JavaScript enumerates an object's own keys: array
// indices ascending, then the other keys in insertion order.
func jsOrder(keys []string) []int {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		na, ia := arrayIndex(keys[a])
		nb, ib := arrayIndex(keys[b])
		switch {
		case ia && ib:
			if na < nb {
				return -1
			} else if na > nb {
				return 1
			}
			return 0
		case ia:
			return -1
		case ib:
			return 1
		}
		return 0
	})
	return idx
}

func writeNode(dst []byte, n *jsonNode) []byte {
	switch n.kind {
	case httpx.KindString:
		return appendJSString(dst, n.str)
	case httpx.KindNumber:
		return AppendJSNumber(dst, n.num)
	case httpx.KindTrue:
		return append(dst, "true"...)
	case httpx.KindFalse:
		return append(dst, "false"...)
	case httpx.KindNull:
		return append(dst, "null"...)
	case httpx.KindArray:
		dst = append(dst, '[')
		for i, m := range n.members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = writeNode(dst, m)
		}
		return append(dst, ']')
	}
	dst = append(dst, '{')
	for i, j := range jsOrder(n.keys) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSString(dst, n.keys[j])
		dst = append(dst, ':')
		dst = writeNode(dst, n.members[j])
	}
	return append(dst, '}')
}
