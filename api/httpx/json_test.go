package httpx

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type member struct {
	key  string
	kind ValueKind
	val  string // Str for strings, Raw for numbers
}

func parseAll(data string) ([]member, error) {
	var ms []member
	err := ParseObject([]byte(data), func(k []byte, v Value) error {
		m := member{key: string(k), kind: v.Kind}
		switch v.Kind {
		case KindString:
			m.val = string(v.Str)
		case KindNumber:
			m.val = string(v.Raw)
		}
		ms = append(ms, m)
		return nil
	})
	return ms, err
}

func TestParseObjectValid(t *testing.T) {
	tests := []struct {
		in   string
		want []member
	}{
		{`{}`, nil},
		{" \t\r\n{ \t\r\n} \t\r\n", nil},
		{`{"a":"b"}`, []member{{"a", KindString, "b"}}},
		{`{"":""}`, []member{{"", KindString, ""}}},
		{"{ \"a\" :\n\"b\" ,\t\"c\"\r:1 }", []member{{"a", KindString, "b"}, {"c", KindNumber, "1"}}},
		{`{"t":true,"f":false,"n":null}`, []member{{"t", KindTrue, ""}, {"f", KindFalse, ""}, {"n", KindNull, ""}}},
		{`{"s":"\"\\\/\b\f\n\r\t"}`, []member{{"s", KindString, "\"\\/\b\f\n\r\t"}}},
		{`{"s":"\u0041\u00e9\u20ac"}`, []member{{"s", KindString, "Aé€"}}},
		{`{"s":"\u00E9\u00e9"}`, []member{{"s", KindString, "éé"}}},
		{`{"s":"\ud83d\ude00"}`, []member{{"s", KindString, "😀"}}},
		{`{"s":"\uD83D\uDE00x"}`, []member{{"s", KindString, "😀x"}}},
		{`{"s":"\udbff\udfff"}`, []member{{"s", KindString, "\U0010FFFF"}}},
		{`{"s":"\u0000"}`, []member{{"s", KindString, "\x00"}}},
		{`{"s":"\ufffd"}`, []member{{"s", KindString, "\ufffd"}}},
		{`{"s":"héllo 😀 世界"}`, []member{{"s", KindString, "héllo 😀 世界"}}},
		{`{"s":"a\nb","t":"plain"}`, []member{{"s", KindString, "a\nb"}, {"t", KindString, "plain"}}},
		{"{\"s\":\"\x7f\"}", []member{{"s", KindString, "\x7f"}}},
		{`{"k\u00e9y":1}`, []member{{"kéy", KindNumber, "1"}}},
		// Numbers are returned as written.
		{`{"n":0}`, []member{{"n", KindNumber, "0"}}},
		{`{"n":-0}`, []member{{"n", KindNumber, "-0"}}},
		{`{"n":250}`, []member{{"n", KindNumber, "250"}}},
		{`{"n":-12}`, []member{{"n", KindNumber, "-12"}}},
		{`{"n":250.0}`, []member{{"n", KindNumber, "250.0"}}},
		{`{"n":0.5}`, []member{{"n", KindNumber, "0.5"}}},
		{`{"n":2.5e2}`, []member{{"n", KindNumber, "2.5e2"}}},
		{`{"n":1E+2}`, []member{{"n", KindNumber, "1E+2"}}},
		{`{"n":1e-2}`, []member{{"n", KindNumber, "1e-2"}}},
		{`{"n":0e0}`, []member{{"n", KindNumber, "0e0"}}},
		{`{"n":123456789012345678901234567890}`, []member{{"n", KindNumber, "123456789012345678901234567890"}}},
		{`{"n":1,"m":2}`, []member{{"n", KindNumber, "1"}, {"m", KindNumber, "2"}}},
	}
	for _, tc := range tests {
		got, err := parseAll(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q:\n got %v\nwant %v", tc.in, got, tc.want)
		}
	}
}

