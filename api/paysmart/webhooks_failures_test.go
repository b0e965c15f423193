package paysmart_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"ledgerd/actors/outbox"
	"ledgerd/api/apitest"
)

// failing is a loopback receiver whose paths fail each in its own way
// until healed: /timeout never answers, /reset closes the connection
// without an answer, /slow sends its status and then stalls the body,
// /redirect answers 302 to /landing. Healed, every path answers 200.
type failing struct {
	mu      sync.Mutex
	healed  bool
	got     map[string][]http.Header
	release chan struct{}
	base    string
}

func newFailing(t *testing.T) *failing {
	f := &failing{got: map[string][]http.Header{}, release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		f.mu.Lock()
		f.got[r.URL.Path] = append(f.got[r.URL.Path], r.Header.Clone())
		healed := f.healed
		f.mu.Unlock()
		if healed {
			w.WriteHeader(200)
			return
		}
		switch r.URL.Path {
		case "/timeout":
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
		case "/reset":
			if conn, buf, err := w.(http.Hijacker).Hijack(); err == nil {
				_ = buf.Flush()
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		case "/slow":
			w.WriteHeader(200)
			w.Write([]byte(`{"received":`))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
		case "/redirect":
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			w.WriteHeader(200)
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { close(f.release); srv.Close() })
	f.base = "http://" + ln.Addr().String()
	return f
}

func (f *failing) heal() { f.mu.Lock(); f.healed = true; f.mu.Unlock() }

func (f *failing) requests(path string) []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]http.Header(nil), f.got[path]...)
}

func (f *failing) waitFor(t *testing.T, path string, n int) []http.Header {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got := f.requests(path); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d requests, want %d", path, len(f.requests(path)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestWebhooks_FailuresRetried: through the PaySmart API, a receiver that
// times out, resets the connection, stalls its body or redirects gets a
// failed attempt each (recorded with its reason, the redirect not
// followed), and the retry 1 min later by the clock carries the same
// delivery and event ids and succeeds.
func TestWebhooks_FailuresRetried(t *testing.T) {
	clock := apitest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	sender, err := outbox.Start(s.Sys, outbox.Config{MasterKey: apitest.DefaultWebhookKey, AllowInsecure: true, Poll: 10 * time.Millisecond,
		Timeout: 300 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Stop)
	f := newFailing(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	want := map[string]string{
		"/timeout":  "timeout after 300ms",
		"/reset":    "connection reset",
		"/slow":     "reading the answer: timeout after 300ms",
		"/redirect": "http status 302 (redirects are not followed)",
	}
	target := map[string]string{}
	for path := range want {
		we := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": f.base + path, "enabled_events": []string{"customer.created"}}))
		target[we["id"].(string)] = path
	}
	s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Ann"}).WantStatus(t, 200)
	first := map[string]http.Header{}
	for path := range want {
		first[path] = f.waitFor(t, path, 1)[0]
	}
	// Each failure is recorded with its reason; none is followed or retried
	// before the clock gets to it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		data := s.Admin(t, "GET", "/webhooks/deliveries?status=pending&api=paysmart&limit=100", nil).JSON(t)["data"].([]any)
		reasons := map[string]string{}
		for _, d := range data {
			m := d.(map[string]any)
			reasons[target[m["target"].(string)]] = fmt.Sprint(m["last_error"])
		}
		if fmt.Sprint(reasons) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pending deliveries' errors %v, want %v", reasons, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(f.requests("/landing")); n != 0 {
		t.Fatalf("the redirect was followed (%d requests)", n)
	}
	f.heal()
	clock.Advance(61 * time.Second)
	for path := range want {
		retry := f.waitFor(t, path, 2)[1]
		for _, h := range []string{"paysmart-delivery-id", "paysmart-event-id"} {
			if retry.Get(h) == "" || retry.Get(h) != first[path].Get(h) {
				t.Fatalf("%s: retry %s %q, first %q", path, h, retry.Get(h), first[path].Get(h))
			}
		}
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		data := s.Admin(t, "GET", "/webhooks/deliveries?status=succeeded&api=paysmart&limit=100", nil).JSON(t)["data"].([]any)
		if len(data) == len(want) {
			for _, d := range data {
				if m := d.(map[string]any); fmt.Sprint(m["attempts"]) != "2" {
					t.Fatalf("delivery %v", m)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries succeeded, want %d", len(data), len(want))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
