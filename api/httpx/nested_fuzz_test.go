package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// stdShape is what encoding/json's token stream sees in data: a canonical
// text of the tree (members in order, strings quoted, numbers as written)
// and the sizes that ReadObject limits. ok is false when data is not one
// JSON object or has a duplicate key in any object (checked here, as
// encoding/json keeps the last).
type stdShape struct {
	text                            string
	depth, fields, elements, values int
	keyBytes                        int
}

func stdTree(data []byte) (s stdShape, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return s, false
	}
	var b strings.Builder
	if !stdObject(dec, 1, &b, &s) {
		return s, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return s, false
	}
	s.text = b.String()
	return s, true
}

func stdObject(dec *json.Decoder, depth int, b *strings.Builder, s *stdShape) bool {
	s.depth = max(s.depth, depth)
	seen := map[string]bool{}
	b.WriteByte('{')
	for dec.More() {
		k, err := dec.Token()
		if err != nil || seen[k.(string)] {
			return false
		}
		seen[k.(string)] = true
		s.keyBytes = max(s.keyBytes, len(k.(string)))
		b.WriteString(strconv.Quote(k.(string)) + ":")
		if !stdValue(dec, depth, b, s) {
			return false
		}
	}
	s.fields = max(s.fields, len(seen))
	b.WriteByte('}')
	_, err := dec.Token()
	return err == nil
}

func stdValue(dec *json.Decoder, depth int, b *strings.Builder, s *stdShape) bool {
	tok, err := dec.Token()
	if err != nil {
		return false
	}
	s.values++
	switch v := tok.(type) {
	case json.Delim:
		if v == '{' {
			return stdObject(dec, depth+1, b, s)
		}
		s.depth = max(s.depth, depth+1)
		b.WriteByte('[')
		n := 0
		for ; dec.More(); n++ {
			if !stdValue(dec, depth+1, b, s) {
				return false
			}
		}
		s.elements = max(s.elements, n)
		b.WriteByte(']')
		_, err := dec.Token()
		return err == nil
	case string:
		b.WriteString(strconv.Quote(v))
	case json.Number:
		b.WriteString("#" + string(v))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case nil:
		b.WriteString("null")
	}
	b.WriteByte(',')
	return true
}

// ourTree renders what ReadObject reads, reading every nested value.
func ourTree(data []byte) (string, error) {
	var b strings.Builder
	var member func(key []byte, v Value) error
	var elem func(i int, v Value) error
	value := func(v Value) error {
		switch v.Kind {
		case KindObject:
			b.WriteByte('{')
			if err := v.Object(member); err != nil {
				return err
			}
			b.WriteByte('}')
			return nil
		case KindArray:
			b.WriteByte('[')
			if err := v.Array(elem); err != nil {
				return err
			}
			b.WriteByte(']')
			return nil
		case KindString:
			if !utf8.Valid(v.Str) {
				return errors.New("invalid UTF-8 handed out")
			}
			b.WriteString(strconv.Quote(string(v.Str)))
		case KindNumber:
			b.WriteString("#" + string(v.Raw))
		case KindTrue, KindFalse:
			b.WriteString(strconv.FormatBool(v.Kind == KindTrue))
		case KindNull:
			b.WriteString("null")
		}
		b.WriteByte(',')
		return nil
	}
	member = func(k []byte, v Value) error {
		b.WriteString(strconv.Quote(string(k)) + ":")
		return value(v)
	}
	elem = func(_ int, v Value) error { return value(v) }
	b.WriteByte('{')
	err := ReadObject(data, member)
	b.WriteByte('}')
	return b.String(), err
}

func withinLimits(s stdShape) bool {
	return s.depth <= MaxDepth && s.fields <= MaxFields && s.elements <= MaxElements &&
		s.keyBytes <= MaxKeyBytes && s.values <= MaxValues
}

// FuzzReadObject checks ReadObject against encoding/json (values, order,
// duplicates found separately) and against jsontext (strictness: it also
// refuses duplicate names, invalid UTF-8 and lone surrogates). Reading
// every value and skipping every value must accept and refuse the same.
func FuzzReadObject(f *testing.F) {
	for _, s := range []string{
		paySmartBody, `{}`, `{"a":[]}`, `{"a":[1,"x",true,null,{"b":[{}]}]}`, `{"a":{"b":1,"b":2}}`,
		`{"a":[{"x":1},{"x":1}]}`, `{"a":{"\u0062":1,"b":2}}`, "{\"a\":[\"\xff\"]}", `{"a":["\ud800"]}`,
		`{"a":[1,]}`, `{"a":{"b":1}]}`, `{"a":[[[[[[[[[]]]]]]]]]}`, `{"a":[[[[[[[]]]]]]]}`, `{"a":{"b":-0.5e+3}}`,
		`{"a":[01]}`, `{"a":"\u00e9","b":{"\u00e9":"\u00e0"}}`, `{"a":1}[]`, ` {"a" : [ 1 , { } ] } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ourTree(data)
		skipErr := ReadObject(data, func([]byte, Value) error { return nil })
		if (err == nil) != (skipErr == nil) {
			t.Fatalf("%q: reading every value: %v; skipping: %v", data, err, skipErr)
		}
		std, flat := stdTree(data)
		strictOK := jsontext.Value(data).IsValid() // duplicates, UTF-8, surrogates
		if err != nil {
			if flat && strictOK && withinLimits(std) {
				t.Fatalf("refused %q (%v), which encoding/json and jsontext read within the limits", data, err)
			}
			if errors.Is(err, ErrDuplicateKey) && json.Valid(data) && flat {
				t.Fatalf("duplicate key reported for %q, encoding/json sees none", data)
			}
			return
		}
		if !json.Valid(data) || !flat || !strictOK {
			t.Fatalf("accepted %q: encoding/json valid %v, one object without duplicates %v, jsontext %v",
				data, json.Valid(data), flat, strictOK)
		}
		if !withinLimits(std) {
			t.Fatalf("accepted %q, which is over a limit: %+v", data, std)
		}
		if got != std.text {
			t.Fatalf("%q:\n read %s\n  std %s", data, got, std.text)
		}
	})
}