func TestParseObjectInvalid(t *testing.T) {
	tests := []struct {
		in   string
		want error // nil: any error
	}{
		{``, ErrNotObject},
		{`   `, ErrNotObject},
		{`[]`, ErrNotObject},
		{`"a"`, ErrNotObject},
		{`1`, ErrNotObject},
		{`null`, ErrNotObject},
		{"\xef\xbb\xbf{}", ErrNotObject}, // BOM
		{`{`, ErrSyntax},
		{`{"a"`, ErrSyntax},
		{`{"a":`, ErrSyntax},
		{`{"a":1`, ErrSyntax},
		{`{"a":1,}`, ErrSyntax},
		{`{,}`, ErrSyntax},
		{`{"a" 1}`, ErrSyntax},
		{`{"a":1 "b":2}`, ErrSyntax},
		{`{a:1}`, ErrSyntax},
		{`{'a':1}`, ErrSyntax},
		{`{"a":'b'}`, ErrSyntax},
		{`{"a":undefined}`, ErrSyntax},
		{`{"a":True}`, ErrSyntax},
		{`{"a":nul}`, ErrSyntax},
		{`{"a":tru}`, ErrSyntax},
		{`{"a":truex}`, ErrSyntax},
		{`{"a":NaN}`, ErrSyntax},
		{`{"a":Infinity}`, ErrSyntax},
		{`{"a":-Infinity}`, ErrSyntax},
		{"{\"a\":1}\x00", ErrSyntax},
		{`{"a":1}}`, ErrSyntax},
		{`{"a":1}{}`, ErrSyntax},
		{`{"a":1} x`, ErrSyntax},
		{"{\"a\":1}\v", ErrSyntax},
		{"{\"a\":1}\u00a0", ErrSyntax},
		{"\v{}", ErrNotObject},
		{"{\f}", ErrSyntax},
		// Duplicate keys, also when spelled differently.
		{`{"a":1,"a":2}`, ErrDuplicateKey},
		{`{"a":1,"b":2,"a":"x"}`, ErrDuplicateKey},
		{`{"a":1,"\u0061":2}`, ErrDuplicateKey},
		{`{"é":1,"\u00e9":2}`, ErrDuplicateKey},
		// Nested values.
		{`{"a":{}}`, ErrNested},
		{`{"a":[]}`, ErrNested},
		{`{"a":[1]}`, ErrNested},
		{`{"a":{"b":1}}`, ErrNested},
		// Numbers per RFC 8259.
		{`{"n":00}`, ErrSyntax},
		{`{"n":01}`, ErrSyntax},
		{`{"n":-01}`, ErrSyntax},
		{`{"n":-}`, ErrSyntax},
		{`{"n":+1}`, ErrSyntax},
		{`{"n":1.}`, ErrSyntax},
		{`{"n":.5}`, ErrSyntax},
		{`{"n":-.5}`, ErrSyntax},
		{`{"n":1e}`, ErrSyntax},
		{`{"n":1e+}`, ErrSyntax},
		{`{"n":1e-}`, ErrSyntax},
		{`{"n":1E}`, ErrSyntax},
		{`{"n":1.e5}`, ErrSyntax},
		{`{"n":0x10}`, ErrSyntax},
		{`{"n":1_000}`, ErrSyntax},
		{`{"n":--1}`, ErrSyntax},
		{`{"n":1ee2}`, ErrSyntax},
		{`{"n":1e2.5}`, ErrSyntax},
		{`{"n":1.2.3}`, ErrSyntax},
		{`{"n":١}`, ErrSyntax}, // Arabic-Indic digit
		// Strings.
		{`{"a":"b}`, ErrSyntax},
		{`{"a":"\"}`, ErrSyntax},
		{`{"a":"\x"}`, ErrSyntax},
		{`{"a":"\a"}`, ErrSyntax},
		{`{"a":"\'"}`, ErrSyntax},
		{`{"a":"\U0041"}`, ErrSyntax},
		{`{"a":"\u41"}`, ErrSyntax},
		{`{"a":"\u004"}`, ErrSyntax},
		{`{"a":"\u00g1"}`, ErrSyntax},
		{`{"a":"\`, ErrSyntax},
		{`{"a":"\u`, ErrSyntax},
		{"{\"a\":\"x\\", ErrSyntax},
		// Control characters must be escaped, in values and keys.
		{"{\"a\":\"\x00\"}", ErrSyntax},
		{"{\"a\":\"\x1f\"}", ErrSyntax},
		{"{\"a\":\"line\nbreak\"}", ErrSyntax},
		{"{\"a\":\"tab\there\"}", ErrSyntax},
		{"{\"a\":\"esc\\n then \x01\"}", ErrSyntax},
		{"{\"k\x01\":1}", ErrSyntax},
		// Lone and misordered surrogates.
		{`{"a":"\ud800"}`, ErrSyntax},
		{`{"a":"\ud800x"}`, ErrSyntax},
		{`{"a":"\ud83d\u0041"}`, ErrSyntax},
		{`{"a":"\ud83d\ud83d"}`, ErrSyntax},
		{`{"a":"\ude00"}`, ErrSyntax},
		{`{"a":"\ude00\ud83d"}`, ErrSyntax},
		{`{"a":"\udfff"}`, ErrSyntax},
		{`{"a":"\ud83d\n"}`, ErrSyntax},
		{`{"a":"\ud83d\ude0"}`, ErrSyntax},
		// Invalid UTF-8, with and without escapes in the same string.
		{"{\"a\":\"\xff\"}", ErrSyntax},
		{"{\"a\":\"\xc3\"}", ErrSyntax},
		{"{\"a\":\"\xc3\\u00a9\"}", ErrSyntax},
		{"{\"a\":\"\\n\xc3\"}", ErrSyntax},
		{"{\"a\":\"\xed\xa0\x80\"}", ErrSyntax},     // UTF-8 encoded surrogate
		{"{\"a\":\"\xc0\xaf\"}", ErrSyntax},         // overlong
		{"{\"a\":\"\xf4\x90\x80\x80\"}", ErrSyntax}, // above U+10FFFF
		{"{\"\xff\":1}", ErrSyntax},
	}
	for _, tc := range tests {
		calls := 0
		err := ParseObject([]byte(tc.in), func([]byte, Value) error { calls++; return nil })
		if err == nil {
			t.Errorf("%q: accepted", tc.in)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%q: error %v, want %v", tc.in, err, tc.want)
		}
	}
}

func TestParseObjectCallbackError(t *testing.T) {
	stop := errors.New("stop")
	var keys []string
	err := ParseObject([]byte(`{"a":1,"b":2,"c":3}`), func(k []byte, v Value) error {
		keys = append(keys, string(k))
		if string(k) == "b" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || strings.Join(keys, ",") != "a,b" {
		t.Fatalf("err %v keys %v", err, keys)
	}
}

func TestParseObjectMaxFields(t *testing.T) {
	obj := func(n int) string {
		var b strings.Builder
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		b.WriteByte('}')
		return b.String()
	}
	if ms, err := parseAll(obj(MaxFields)); err != nil || len(ms) != MaxFields {
		t.Fatalf("%d fields: %d %v", MaxFields, len(ms), err)
	}
	if _, err := parseAll(obj(MaxFields + 1)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("%d fields: %v", MaxFields+1, err)
	}
}

func TestParseObjectKeyStableAcrossEscapes(t *testing.T) {
	// An escaped key and an escaped value share the parser's buffer: the key
	// passed to fn must still be the key.
	var gotKey, gotVal string
	err := ParseObject([]byte(`{"k\u00e9y":"v\u00e0l"}`), func(k []byte, v Value) error {
		gotKey, gotVal = string(k), string(v.Str)
		return nil
	})
	if err != nil || gotKey != "kéy" || gotVal != "vàl" {
		t.Fatalf("key %q val %q err %v", gotKey, gotVal, err)
	}
	// Duplicate detection must compare keys, not a reused buffer.
	if _, err := parseAll(`{"\u00e9a":1,"\u00e9b":2}`); err != nil {
		t.Fatalf("distinct escaped keys: %v", err)
	}
}
