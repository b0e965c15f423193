package httpx

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"\n\r\t", `"\n\r\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\b\f", `"\u0008\u000c"`},
		{"<a>&", `"\u003ca\u003e\u0026"`},
		{"é😀", `"é😀"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"\x7f/", "\"\x7f/\""},
		{"a\xffb", `"a\ufffdb"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
		{"\xc3", `"\ufffd"`},
	}
	for _, tc := range tests {
		got := string(AppendString(nil, tc.in))
		if got != tc.want {
			t.Errorf("AppendString(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if got := string(AppendString([]byte("x:"), "y")); got != `x:"y"` {
		t.Errorf("does not append: %s", got)
	}
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	// For valid UTF-8, the bytes are exactly encoding/json's (which also
	// escapes <, >, &, U+2028 and U+2029).
	for _, s := range []string{"", "a<b>&c", "\x00\x1f\x7f", "\u2028x\u2029", "é😀\"\\/", "\n\r\t"} {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("%q: got %s, encoding/json %s", s, got, want)
		}
	}
}

func TestObjectWriter(t *testing.T) {
	b := Object([]byte("prefix")).Str("userId", "u_<1>").Int("balance", -1500).Bool("success", true).Bool("idempotent", false).Close()
	if got, want := string(b), `prefix{"userId":"u_\u003c1\u003e","balance":-1500,"success":true,"idempotent":false}`; got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	if got := string(Object(nil).Close()); got != "{}" {
		t.Fatalf("empty object: %s", got)
	}
	if got := string(Object(nil).Int("n", 9007199254740991).Close()); got != `{"n":9007199254740991}` {
		t.Fatalf("int: %s", got)
	}
	var m map[string]any
	if err := json.Unmarshal(Object(nil).Str("a", "\x00\"").Int("b", 1).Close(), &m); err != nil || m["a"] != "\x00\"" {
		t.Fatalf("not valid JSON: %v %v", m, err)
	}
}

func TestReply(t *testing.T) {
	var ctx fasthttp.RequestCtx
	Reply(&ctx, 402, []byte(`{"error":"insufficient_balance"}`))
	if ctx.Response.StatusCode() != 402 || string(ctx.Response.Header.ContentType()) != "application/json" ||
		string(ctx.Response.Body()) != `{"error":"insufficient_balance"}` {
		t.Fatalf("status %d type %s body %s", ctx.Response.StatusCode(), ctx.Response.Header.ContentType(), ctx.Response.Body())
	}
}

// roundTripsThroughParseObject: AppendString's output is also accepted by
// our own strict reader and decodes to the same string.
func TestAppendStringParseObject(t *testing.T) {
	for _, s := range []string{"x", "é😀\u2028<>&", "\x00\x1f\"\\", strings.Repeat("ab", 100)} {
		body := Object(nil).Str("k", s).Close()
		var got string
		if err := ParseObject(body, func(_ []byte, v Value) error { got = string(v.Str); return nil }); err != nil || got != s {
			t.Errorf("%q: %q %v", s, got, err)
		}
		if !utf8.Valid(body) {
			t.Errorf("%q: output not UTF-8", s)
		}
	}
}
