package main

// Helpers of the PaySmart subprocess tests: requests with a secret key and
// an Idempotency-Key, the demo account's keys, a webhook endpoint, and a
// loopback webhook receiver that verifies every signature and keeps what
// it received.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const psBase = "/paysmart/v2"

// psDo sends one PaySmart request: body as JSON (if not nil), the key as
// Bearer (or as Basic user name when basic), Idempotency-Key idem (if
// not empty).
func (p *ledgerProc) psDo(method, path, key, idem string, body any, basic bool) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url(psBase+path), rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if basic {
		req.SetBasicAuth(key, "")
	} else {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, b, resp.Header, nil
}

// psDefinite is psDo retried until an answer other than 503 (bounded).
func (p *ledgerProc) psDefinite(method, path, key, idem string, body any) (int, []byte, http.Header, error) {
	var (
		st  int
		b   []byte
		h   http.Header
		err error
	)
	for range 50 {
		st, b, h, err = p.psDo(method, path, key, idem, body, false)
		if err == nil && st != http.StatusServiceUnavailable {
			return st, b, h, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return st, b, h, err
}

// psMust is psDefinite that wants status want and decodes into out.
func (p *ledgerProc) psMust(method, path, key, idem string, body any, want int, out any) []byte {
	p.t.Helper()
	st, b, _, err := p.psDefinite(method, path, key, idem, body)
	if err != nil || st != want {
		p.t.Fatalf("%s %s: status %d err %v body %s (want %d)", method, path, st, err, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return b
}

// psKeys are the demo account's four keys, from a --demo start's stdout.
type psKeys struct{ secretTest, publishableTest, secretLive, publishableLive string }

func (k psKeys) all() []string {
	return []string{k.secretTest, k.publishableTest, k.secretLive, k.publishableLive}
}

func psDemoKeys(t *testing.T, stdout string) psKeys {
	t.Helper()
	m := demoKeys(t, stdout)
	return psKeys{m["PAYSMART_SECRET_KEY"], m["PAYSMART_PUBLISHABLE_KEY"], m["PAYSMART_LIVE_SECRET_KEY"], m["PAYSMART_LIVE_PUBLISHABLE_KEY"]}
}

// psUnlimit lifts the demo account's rate limit (load tests).
func (p *ledgerProc) psUnlimit() {
	p.t.Helper()
	p.mustJSON("PATCH", "/admin/partners/"+demoPaySmartAccount, adminAuth(p.token),
		map[string]any{"rateLimitPerMinute": 100_000_000}, http.StatusOK, nil)
}

// psEndpoint is a webhook endpoint as created: its id and signing secret.
type psEndpoint struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// psCreateEndpoint creates an endpoint for every event type.
func (p *ledgerProc) psCreateEndpoint(key, url, idem string) psEndpoint {
	p.t.Helper()
	var we psEndpoint
	p.psMust("POST", "/webhook_endpoints", key, idem, map[string]any{"url": url, "enabled_events": []string{"*"}}, http.StatusOK, &we)
	if !strings.HasPrefix(we.ID, "we_") || !strings.HasPrefix(we.Secret, "whsec_") {
		p.t.Fatalf("webhook endpoint %+v: want a we_ id and a whsec_ secret", we)
	}
	return we
}

// psCard is the payment_method of a card payment.
func psCard(number, cvc string, expMonth, expYear int) map[string]any {
	return map[string]any{"type": "card", "card": map[string]any{"number": number, "exp_month": expMonth, "exp_year": expYear, "cvc": cvc}}
}

// psPayment is the part of a payment object the tests read.
type psPayment struct {
	ID             string `json:"id"`
	Object         string `json:"object"`
	Amount         int64  `json:"amount"`
	AmountRefunded int64  `json:"amount_refunded"`
	Currency       string `json:"currency"`
	Status         string `json:"status"`
	Livemode       bool   `json:"livemode"`
	ReceiptURL     string `json:"receipt_url"`
}

// psErrorBody is the error object.
type psErrorBody struct {
	Error struct {
		Type        string `json:"type"`
		Code        string `json:"code"`
		DeclineCode string `json:"decline_code"`
		Payment     string `json:"payment"`
		Param       string `json:"param"`
	} `json:"error"`
}

// psEvent is a webhook body as the receiver reads it.
type psEvent struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Type     string `json:"type"`
	Livemode bool   `json:"livemode"`
	Data     struct {
		Object struct {
			ID      string `json:"id"`
			Payment string `json:"payment"`
		} `json:"object"`
	} `json:"data"`
}

// received is one event as a receiver got it: its first body, the
// delivery id and how many requests carried it.
type received struct {
	ev         psEvent
	body       []byte
	deliveryID string
	requests   int
}

// psReceiver is a webhook receiver on 127.0.0.1: it checks each request's
// paysmart-signature against the secret (set once the endpoint exists),
// answers 2xx to a valid one and keeps one record per event id. failFirst
// events are answered 500 on their first request.
type psReceiver struct {
	t        *testing.T
	srv      *http.Server
	url      string
	mu       sync.Mutex
	secret   string
	events   map[string]*received // by event id
	problems []string
	failNext int // answer this many more valid requests with 500
	headers  []http.Header
}

func newPSReceiver(t *testing.T) *psReceiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &psReceiver{t: t, url: "http://" + ln.Addr().String() + "/hook", events: map[string]*received{}}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go r.srv.Serve(ln)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

func (r *psReceiver) setSecret(s string) {
	r.mu.Lock()
	r.secret = s
	r.mu.Unlock()
}

func (r *psReceiver) problem(format string, a ...any) {
	r.problems = append(r.problems, fmt.Sprintf(format, a...))
}

// ServeHTTP checks and records one delivery attempt.
func (r *psReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = append(r.headers, req.Header.Clone())
	if err := verifySignature(req.Header.Get("paysmart-signature"), body, r.secret, time.Now()); err != nil {
		r.problem("delivery %s: %v", req.Header.Get("paysmart-delivery-id"), err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var ev psEvent
	if err := json.Unmarshal(body, &ev); err != nil || !strings.HasPrefix(ev.ID, "evt_") || ev.Object != "event" {
		r.problem("event body %s: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	did := req.Header.Get("paysmart-delivery-id")
	if got := r.events[ev.ID]; got != nil {
		got.requests++
		if !bytes.Equal(got.body, body) {
			r.problem("event %s delivered with two bodies:\n%s\n%s", ev.ID, got.body, body)
		}
		if got.deliveryID != did {
			r.problem("event %s delivered with delivery ids %q and %q (one endpoint)", ev.ID, got.deliveryID, did)
		}
	} else {
		r.events[ev.ID] = &received{ev: ev, body: body, deliveryID: did, requests: 1}
	}
	if r.failNext > 0 {
		r.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// verifySignature checks "t=<unix>,v1=<hex>" the way Stripe's libraries
// do: v1 is HMAC-SHA256 of "<t>.<body>" keyed with the whole secret, t
// within 300 s of now.
func verifySignature(header string, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return fmt.Errorf("signature before the secret is known")
	}
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("signature header %q: no timestamp", header)
	}
	if d := now.Unix() - t; d > 300 || d < -300 {
		return fmt.Errorf("signature timestamp %d is %d s from now", t, d)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("signature header %q does not verify", header)
}

// byObject returns the received events by type and object id.
func (r *psReceiver) byObject() map[[2]string][]*received {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[[2]string][]*received{}
	for _, e := range r.events {
		k := [2]string{e.ev.Type, e.ev.Data.Object.ID}
		out[k] = append(out[k], e)
	}
	return out
}

// waitFor polls until cond holds (checked under the receiver's lock) or
// timeout passes, and reports whether it held.
func (r *psReceiver) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// takeProblems returns and clears what the receiver found wrong.
func (r *psReceiver) takeProblems() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.problems
	r.problems = nil
	return p
}
