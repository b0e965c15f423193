package paypay

import (
	"errors"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

func TestDecodeCodeValid(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"code":"PP-7KQM-X3TD-9HWA"}`, "PP-7KQM-X3TD-9HWA"},
		{` { "code" : "PP-7KQM-X3TD-9HWA" } `, "PP-7KQM-X3TD-9HWA"},
		{`{"code":"pp-7kqm-x3td-9hwa"}`, "PP-7KQM-X3TD-9HWA"},
		{`{"code":"  Pp-7kQm-X3tD-9hWa  "}`, "PP-7KQM-X3TD-9HWA"},
		{`{"code":"\tPP-7KQM-X3TD-9HWA\r\n"}`, "PP-7KQM-X3TD-9HWA"},
		{`{"code":"\u0070\u0070-7KQM-X3TD-9HWA"}`, "PP-7KQM-X3TD-9HWA"},
		// Any printable code is looked up (and not found), not refused.
		{`{"code":"x"}`, "X"},
		{`{"code":"PP-0000-OOOO-1111"}`, "PP-0000-OOOO-1111"},
		{`{"code":"a b"}`, "A B"},
		{`{"code":"ümlaut"}`, "üMLAUT"}, // only ASCII letters change case
		{`{"code":"` + strings.Repeat("a", MaxCodeChars) + `"}`, strings.Repeat("A", MaxCodeChars)},
		{`{"code":"  ` + strings.Repeat("é", MaxCodeChars) + `  "}`, strings.Repeat("é", MaxCodeChars)},
	}
	for _, tc := range tests {
		got, err := DecodeCode([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("DecodeCode(%.80s) = %q, %v; want %q", tc.body, got, err, tc.want)
		}
	}
}

func TestDecodeCodeInvalid(t *testing.T) {
	tests := map[string]string{
		"empty body":        ``,
		"null":              `null`,
		"array":             `[{"code":"PP-7KQM-X3TD-9HWA"}]`,
		"string":            `"PP-7KQM-X3TD-9HWA"`,
		"empty object":      `{}`,
		"code null":         `{"code":null}`,
		"code number":       `{"code":12}`,
		"code true":         `{"code":true}`,
		"code object":       `{"code":{}}`,
		"code array":        `{"code":["PP"]}`,
		"code empty":        `{"code":""}`,
		"code spaces":       `{"code":"   "}`,
		"code too long":     `{"code":"` + strings.Repeat("a", MaxCodeChars+1) + `"}`,
		"too long trimmed":  `{"code":" ` + strings.Repeat("é", MaxCodeChars+1) + ` "}`,
		"code control":      `{"code":"PP-\u0007"}`,
		"code inner tab":    `{"code":"PP\t7KQM"}`,
		"code NUL":          `{"code":"\u0000"}`,
		"code zero width":   `{"code":"PP\u200b-7KQM"}`,
		"lone surrogate":    `{"code":"\ud800"}`,
		"invalid utf8":      "{\"code\":\"\xff\"}",
		"unknown field":     `{"code":"PP-7KQM-X3TD-9HWA","userId":"u"}`,
		"only unknown":      `{"Code":"PP-7KQM-X3TD-9HWA"}`,
		"duplicate code":    `{"code":"PP-7KQM-X3TD-9HWA","code":"PP-7KQM-X3TD-9HWB"}`,
		"escaped duplicate": `{"code":"a","\u0063ode":"b"}`,
		"trailing garbage":  `{"code":"PP-7KQM-X3TD-9HWA"}x`,
		"two objects":       `{"code":"a"}{"code":"b"}`,
		"trailing comma":    `{"code":"a",}`,
		"single quotes":     `{'code':'a'}`,
		"too big":           `{"code":"a"}` + strings.Repeat(" ", httpx.MaxBodyBytes),
	}
	for name, body := range tests {
		got, err := DecodeCode([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %q", name, got)
		} else if !errors.Is(err, ErrInvalidBody) || got != "" {
			t.Errorf("%s: %q, %v (want ErrInvalidBody)", name, got, err)
		}
	}
}

func TestDecodeCodeDoesNotAliasOrWrite(t *testing.T) {
	for _, s := range []string{`{"code":"PP-7KQM-X3TD-9HWA"}`, `{"code":"pp-7kqm-x3td-9hwa"}`} {
		body := []byte(s)
		code, err := DecodeCode(body)
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != s {
			t.Fatalf("DecodeCode wrote into the body: %s", body)
		}
		for i := range body {
			body[i] = 'X'
		}
		if code != "PP-7KQM-X3TD-9HWA" {
			t.Fatalf("result aliases the body: %q", code)
		}
	}
}

func TestDecodeIdempotencyKey(t *testing.T) {
	if k, ok, err := DecodeIdempotencyKey(nil); k != "" || ok || err != nil {
		t.Fatalf("absent: %q %v %v", k, ok, err)
	}
	valid := []string{"01HZ9YW3M1X4GK3PEXAMPLE", "b0f2c5e8-3c1d-4f6a-9e2b-7d4c1a0f5e93", "a", "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}",
		strings.Repeat("k", MaxIdempotencyKeyChars)}
	for _, s := range valid {
		if k, ok, err := DecodeIdempotencyKey([]byte(s)); k != s || !ok || err != nil {
			t.Errorf("%q: %q %v %v", s, k, ok, err)
		}
	}
	invalid := []string{"", " ", "a b", "a\tb", "\x00", "\x7f", "é", "😀", "\xff", "key\n",
		strings.Repeat("k", MaxIdempotencyKeyChars+1)}
	for _, s := range invalid {
		if k, ok, err := DecodeIdempotencyKey([]byte(s)); k != "" || ok || !errors.Is(err, ErrInvalidIdempotencyKey) {
			t.Errorf("%q: %q %v %v", s, k, ok, err)
		}
	}
	raw := []byte("key-1")
	k, _, _ := DecodeIdempotencyKey(raw)
	raw[0] = 'X'
	if k != "key-1" {
		t.Fatal("key aliases the header")
	}
}

// TestDecodeIdempotencyKeyFromHeader checks the nil / empty distinction
// with fasthttp's own Peek: an absent header is nil, an empty one is not.
func TestDecodeIdempotencyKeyFromHeader(t *testing.T) {
	var req fasthttp.Request
	if _, ok, err := DecodeIdempotencyKey(req.Header.Peek("Idempotency-Key")); ok || err != nil {
		t.Fatalf("absent header: %v %v", ok, err)
	}
	req.Header.Set("Idempotency-Key", "")
	if _, _, err := DecodeIdempotencyKey(req.Header.Peek("Idempotency-Key")); !errors.Is(err, ErrInvalidIdempotencyKey) {
		t.Fatalf("empty header: %v", err)
	}
	req.Header.Set("idempotency-key", "abc")
	if k, ok, err := DecodeIdempotencyKey(req.Header.Peek("Idempotency-Key")); k != "abc" || !ok || err != nil {
		t.Fatalf("header: %q %v %v", k, ok, err)
	}
}

func TestDecodeListQuery(t *testing.T) {
	valid := []struct {
		query  string
		limit  int
		cursor string
	}{
		{"", DefaultListLimit, ""},
		{"limit=1", 1, ""},
		{"limit=100", 100, ""},
		{"limit=007", 7, ""},
		{"cursor=att_123", DefaultListLimit, "att_123"},
		{"limit=5&cursor=att_0", 5, "att_0"},
		{"cursor=att_00000000000000000042&limit=50", 50, "att_00000000000000000042"},
		{"cursor=att_" + strings.Repeat("9", MaxCursorChars-len(CursorPrefix)), DefaultListLimit, "att_" + strings.Repeat("9", MaxCursorChars-len(CursorPrefix))},
		{"limit=10&_=1713450000", 10, ""}, // other parameters are ignored
		{"cursor=att%5F12", DefaultListLimit, "att_12"},
	}
	for _, tc := range valid {
		var args fasthttp.Args
		args.Parse(tc.query)
		limit, cursor, err := DecodeListQuery(&args)
		if err != nil || limit != tc.limit || cursor != tc.cursor {
			t.Errorf("%q: %d %q %v; want %d %q", tc.query, limit, cursor, err, tc.limit, tc.cursor)
		}
	}
	invalid := []string{
		"limit=0", "limit=101", "limit=-1", "limit=+5", "limit=5.0", "limit=1e1", "limit=%205", "limit=0x10",
		"limit=", "limit", "limit=99999999999999999999", "limit=5&limit=5", "limit=abc",
		"cursor=", "cursor", "cursor=att_", "cursor=att_x", "cursor=ATT_1", "cursor=123", "cursor=att_-1",
		"cursor=att_1a", "cursor=att_1%00", "cursor=att_" + strings.Repeat("9", MaxCursorChars-len(CursorPrefix)+1),
		"cursor=att_1&cursor=att_2",
	}
	for _, q := range invalid {
		var args fasthttp.Args
		args.Parse(q)
		limit, cursor, err := DecodeListQuery(&args)
		if !errors.Is(err, ErrInvalidQuery) || limit != 0 || cursor != "" {
			t.Errorf("%q: %d %q %v", q, limit, cursor, err)
		}
	}
}

func TestDecodeListQueryCopies(t *testing.T) {
	var args fasthttp.Args
	args.Parse("cursor=att_42")
	_, cursor, err := DecodeListQuery(&args)
	if err != nil {
		t.Fatal(err)
	}
	args.Parse("cursor=att_99")
	if cursor != "att_42" {
		t.Fatalf("cursor aliases the args: %q", cursor)
	}
}
