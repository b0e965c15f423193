package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// A test-only module: one event that enqueues a delivery of its body to
// each of its targets, and the "test" API whose endpoints live in a map
// the test changes (URL, secret rotation, enabled).

const evNotified engine.EventType = 252 // test-only wire number

type notified struct {
	engine.Stamp
	EventID string
	Targets []string
	Body    []byte
}

func (*notified) EventType() engine.EventType { return evNotified }

type testEndpoint struct {
	url      string
	rotation int64
	disabled bool
}

var (
	endpointsMu sync.Mutex
	endpoints   = map[string]testEndpoint{}
)

func setEndpoint(target string, ep testEndpoint) {
	endpointsMu.Lock()
	defer endpointsMu.Unlock()
	endpoints[target] = ep
}

const (
	hdrDelivery  = "X-Test-Delivery-Id"
	hdrEvent     = "X-Test-Event-Id"
	hdrSignature = "X-Test-Signature"
)

var testSchedule = []time.Duration{time.Minute, 5 * time.Minute}

func sign(secret string, body []byte, t int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", t)
	m.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t, hex.EncodeToString(m.Sum(nil)))
}

func init() {
	engine.Register(engine.EventDef[*notified]{Type: evNotified, Name: "outboxtest.notified", Fields: 3,
		Encode: func(w *engine.Writer, ev *notified) { w.Str(ev.EventID); w.Strs(ev.Targets); w.Bytes(ev.Body) },
		Decode: func(r *engine.Reader, t int64) *notified {
			return &notified{Stamp: engine.Stamp{TimeMs: t}, EventID: r.Str(), Targets: r.Strs(100), Body: r.Bytes()}
		},
		Validate: func(ev *notified) error {
			if ev.EventID == "" || len(ev.Targets) == 0 {
				return errors.New("notified: event id and targets")
			}
			return nil
		},
		Apply: func(st *engine.State, ev *notified) {
			for _, t := range ev.Targets {
				eob.Enqueue(st, eob.Delivery{ID: eob.DeliveryID(ev.EventID, t), API: "test", Partner: "ptr_" + t, Target: t,
					EventID: ev.EventID, EventType: "test.happened", Body: ev.Body, CreatedMs: ev.TimeMs})
			}
		},
	})
	RegisterAPI("test", API{Schedule: testSchedule,
		Resolve: func(_ *engine.State, d *eob.Delivery) (string, string, int64, bool) {
			endpointsMu.Lock()
			defer endpointsMu.Unlock()
			ep, ok := endpoints[d.Target]
			return ep.url, "sec_" + d.Target, ep.rotation, ok && !ep.disabled
		},
		Sign: func(secret string, d *eob.Delivery, now time.Time) [][2]string {
			return [][2]string{{hdrDelivery, d.ID}, {hdrEvent, d.EventID}, {hdrSignature, sign(secret, d.Body, now.Unix())}}
		},
	})
}

// clock is the System's clock; tests move it.
type clock struct{ ms atomic.Int64 }

