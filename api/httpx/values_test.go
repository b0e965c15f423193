package httpx

import (
	"errors"
	"math"
	"strings"
	"testing"
)

const maxSafe = 1<<53 - 1

// num parses `{"v":<lit>}` and returns the value, so Integer is tested on
// what ParseObject actually hands it.
func num(t *testing.T, lit string) (Value, bool) {
	t.Helper()
	var v Value
	err := ParseObject([]byte(`{"v":`+lit+`}`), func(_ []byte, x Value) error {
		v = x
		if x.Kind == KindString {
			v.Str = append([]byte(nil), x.Str...)
		}
		return nil
	})
	return v, err == nil
}

func TestInteger(t *testing.T) {
	tests := []struct {
		lit      string
		min, max int64
		want     int64
		err      error // nil: ok; errAny: rejected anywhere (parse or Integer)
	}{
		{"250", 1, maxSafe, 250, nil},
		{"1", 1, maxSafe, 1, nil},
		{"9007199254740991", 1, maxSafe, maxSafe, nil},
		{"9007199254740992", 1, maxSafe, 0, ErrOutOfRange},
		{"0", 1, maxSafe, 0, ErrOutOfRange},
		{"-0", 1, maxSafe, 0, ErrOutOfRange},
		{"-1", 1, maxSafe, 0, ErrOutOfRange},
		{"-1", -5, 5, -1, nil},
		{"-5", -5, 5, -5, nil},
		{"-6", -5, 5, 0, ErrOutOfRange},
		{"5", -5, 5, 5, nil},
		{"6", -5, 5, 0, ErrOutOfRange},
		{"0", 0, 0, 0, nil},
		{"250.0", 1, maxSafe, 0, ErrNotInteger},
		{"2.5e2", 1, maxSafe, 0, ErrNotInteger},
		{"25e1", 1, maxSafe, 0, ErrNotInteger},
		{"1E2", 1, maxSafe, 0, ErrNotInteger},
		{"0.0", 0, maxSafe, 0, ErrNotInteger},
		{`"250"`, 1, maxSafe, 0, ErrNotInteger},
		{"true", 1, maxSafe, 0, ErrNotInteger},
		{"null", 1, maxSafe, 0, ErrNotInteger},
		{"9223372036854775807", 0, math.MaxInt64, math.MaxInt64, nil},
		{"9223372036854775808", 0, math.MaxInt64, 0, ErrOutOfRange},
		{"-9223372036854775807", math.MinInt64, 0, -math.MaxInt64, nil},
		{"99999999999999999999", 0, math.MaxInt64, 0, ErrOutOfRange},
		{strings.Repeat("9", 400), 1, maxSafe, 0, ErrOutOfRange},
		{"1" + strings.Repeat("0", 18), 0, math.MaxInt64, 1e18, nil},
		{"1" + strings.Repeat("0", 19), 0, math.MaxInt64, 0, ErrOutOfRange},
	}
	for _, tc := range tests {
		v, ok := num(t, tc.lit)
		if !ok {
			t.Fatalf("%s: not parsed", tc.lit)
		}
		got, err := Integer(v, tc.min, tc.max)
		if tc.err == nil {
			if err != nil || got != tc.want {
				t.Errorf("Integer(%s, %d, %d) = %d, %v; want %d", tc.lit, tc.min, tc.max, got, err, tc.want)
			}
			continue
		}
		if !errors.Is(err, tc.err) || got != 0 {
			t.Errorf("Integer(%s, %d, %d) = %d, %v; want error %v", tc.lit, tc.min, tc.max, got, err, tc.err)
		}
	}
	// Literals with leading zeros never reach Integer: the reader refuses them.
	for _, lit := range []string{"00", "0250", "-00", "01"} {
		if _, ok := num(t, lit); ok {
			t.Errorf("%s: parsed", lit)
		}
	}
}

func TestIntegerRawEdgeCases(t *testing.T) {
	// Values not produced by ParseObject: Integer must still refuse them.
	for _, raw := range []string{"", "-", "+1", " 1", "1 ", "1a", "0x1", "--1"} {
		if n, err := Integer(Value{Kind: KindNumber, Raw: []byte(raw)}, math.MinInt64, math.MaxInt64); err == nil {
			t.Errorf("Integer(%q) = %d", raw, n)
		}
	}
	if _, err := Integer(Value{Kind: KindString, Str: []byte("5")}, 0, 10); !errors.Is(err, ErrNotInteger) {
		t.Errorf("string value: %v", err)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		s    string
		max  int
		want bool
	}{
		{"u_123", 128, true},
		{"a", 1, true},
		{"hello world", 128, true},
		{"ümlaut ñ 中文 😀 ﷺ", 128, true},
		{"e\u0301", 2, true}, // combining mark
		{"$€£¥ +-*/=<>", 128, true},
		{"", 128, false},
		{" ", 1, true},
		{"ab", 1, false},
		{"\t", 128, false},
		{"a\nb", 128, false},
		{"a\rb", 128, false},
		{"\x00", 128, false},
		{"\x7f", 128, false},
		{"\u0085", 128, false}, // NEL
		{"\u00a0", 128, false}, // NBSP: a space, but not the ASCII space
		{"\u2028", 128, false},
		{"\u200b", 128, false}, // zero-width space (Cf)
		{"\u202e", 128, false}, // right-to-left override (Cf)
		{"\ufeff", 128, false}, // BOM
		{"\ue000", 128, false}, // private use
		{"\xff", 128, false},
		{"a\xc3", 128, false},
		{"\xed\xa0\x80", 128, false},
		// maxChars counts runes, not bytes.
		{strings.Repeat("é", 128), 128, true},
		{strings.Repeat("é", 129), 128, false},
		{strings.Repeat("😀", 128), 128, true},
		{strings.Repeat("😀", 129), 128, false},
		{strings.Repeat("a", 255), 255, true},
		{strings.Repeat("a", 256), 255, false},
		{strings.Repeat("a", 128) + "\x00", 128, false},
	}
	for _, tc := range tests {
		if got := Printable([]byte(tc.s), tc.max); got != tc.want {
			t.Errorf("Printable(%q, %d) = %v, want %v", tc.s, tc.max, got, tc.want)
		}
		s, err := PrintableString(Value{Kind: KindString, Str: []byte(tc.s)}, tc.max)
		if tc.want != (err == nil) || (err == nil && s != tc.s) || (err != nil && !errors.Is(err, ErrBadString)) {
			t.Errorf("PrintableString(%q, %d) = %q, %v", tc.s, tc.max, s, err)
		}
	}
}

func TestPrintableStringCopies(t *testing.T) {
	buf := []byte("abc")
	s, err := PrintableString(Value{Kind: KindString, Str: buf}, 10)
	buf[0] = 'X'
	if err != nil || s != "abc" {
		t.Fatalf("PrintableString aliases its input: %q %v", s, err)
	}
	for _, v := range []Value{{Kind: KindNumber, Raw: []byte("1")}, {Kind: KindNull}, {Kind: KindTrue}, {}} {
		if _, err := PrintableString(v, 10); !errors.Is(err, ErrBadString) {
			t.Errorf("kind %d: %v", v.Kind, err)
		}
	}
}
