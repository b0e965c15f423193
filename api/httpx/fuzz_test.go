package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"unicode/utf8"
)

// stdMembers reads data with encoding/json's token stream. flat is false
// when data is not a JSON object of scalar members without duplicate keys.
func stdMembers(data []byte) (keys []string, vals []any, flat bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, false
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		v, err := dec.Token()
		if err != nil {
			return nil, nil, false
		}
		if _, nested := v.(json.Delim); nested || seen[k.(string)] {
			return nil, nil, false
		}
		seen[k.(string)] = true
		keys, vals = append(keys, k.(string)), append(vals, v)
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, nil, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, nil, false
	}
	return keys, vals, true
}

func FuzzParseObject(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { "a" : "b" } `, `{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"Pro export"}`,
		`{"a":true,"b":false,"c":null}`, `{"n":-0.5e+10}`, `{"n":00}`, `{"n":1.}`, `{"s":"\ud83d\ude00\u00e9\n\"\\\/"}`,
		`{"s":"\ud800"}`, "{\"s\":\"\xff\"}", `{"a":1,"a":2}`, `{"a":{}}`, `{"a":[1]}`, `{"a":1}x`, `[]`, ``, `{"a":"\u0000"}`,
		"{\"a\":\"\x01\"}", `{"a":1,}`, `{"\u0061":1,"a":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var keys []string
		var vals []Value
		err := ParseObject(data, func(k []byte, v Value) error {
			keys = append(keys, string(k))
			c := Value{Kind: v.Kind, Str: bytes.Clone(v.Str), Raw: bytes.Clone(v.Raw)}
			vals = append(vals, c)
			return nil
		})
		stdKeys, stdVals, flat := stdMembers(data)
		if err != nil {
			// Refusing what encoding/json reads as a flat object is allowed
			// only for the stricter rules: invalid UTF-8, lone surrogates
			// (both become U+FFFD in encoding/json) and too many fields.
			if flat && json.Valid(data) && utf8.Valid(data) && !bytes.Contains(data, []byte(`\u`)) &&
				!bytes.Contains(data, []byte(`\U`)) && len(stdKeys) <= MaxFields {
				t.Fatalf("refused %q (%v), which encoding/json reads as a flat object", data, err)
			}
			if errors.Is(err, ErrDuplicateKey) && json.Valid(data) && flat {
				t.Fatalf("duplicate key reported for %q, encoding/json sees none", data)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not valid JSON", data)
		}
		if !flat {
			t.Fatalf("accepted %q, which encoding/json does not read as a flat object", data)
		}
		if len(keys) != len(stdKeys) {
			t.Fatalf("%q: %d members, encoding/json %d", data, len(keys), len(stdKeys))
		}
		for i, v := range vals {
			if keys[i] != stdKeys[i] || !utf8.ValidString(keys[i]) {
				t.Fatalf("%q: key %d is %q, encoding/json %q", data, i, keys[i], stdKeys[i])
			}
			sv := stdVals[i]
			switch v.Kind {
			case KindString:
				if s, ok := sv.(string); !ok || s != string(v.Str) || !utf8.Valid(v.Str) {
					t.Fatalf("%q: value %d is %q, encoding/json %#v", data, i, v.Str, sv)
				}
			case KindNumber:
				if n, ok := sv.(json.Number); !ok || string(n) != string(v.Raw) {
					t.Fatalf("%q: number %d is %q, encoding/json %#v", data, i, v.Raw, sv)
				}
			case KindTrue, KindFalse:
				if b, ok := sv.(bool); !ok || b != (v.Kind == KindTrue) {
					t.Fatalf("%q: bool %d, encoding/json %#v", data, i, sv)
				}
			case KindNull:
				if sv != nil {
					t.Fatalf("%q: null %d, encoding/json %#v", data, i, sv)
				}
			default:
				t.Fatalf("%q: member %d has kind %d", data, i, v.Kind)
			}
		}
	})
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\", "\x00\x1f\n\r\t\b\f", "<>&", "é😀", "\u2028\u2029", "\xff", "a\xc3", "\xed\xa0\x80", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := AppendString([]byte("pre"), s)
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatal("prefix lost")
		}
		out = out[3:]
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("AppendString(%q) = %s: not valid JSON / UTF-8", s, out)
		}
		if bytes.ContainsAny(out, "<>&\u2028\u2029") {
			t.Fatalf("AppendString(%q) = %s: HTML-sensitive character not escaped", s, out)
		}
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string(bytes.ToValidUTF8([]byte(s), nil)) // compared below rune by rune
			if utf8.RuneCountInString(got) < utf8.RuneCountInString(want) {
				t.Fatalf("AppendString(%q) lost valid characters: %q", s, got)
			}
			return
		}
		if got != want {
			t.Fatalf("AppendString(%q) decodes to %q", s, got)
		}
		if std, _ := json.Marshal(s); !bytes.Equal(std, out) && !bytes.Contains(std, []byte(`\b`)) && !bytes.Contains(std, []byte(`\f`)) {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, out, std)
		}
		// Our own strict reader reads it back too.
		var back []byte
		if err := ParseObject(Object(nil).Str("k", s).Close(), func(_ []byte, v Value) error { back = bytes.Clone(v.Str); return nil }); err != nil || string(back) != s {
			t.Fatalf("ParseObject(AppendString(%q)) = %q, %v", s, back, err)
		}
	})
}

func FuzzInteger(f *testing.F) {
	for _, s := range []string{"250", "0", "-0", "-1", "9007199254740991", "9007199254740992", "250.0", "2.5e2", "00", "99999999999999999999", "-9223372036854775808"} {
		f.Add(s, int64(1), int64(1<<53-1))
	}
	f.Fuzz(func(t *testing.T, lit string, lo, hi int64) {
		var v Value
		if ParseObject([]byte(`{"v":`+lit+`}`), func(_ []byte, x Value) error { v = x; v.Raw = bytes.Clone(x.Raw); return nil }) != nil {
			return
		}
		n, err := Integer(v, lo, hi)
		if err != nil {
			return
		}
		if n < lo || n > hi {
			t.Fatalf("Integer(%s, %d, %d) = %d: out of bounds", lit, lo, hi, n)
		}
		var want int64
		if json.Unmarshal([]byte(lit), &want) != nil || want != n {
			t.Fatalf("Integer(%s) = %d, encoding/json into int64: %d", lit, n, want)
		}
		if bytes.ContainsAny(v.Raw, ".eE\"") {
			t.Fatalf("Integer accepted non-integer literal %s", lit)
		}
	})
}