func (c *clock) Now() time.Time       { return time.UnixMilli(c.ms.Load()) }
func (c *clock) move(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func newClock() *clock                { c := &clock{}; c.ms.Store(1_700_000_000_000); return c }
func quiet() *slog.Logger             { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func nowMs(s *actors.System) int64    { return s.Now().UnixMilli() }
func body(i int) []byte               { return []byte(fmt.Sprintf(`{"id":"evt_%d","object":"event"}`, i)) }
func idOf(event int, target string) string {
	return eob.DeliveryID(fmt.Sprintf("evt_%d", event), target)
}

var master = []byte("0123456789abcdef0123456789abcdef")

// wait bounds every wait for something that must happen; reaching it is a
// hang, not a slow machine.
const wait = 30 * time.Second

type harness struct {
	t     *testing.T
	dir   string
	clock *clock
	sys   *actors.System
	snd   *Sender
	cfg   Config
}

func newHarness(t *testing.T, cfg Config) *harness {
	h := &harness{t: t, dir: t.TempDir(), clock: newClock(), cfg: cfg}
	h.start(true)
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start(sender bool) {
	sys, err := actors.Start(actors.Config{DataDir: h.dir, Now: h.clock.Now, Logger: quiet(), SnapshotEvery: 1 << 40,
		Fatal: func(err error) { h.t.Errorf("fatal: %v", err) }})
	if err != nil {
		h.t.Fatal(err)
	}
	h.sys = sys
	if sender {
		cfg := h.cfg
		cfg.MasterKey, cfg.AllowInsecure, cfg.Logger = master, true, quiet()
		if cfg.Poll == 0 {
			cfg.Poll = 5 * time.Millisecond
		}
		if h.snd, err = Start(sys, cfg); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *harness) stop() {
	if h.snd != nil {
		h.snd.Stop()
		h.snd = nil
	}
	if h.sys != nil {
		if err := h.sys.Stop(); err != nil {
			h.t.Error(err)
		}
		h.sys = nil
	}
}

func (h *harness) notify(event int, targets ...string) {
	h.t.Helper()
	ev := &notified{Stamp: engine.Stamp{TimeMs: nowMs(h.sys)}, EventID: fmt.Sprintf("evt_%d", event), Targets: targets, Body: body(event)}
	if err := h.sys.Commit(ev); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) delivery(id string) eob.Delivery {
	var d eob.Delivery
	h.sys.ReadState(func(st *engine.State) { d, _ = eob.Get(st, id) })
	return d
}

// waitDelivery polls until the delivery satisfies ok.
func (h *harness) waitDelivery(id string, what string, ok func(d eob.Delivery) bool) eob.Delivery {
	h.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		d := h.delivery(id)
		if ok(d) {
			return d
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("delivery %s never %s: %+v", id, what, d)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) waitAttempts(id string, n int64) eob.Delivery {
	h.t.Helper()
	return h.waitDelivery(id, fmt.Sprintf("reached %d attempts", n), func(d eob.Delivery) bool { return d.Attempts >= n })
}

// receiver is an HTTP server on 127.0.0.1 that records every request and
// answers with the handler of the moment.
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []recorded
	handler  http.HandlerFunc
}

type recorded struct {
	path, delivery, event, signature, contentType string
	body                                          []byte
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{handler: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, recorded{path: req.URL.Path, delivery: req.Header.Get(hdrDelivery), event: req.Header.Get(hdrEvent),
			signature: req.Header.Get(hdrSignature), contentType: req.Header.Get("Content-Type"), body: b})
		handler := r.handler
		r.mu.Unlock()
		handler(w, req)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.srv.Listener = ln
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) set(h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handler = h
}

func (r *receiver) got() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.requests...)
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// verify checks a request's signature with the endpoint's derived secret
// and returns its timestamp.
func verify(t *testing.T, r recorded, target string, rotation int64) int64 {
	t.Helper()
	ts, _, _ := strings.Cut(strings.TrimPrefix(r.signature, "t="), ",")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || r.signature != sign(Secret(master, "sec_"+target, rotation), r.body, sec) {
		t.Fatalf("signature %q does not verify", r.signature)
	}
	return sec
}

func TestSender_Success(t *testing.T) {
	rc := newReceiver(t)
	setEndpoint("ok1", testEndpoint{url: rc.srv.URL + "/hook", rotation: 3})
	h := newHarness(t, Config{})
	h.notify(1, "ok1")
	d := h.waitDelivery(idOf(1, "ok1"), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	if d.Attempts != 1 || d.LastStatus != 200 || d.LastError != "" || d.NextMs != 0 || d.FirstMs == 0 {
		t.Fatalf("delivery %+v", d)
	}
	reqs := rc.got()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.path != "/hook" || r.delivery != d.ID || r.event != "evt_1" || string(r.body) != string(body(1)) || r.contentType != "application/json" {
		t.Fatalf("request %+v", r)
	}
	if ts := verify(t, r, "ok1", 3); ts != h.clock.Now().Unix() {
		t.Fatalf("signed at %d, clock %d", ts, h.clock.Now().Unix())
	}
}

// TestSender_Schedule: a failing endpoint is tried again at the schedule's
// offsets from the first attempt (when the clock gets there), then the
// delivery is failed; an operator retry re-arms it and it succeeds. Every
// attempt carries the same delivery id and body, signed anew.
func TestSender_Schedule(t *testing.T) {
	rc := newReceiver(t)
	rc.set(status(500))
	setEndpoint("sched", testEndpoint{url: rc.srv.URL})
	h := newHarness(t, Config{})
	id := idOf(2, "sched")
	start := nowMs(h.sys)
	h.notify(2, "sched")
	d := h.waitAttempts(id, 1)
	if d.Status != eob.StatusPending || d.LastStatus != 500 || d.LastError != "http status 500" || d.NextMs != start+time.Minute.Milliseconds() {
		t.Fatalf("after attempt 1: %+v", d)
	}
	h.clock.move(59 * time.Second) // not yet due
	h.clock.move(time.Second)
	d = h.waitAttempts(id, 2)
	if d.Status != eob.StatusPending || d.NextMs != start+(5*time.Minute).Milliseconds() {
		t.Fatalf("after attempt 2: %+v", d)
	}
	h.clock.move(4 * time.Minute)
	d = h.waitAttempts(id, 3)
	if d.Status != eob.StatusFailed || d.NextMs != 0 {
		t.Fatalf("after attempt 3: %+v", d)
	}
	if _, err := Retry(h.sys, "dlv_nope"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	rc.set(status(204))
	// The answer is read after the commit: the sender, woken by it, may
	// have delivered it already.
	if d, err := Retry(h.sys, id); err != nil || (d.Status != eob.StatusPending && d.Status != eob.StatusSucceeded) || d.RoundStart != 3 {
		t.Fatalf("retry: %+v %v", d, err)
	}
	if _, err := Retry(h.sys, id); !errors.Is(err, ErrNotFailed) {
		t.Fatalf("second retry: %v", err)
	}
	d = h.waitDelivery(id, "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	if d.Attempts != 4 || d.Retries != 1 || d.LastStatus != 204 {
		t.Fatalf("after the retry: %+v", d)
	}
	reqs := rc.got()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	var stamps []int64
	for _, r := range reqs {
		if r.delivery != id || string(r.body) != string(body(2)) {
			t.Fatalf("request %+v", r)
		}
		stamps = append(stamps, verify(t, r, "sched", 0))
	}
	if stamps[0] == stamps[1] || stamps[1] == stamps[2] {
		t.Fatalf("timestamps not taken anew: %v", stamps)
	}
}

// TestSender_Failures: each way an attempt fails is recorded as a failed
// attempt with its reason, and retried on schedule.
func TestSender_Failures(t *testing.T) {
	rc := newReceiver(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	handlers := map[string]http.HandlerFunc{
		"/500":      status(500),
		"/redirect": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/landing", http.StatusFound) },
		"/landing":  status(200),
		"/timeout": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
		"/reset": func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
		},
		"/slowbody": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(200)
			w.Write([]byte("{"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-release:
			}
		},
	}
	rc.set(func(w http.ResponseWriter, r *http.Request) { handlers[r.URL.Path](w, r) })
	want := map[string]struct {
		status int64
		err    string
	}{
		"500":      {500, "http status 500"},
		"redirect": {302, "http status 302 (redirects are not followed)"},
		"timeout":  {0, "timeout after 300ms"},
		"reset":    {0, "connection reset"},
		"slowbody": {200, "reading the answer: timeout after 300ms"},
	}
	var targets []string
	for name := range want {
		setEndpoint("f_"+name, testEndpoint{url: rc.srv.URL + "/" + name})
		targets = append(targets, "f_"+name)
	}
	setEndpoint("f_gone", testEndpoint{url: rc.srv.URL + "/500", disabled: true})
	h := newHarness(t, Config{Timeout: 300 * time.Millisecond})
	start := nowMs(h.sys)
	h.notify(3, append(targets, "f_gone")...)
	for name, w := range want {
		d := h.waitAttempts(idOf(3, "f_"+name), 1)
		if d.Status != eob.StatusPending || d.LastStatus != w.status || d.LastError != w.err || d.NextMs != start+time.Minute.Milliseconds() {
			t.Errorf("%s: %+v", name, d)
		}
	}
	d := h.waitAttempts(idOf(3, "f_gone"), 1)
	if d.Status != eob.StatusFailed || d.LastError != "endpoint deleted or disabled" {
		t.Errorf("disabled endpoint: %+v", d)
	}
	for _, r := range rc.got() {
		if r.path == "/landing" {
			t.Fatal("a redirect was followed")
		}
	}
	h.clock.move(time.Minute)
	for name := range want {
		h.waitAttempts(idOf(3, "f_"+name), 2)
	}
}

// TestSender_Restart: pending deliveries resume after a restart, with the
// schedule the log recorded; deliveries enqueued while no sender ran are
// sent when one starts.
func TestSender_Restart(t *testing.T) {
	rc := newReceiver(t)
	rc.set(status(503))
	setEndpoint("rs", testEndpoint{url: rc.srv.URL})
	h := newHarness(t, Config{})
	h.notify(4, "rs")
	first := h.waitAttempts(idOf(4, "rs"), 1)
	h.stop()
	h.start(false)
	h.notify(5, "rs")
	h.stop()
	rc.set(status(200))
	h.start(true)
	d5 := h.waitDelivery(idOf(5, "rs"), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	if d5.Attempts != 1 {
		t.Fatalf("delivery 5: %+v", d5)
	}
	if d := h.delivery(idOf(4, "rs")); d.Attempts != 1 || d.NextMs != first.NextMs {
		t.Fatalf("delivery 4 attempted before due: %+v", d)
	}
	h.clock.move(time.Minute)
	d4 := h.waitDelivery(idOf(4, "rs"), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	if d4.Attempts != 2 {
		t.Fatalf("delivery 4: %+v", d4)
	}
}

// TestSender_Concurrency: at most PerEndpoint attempts run per endpoint
// and Total in all.
func TestSender_Concurrency(t *testing.T) {
	const perEndpoint, total = 2, 3
	rc := newReceiver(t)
	var mu sync.Mutex
	running := map[string]int{}
	maxPer, maxAll, all := 0, 0, 0
	release := make(chan struct{})
	rc.set(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		running[r.URL.Path]++
		all++
		maxPer, maxAll = max(maxPer, running[r.URL.Path]), max(maxAll, all)
		mu.Unlock()
		<-release
		mu.Lock()
		running[r.URL.Path]--
		all--
		mu.Unlock()
	})
	setEndpoint("cA", testEndpoint{url: rc.srv.URL + "/a"})
	setEndpoint("cB", testEndpoint{url: rc.srv.URL + "/b"})
	h := newHarness(t, Config{PerEndpoint: perEndpoint, Total: total})
	for i := range 8 {
		h.notify(100+i, "cA", "cB")
	}
	deadline := time.Now().Add(wait)
	for {
		mu.Lock()
		n := all
		mu.Unlock()
		if n == total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts running, want %d", n, total)
		}
		time.Sleep(2 * time.Millisecond)
	}
	close(release)
	for i := range 8 {
		for _, tg := range []string{"cA", "cB"} {
			h.waitDelivery(idOf(100+i, tg), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if maxPer > perEndpoint || maxAll > total {
		t.Fatalf("at most %d per endpoint and %d in all ran, bounds %d and %d", maxPer, maxAll, perEndpoint, total)
	}
}
