package main

// Crash test of hosted checkout with a real ledgerd process and a webhook
// receiver on loopback: workers create payments (each under its own
// Idempotency-Key) and pay them on the checkout page (a declined card
// first for one in four), kill -9 at a random moment during the
// submissions, `ledgerd verify` on the data dir, restart. Then:
//   - an unanswered create retried with its key gets its definite answer;
//   - every payment acknowledged as paid (a 303 to return_url) is
//     completed, and a payment no 303 acknowledged is pending or completed;
//   - every completed payment's payment.completed reaches the receiver,
//     signed (Standard Webhooks), under one event id: none completed twice,
//     none completed without its webhook; no pending payment has one;
//   - a card posted again to a paid payment's page completes nothing.
//
// Environment:
//
//	LEDGERD_CHECKOUT_CRASH_CYCLES  kill/restart cycles (default: LEDGERD_CRASH_CYCLES, else 3; 2 with -short)
//	LEDGERD_CRASH_SEED             seed for delays and choices (default: time)

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const ckWorkers = 8

func ckCycles(t *testing.T) int {
	for _, name := range []string{"LEDGERD_CHECKOUT_CRASH_CYCLES", "LEDGERD_CRASH_CYCLES"} {
		if s := os.Getenv(name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				t.Fatalf("%s=%q", name, s)
			}
			return v
		}
	}
	if testing.Short() {
		return 2
	}
	return 3
}

// ckReceiver records payment webhooks by event id and checks each
// signature with the shop's secret.
type ckReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	key      []byte
	events   map[string]*ckEvent // webhook-id ->
	problems []string
}

type ckEvent struct {
	typ, payment string
	body         []byte
	requests     int
}

func newCkReceiver(t *testing.T) *ckReceiver {
	r := &ckReceiver{events: map[string]*ckEvent{}}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *ckReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, ts := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp")
	r.mu.Lock()
	defer r.mu.Unlock()
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(id + "." + ts + "."))
	m.Write(body)
	if want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(req.Header.Get("webhook-signature")), []byte(want)) {
		r.problems = append(r.problems, "bad signature on "+id)
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Data.ID == "" {
		r.problems = append(r.problems, fmt.Sprintf("event %s: %s", id, body))
	}
	if e := r.events[id]; e != nil {
		if !bytes.Equal(e.body, body) {
			r.problems = append(r.problems, "event "+id+" redelivered with another body")
		}
		e.requests++
	} else {
		r.events[id] = &ckEvent{typ: ev.Type, payment: ev.Data.ID, body: body, requests: 1}
	}
	w.WriteHeader(http.StatusNoContent)
}

// completions is, per payment, the ids of its payment.completed events.
func (r *ckReceiver) completions() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	for id, e := range r.events {
		if e.typ == "payment.completed" {
			out[e.payment] = append(out[e.payment], id)
		}
	}
	return out
}

// ckPayment is one payment the test created and tried to pay.
type ckPayment struct {
	idem    string
	id      string // "" until a create answered
	token   string
	paidAck bool // a 303 to return_url came back
}

var ckCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// ckClient posts forms without following redirects.
var ckClient = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (p *ledgerProc) ckCreate(key string, c *ckPayment) error {
	st, b, err := p.do("POST", "/checkout/api/v1/payments", map[string]string{"Authorization": "Bearer " + key, "Idempotency-Key": c.idem},
		map[string]any{"amount": 1500, "currency": "usd", "return_url": "http://127.0.0.1:9/back?order=" + c.idem})
	if err != nil {
		return err
	}
	var m struct {
		ID          string `json:"id"`
		CheckoutURL string `json:"checkout_url"`
	}
	if st != http.StatusOK || json.Unmarshal(b, &m) != nil {
		return fmt.Errorf("create %s: %d %s", c.idem, st, b)
	}
	c.id, c.token = m.ID, m.CheckoutURL[strings.LastIndexByte(m.CheckoutURL, '/')+1:]
	return nil
}

// ckPay submits number on c's page; it returns the answer's status.
func (p *ledgerProc) ckPay(c *ckPayment, number string) (int, string, error) {
	page := p.url("/checkout/pay/" + c.token)
	resp, err := ckClient.Get(page)
	if err != nil {
		return 0, "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := ckCSRF.FindSubmatch(body)
	if m == nil {
		return resp.StatusCode, string(body), nil // no form: the payment takes no card
	}
	exp := fmt.Sprintf("12/%02d", (time.Now().Year()+1)%100)
	resp, err = ckClient.PostForm(page, url.Values{"csrf": {string(m[1])}, "number": {number}, "expiry": {exp}, "cvc": {"123"}})
	if err != nil {
		return 0, "", err
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body), nil
}

func ckLoad(p *ledgerProc, key string, seed uint64, cycle int, stop <-chan struct{}) []*ckPayment {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []*ckPayment
	for w := range ckWorkers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(cycle*100+w)))
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				c := &ckPayment{idem: fmt.Sprintf("ck-c%d-w%d-%05d", cycle, w, n)}
				mu.Lock()
				all = append(all, c)
				mu.Unlock()
				if p.ckCreate(key, c) != nil {
					return
				}
				if rng.IntN(4) == 0 {
					if st, _, err := p.ckPay(c, "4000000000000002"); err != nil || st != http.StatusPaymentRequired {
						return
					}
				}
				st, _, err := p.ckPay(c, "4242424242424242")
				if err != nil {
					return
				}
				if st == http.StatusSeeOther {
					c.paidAck = true
				}
			}
		})
	}
	wg.Wait()
	return all
}

