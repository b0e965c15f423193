package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

var _ net.Error = timeoutErr{}

func TestRequestErrorStatus(t *testing.T) {
	for err, want := range map[error]int{
		fasthttp.ErrBodyTooLarge:                                     413,
		fmt.Errorf("reading: %w", fasthttp.ErrBodyTooLarge):          413,
		&fasthttp.ErrSmallBuffer{}:                                   431,
		&net.OpError{Op: "read", Err: timeoutErr{}}:                  408,
		fasthttp.ErrBrokenChunk{}:                                    400,
		fmt.Errorf("cannot parse Content-Length: %w", net.ErrClosed): 400,
	} {
		if got := RequestErrorStatus(err); got != want {
			t.Errorf("RequestErrorStatus(%v) = %d, want %d", err, got, want)
		}
	}
}

func TestRequestErrorsLongestBase(t *testing.T) {
	var e RequestErrors
	var got string
	e.Add("/a", func(*fasthttp.RequestCtx, int) { got = "a" })
	e.Add("/a/b/", func(*fasthttp.RequestCtx, int) { got = "ab" })
	for path, want := range map[string]string{"/a": "a", "/a/x": "a", "/a/b": "ab", "/a/b/c": "ab", "/a/bc": "a", "/ab": "", "/": ""} {
		got = ""
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(path)
		e.Handle(&ctx, fasthttp.ErrBodyTooLarge)
		if got != want {
			t.Errorf("%s: writer %q, want %q", path, got, want)
		}
		if want == "" && (ctx.Response.StatusCode() != 413 || string(ctx.Response.Body()) != `{"error":"request_too_large"}`) {
			t.Errorf("%s: fallback %d %s", path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
}

func TestSlogLogger(t *testing.T) {
	var buf bytes.Buffer
	l := SlogLogger{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), Level: slog.LevelWarn}
	l.Printf("error when serving connection %q<->%q: %v", "1.2.3.4:5", "6.7.8.9:10", "boom")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%q: %v", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["component"] != "fasthttp" ||
		rec["msg"] != `error when serving connection "1.2.3.4:5"<->"6.7.8.9:10": boom` {
		t.Fatalf("record %v", rec)
	}
	buf.Reset()
	SlogLogger{Logger: l.Logger, Level: slog.LevelDebug}.Printf("dropped %d", 1) // below the handler's level
	if buf.Len() != 0 {
		t.Fatalf("debug line written: %q", buf.String())
	}
	if _, ok := NewServer(nil).Logger.(SlogLogger); !ok {
		t.Fatal("NewServer's Logger is not a SlogLogger")
	}
}

// TestServerLogsThroughSlog checks, through a real listener, that lines
// fasthttp logs for a request (RequestCtx.Logger, which fasthttp prefixes
// with the connection and request) reach slog.
func TestServerLogsThroughSlog(t *testing.T) {
	var buf safeBuffer
	srv := NewServer(func(ctx *fasthttp.RequestCtx) {
		ctx.Logger().Printf("handled %s", ctx.Path())
		ctx.SetStatusCode(204)
	})
	srv.Logger = SlogLogger{Logger: slog.New(slog.NewTextHandler(&buf, nil)), Level: slog.LevelInfo}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	code, _, err := fasthttp.Get(nil, "http://"+ln.Addr().String()+"/ping")
	if err != nil || code != 204 {
		t.Fatalf("GET: %d %v", code, err)
	}
	if s := buf.String(); !strings.Contains(s, "handled /ping") || !strings.Contains(s, "component=fasthttp") || !strings.Contains(s, "level=INFO") {
		t.Fatalf("log %q", s)
	}
}

type safeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *safeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *safeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