func TestCheckoutCrashRecoveryKill9(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	cycles := ckCycles(t)
	t.Logf("seed %d (LEDGERD_CRASH_SEED), %d cycles (LEDGERD_CHECKOUT_CRASH_CYCLES)", seed, cycles)
	dataDir, logDir := t.TempDir(), t.TempDir()
	logSeedOnFailure(t, seed, logDir)
	rng := rand.New(rand.NewPCG(seed, 2))
	startRun := func(run int) *ledgerProc {
		return start(t, bin, dataDir, fmt.Sprintf("run %d", run), func(attempt int) string {
			return filepath.Join(logDir, fmt.Sprintf("run-%02d-%d.log", run, attempt))
		}, procOpts{args: []string{"--snapshot-every", "300", "--snapshot-fixed", "--webhooks-insecure"}, token: crashAdminToken})
	}
	begin := time.Now()
	p := startRun(0)
	recv := newCkReceiver(t)
	var shop struct {
		ID            string            `json:"id"`
		Keys          map[string]string `json:"keys"`
		WebhookSecret string            `json:"webhook_secret"`
	}
	p.mustJSON("POST", "/admin/checkout/shops", adminAuth(crashAdminToken), map[string]any{"name": "Crash shop",
		"webhook_url": recv.srv.URL + "/hooks", "rate_limit_per_minute": 10_000_000}, http.StatusCreated, &shop)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(shop.WebhookSecret, "whsec_"))
	recv.mu.Lock()
	recv.key = key
	recv.mu.Unlock()
	testKey := shop.Keys["test"]

	var all []*ckPayment
	for cycle := 1; cycle <= cycles; cycle++ {
		delay := time.Duration(150+rng.IntN(451)) * time.Millisecond
		stop := make(chan struct{})
		loaded := make(chan []*ckPayment)
		go func() { loaded <- ckLoad(p, testKey, seed, cycle, stop) }()
		time.Sleep(delay)
		p.kill()
		close(stop)
		batch := <-loaded
		all = append(all, batch...)
		verifyDataDir(t, dataDir, fmt.Sprintf("after kill %d", cycle))
		p = startRun(cycle)
		checkRestartLog(t, p.logPath)
		lost := 0
		for _, c := range batch {
			if c.id == "" {
				lost++
				if err := p.ckCreate(testKey, c); err != nil {
					t.Fatalf("retry of create %s: %v", c.idem, err)
				}
			}
		}
		ckCheck(t, p, testKey, recv, all)
		t.Logf("cycle %d: killed after %v; %d payments, %d creates retried", cycle, delay, len(batch), lost)
		if t.Failed() {
			t.FailNow()
		}
	}
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	verifyWithBinary(t, bin, dataDir)
	paid := 0
	for _, c := range all {
		if c.paidAck {
			paid++
		}
	}
	t.Logf("%d cycles: %d payments, %d acknowledged paid; total %v", cycles, len(all), paid, time.Since(begin).Round(time.Millisecond))
}

// ckCheck compares each payment's durable status with what was
// acknowledged and with the webhooks received.
func ckCheck(t *testing.T, p *ledgerProc, key string, recv *ckReceiver, all []*ckPayment) {
	t.Helper()
	completed := map[string]bool{}
	for _, c := range all {
		var m struct{ Status string }
		p.mustJSON("GET", "/checkout/api/v1/payments/"+c.id, map[string]string{"Authorization": "Bearer " + key}, nil, http.StatusOK, &m)
		switch {
		case c.paidAck && m.Status != "completed":
			t.Errorf("payment %s: acknowledged paid, now %s", c.id, m.Status)
		case m.Status != "completed" && m.Status != "pending":
			t.Errorf("payment %s: %s", c.id, m.Status)
		}
		completed[c.id] = m.Status == "completed"
	}
	// Every completed payment's webhook arrives, under one event id.
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := recv.completions()
		missing := 0
		for id, done := range completed {
			if done && len(got[id]) == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			if missing > 0 {
				t.Errorf("%d completed payments without their payment.completed webhook", missing)
			}
			for id, evs := range got {
				if len(evs) != 1 {
					t.Errorf("payment %s completed %d times: events %v", id, len(evs), evs)
				}
				if !completed[id] {
					t.Errorf("payment %s: a payment.completed webhook but not completed", id)
				}
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	recv.mu.Lock()
	if len(recv.problems) > 0 {
		t.Errorf("receiver: %v", recv.problems)
	}
	recv.mu.Unlock()
	// A paid payment's page takes no card.
	for _, c := range all {
		if completed[c.id] {
			if st, body, err := p.ckPay(c, "4242424242424242"); err != nil || st == http.StatusSeeOther || !strings.Contains(body, "Payment complete") {
				t.Errorf("paying %s again: %d %v", c.id, st, err)
			}
			break
		}
	}
}
