package main

// Crash test of PaySmart with a real ledgerd process and a webhook
// receiver on loopback: payments (succeeding and declined cards) and
// partial refunds under load with unique Idempotency-Keys, kill -9 at a
// random moment, `ledgerd verify` on the data dir, restart, retry every
// request with its key. Then:
//   - every answered request is answered again with the same status and
//     bytes, as a replay;
//   - every acknowledged payment exists with its status, amount and the
//     refunds acknowledged for it; the test-mode balance per currency is
//     succeeded minus refunded;
//   - every payment's and refund's event reaches the receiver at least
//     once, under one event id, always with the same body and delivery id,
//     and its signature verifies.
//
// Environment:
//
//	LEDGERD_PAYSMART_CRASH_CYCLES  kill/restart cycles (default: LEDGERD_CRASH_CYCLES, else 3)
//	LEDGERD_CRASH_SEED             seed for delays and choices (default: time)

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Cards of the crash test: Stripe's succeeding Visa and its generic decline.
const (
	psCardOK      = "4242424242424242"
	psCardDecline = "4000000000000002"
)

// psDeliveryWait bounds the wait for every event to reach the receiver
// after a restart (deliveries resume at once; this only bounds a failure).
const psDeliveryWait = 90 * time.Second

// psSent is one POST the crash test sent under its own Idempotency-Key.
type psSent struct {
	refund bool // a refund, else a payment
	idem   string
	body   map[string]any
	cycle  int
	status int    // 0: no answer yet
	resp   []byte // the first answer
	// Decoded from the answer:
	id        string // pay_… (also of a declined payment) or re_…
	payment   string // a refund's payment
	amount    int64
	currency  string
	succeeded bool // a payment that succeeded
}

// psOwnPayment is an acknowledged succeeded payment a worker may refund
// (twice at most, a quarter of its amount each time).
type psOwnPayment struct {
	s       *psSent
	refunds int
}

func psCycles(t *testing.T) int {
	for _, name := range []string{"LEDGERD_PAYSMART_CRASH_CYCLES", "LEDGERD_CRASH_CYCLES"} {
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

var psCurrencies = []string{"usd", "eur", "gbp"}

// decode fills what the answer says (status 200 or 402) into s.
func (s *psSent) decode(st int, b []byte) error {
	s.status, s.resp = st, b
	switch {
	case s.refund && st == http.StatusOK:
		var r struct {
			ID, Object, Payment string
			Amount              int64
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Object != "refund" || r.Payment != s.payment || r.Amount != s.amount {
			return fmt.Errorf("refund %s: answer %s (%v)", s.idem, b, err)
		}
		s.id = r.ID
	case !s.refund && st == http.StatusOK:
		var p psPayment
		if err := json.Unmarshal(b, &p); err != nil || p.Object != "payment" || p.Status != "succeeded" || p.Amount != s.amount || p.Currency != s.currency {
			return fmt.Errorf("payment %s: answer %s (%v)", s.idem, b, err)
		}
		s.id, s.succeeded = p.ID, true
	case !s.refund && st == http.StatusPaymentRequired:
		var e psErrorBody
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Type != "card_error" || e.Error.Payment == "" {
			return fmt.Errorf("payment %s: decline %s (%v)", s.idem, b, err)
		}
		s.id = e.Error.Payment
	default:
		return fmt.Errorf("%s: status %d %s", s.idem, st, b)
	}
	return nil
}

// psLoad runs crashWorkers workers until stop. Each creates payments (one
// in six with the declined card) and refunds a quarter of its own
// acknowledged payments, at most twice each.
func psLoad(p *ledgerProc, key string, seed uint64, cycle int, own [][]*psOwnPayment, stop <-chan struct{}) []*psSent {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []*psSent
	)
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(cycle*1000+w)))
			var local []*psSent
			defer func() {
				mu.Lock()
				all = append(all, local...)
				mu.Unlock()
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				s := &psSent{idem: fmt.Sprintf("ps-c%d-w%02d-%06d", cycle, w, n), cycle: cycle}
				if mine := own[w]; len(mine) > 0 && rng.IntN(3) == 0 {
					o := mine[rng.IntN(len(mine))]
					if o.refunds < 2 {
						o.refunds++
						s.refund, s.payment, s.amount, s.currency = true, o.s.id, o.s.amount/4, o.s.currency
						s.body = map[string]any{"payment": s.payment, "amount": s.amount}
					}
				}
				if !s.refund {
					card := psCardOK
					if rng.IntN(6) == 0 {
						card = psCardDecline
					}
					s.amount, s.currency = 200+rng.Int64N(100_000), psCurrencies[rng.IntN(len(psCurrencies))]
					s.body = map[string]any{"amount": s.amount, "currency": s.currency, "payment_method": psCard(card, "123", 12, 2034),
						"description": "crash test " + s.idem}
				}
				local = append(local, s)
				path := "/payments"
				if s.refund {
					path = "/refunds"
				}
				st, b, _, err := p.psDo("POST", path, key, s.idem, s.body, false)
				if err != nil || st == http.StatusServiceUnavailable {
					continue
				}
				if err := s.decode(st, b); err != nil {
					s.status = -st // a wrong answer: the checks report it
					continue
				}
				if s.succeeded {
					own[w] = append(own[w], &psOwnPayment{s: s})
				}
			}
		}()
	}
	<-stop
	wg.Wait()
	return all
}

func TestPaySmartCrashRecoveryKill9(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	cycles := psCycles(t)
	t.Logf("seed %d (LEDGERD_CRASH_SEED), %d cycles (LEDGERD_PAYSMART_CRASH_CYCLES)", seed, cycles)
	dataDir, logDir := t.TempDir(), t.TempDir()
	logSeedOnFailure(t, seed, logDir)
	rng := rand.New(rand.NewPCG(seed, 1))
	args := []string{"--snapshot-every", "500", "--snapshot-fixed", "--webhooks-insecure"}
	startRun := func(run int, extra ...string) *ledgerProc {
		return start(t, bin, dataDir, fmt.Sprintf("run %d", run), func(attempt int) string {
			return filepath.Join(logDir, fmt.Sprintf("run-%02d-%d.log", run, attempt))
		}, procOpts{args: append(append([]string{}, args...), extra...), token: crashAdminToken,
			stdout: filepath.Join(logDir, fmt.Sprintf("run-%02d.stdout", run))})
	}
	begin := time.Now()
	p := startRun(0, "--demo")
	keys := psDemoKeys(t, readLog(filepath.Join(logDir, "run-00.stdout")))
	p.psUnlimit()
	recv := newPSReceiver(t)
	we := p.psCreateEndpoint(keys.secretTest, recv.url, "ps-crash-endpoint")
	recv.setSecret(we.Secret)

	own := make([][]*psOwnPayment, crashWorkers)
	var sent []*psSent
	for cycle := 1; cycle <= cycles; cycle++ {
		delay := time.Duration(150+rng.IntN(451)) * time.Millisecond
		stop := make(chan struct{})
		loaded := make(chan []*psSent)
		go func() { loaded <- psLoad(p, keys.secretTest, seed, cycle, own, stop) }()
		time.Sleep(delay)
		p.kill()
		close(stop)
		batch := <-loaded
		sent = append(sent, batch...)
		verifyDataDir(t, dataDir, fmt.Sprintf("after kill %d", cycle))

		p = startRun(cycle)
		checkRestartLog(t, p.logPath)
		answered, appliedBefore, appliedNow := psRetry(t, p, keys.secretTest, batch)
		psCheckState(t, p, keys.secretTest, sent)
		psCheckEvents(t, recv, sent)
		t.Logf("cycle %d: killed after %v; %d requests sent, %d answered; unanswered ones: %d applied before the crash, %d on retry",
			cycle, delay, len(batch), answered, appliedBefore, appliedNow)
		if t.Failed() {
			t.FailNow()
		}
	}
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	verifyWithBinary(t, bin, dataDir)
	pays, refunds, declined := 0, 0, 0
	for _, s := range sent {
		switch {
		case s.refund:
			refunds++
		case s.succeeded:
			pays++
		default:
			declined++
		}
	}
	recv.mu.Lock()
	events, requests := len(recv.events), 0
	for _, e := range recv.events {
		requests += e.requests
	}
	recv.mu.Unlock()
	t.Logf("%d cycles: %d payments succeeded, %d declined, %d refunds; %d events received in %d requests (%d redelivered); total %v",
		cycles, pays, declined, refunds, events, requests, requests-events, time.Since(begin).Round(time.Millisecond))
}

// psRetry sends every request of batch again with its key: an answered
// one must be replayed byte for byte; an unanswered one now gets its
// definite answer (a replay exactly when it was applied before the crash).
func psRetry(t *testing.T, p *ledgerProc, key string, batch []*psSent) (answered, appliedBefore, appliedNow int) {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	fail := func(format string, a ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	for _, s := range batch {
		if s.status < 0 {
			t.Errorf("%s: a wrong answer under load: status %d %s", s.idem, -s.status, s.resp)
		}
		if s.status > 0 {
			answered++
		}
	}
	// Payments first: a refund is of a payment acknowledged earlier.
	for _, refunds := range []bool{false, true} {
		var todo []*psSent
		for _, s := range batch {
			if s.refund == refunds {
				todo = append(todo, s)
			}
		}
		parallel(len(todo), func(i int) {
			s := todo[i]
			path := "/payments"
			if s.refund {
				path = "/refunds"
			}
			st, b, h, err := p.psDefinite("POST", path, key, s.idem, s.body)
			if err != nil {
				fail("retry %s: %v", s.idem, err)
				return
			}
			replay := h.Get("Idempotent-Replayed") == "true"
			if s.status > 0 {
				if st != s.status || !bytes.Equal(b, s.resp) || !replay {
					fail("answered %s (cycle %d): was %d %s; retry %d %s (replayed %v)", s.idem, s.cycle, s.status, s.resp, st, b, replay)
				}
				return
			}
			if err := s.decode(st, b); err != nil {
				fail("retry of unanswered %s: %v", s.idem, err)
				return
			}
			mu.Lock()
			if replay {
				appliedBefore++
			} else {
				appliedNow++
			}
			mu.Unlock()
		})
	}
	for _, pr := range problems {
		t.Error(pr)
	}
	return answered, appliedBefore, appliedNow
}

// psCheckState: every payment sent so far (all answered now) exists with
// its status, amount and refunds, and the test-mode balance is succeeded
// minus refunded per currency.
func psCheckState(t *testing.T, p *ledgerProc, key string, sent []*psSent) {
	t.Helper()
	refunded := map[string]int64{}
	balance := map[string]int64{}
	var pays []*psSent
	for _, s := range sent {
		switch {
		case s.refund:
			refunded[s.payment] += s.amount
			balance[s.currency] -= s.amount
		default:
			pays = append(pays, s)
			if s.succeeded {
				balance[s.currency] += s.amount
			}
		}
	}
	var mu sync.Mutex
	var problems []string
	parallel(len(pays), func(i int) {
		s := pays[i]
		var got psPayment
		st, b, _, err := p.psDefinite("GET", "/payments/"+s.id, key, "", nil)
		if err == nil && st == http.StatusOK {
			err = json.Unmarshal(b, &got)
		}
		want := "failed"
		if s.succeeded {
			want = "succeeded"
		}
		if err != nil || st != http.StatusOK || got.Status != want || got.Amount != s.amount || got.Currency != s.currency || got.AmountRefunded != refunded[s.id] {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("payment %s (%s): %d %s (%v); want %s, amount %d %s, refunded %d",
				s.id, s.idem, st, b, err, want, s.amount, s.currency, refunded[s.id]))
			mu.Unlock()
		}
	})
	for _, pr := range problems {
		t.Error(pr)
	}
	var bal struct {
		Object    string `json:"object"`
		Livemode  bool   `json:"livemode"`
		Available []struct {
			Amount   int64  `json:"amount"`
			Currency string `json:"currency"`
		} `json:"available"`
	}
	p.psMust("GET", "/balance", key, "", nil, http.StatusOK, &bal)
	got := map[string]int64{}
	for _, a := range bal.Available {
		got[a.Currency] = a.Amount
	}
	for _, cur := range psCurrencies {
		if got[cur] != balance[cur] {
			t.Errorf("balance %s: %d, the acknowledged payments and refunds give %d (%+v)", cur, got[cur], balance[cur], bal)
		}
	}
}

// psCheckEvents waits until the receiver got the event of every payment
// and refund sent so far, then checks each has exactly one event id.
func psCheckEvents(t *testing.T, recv *psReceiver, sent []*psSent) {
	t.Helper()
	want := make(map[[2]string]bool, len(sent))
	for _, s := range sent {
		switch {
		case s.refund:
			want[[2]string{"refund.created", s.id}] = true
		case s.succeeded:
			want[[2]string{"payment.succeeded", s.id}] = true
		default:
			want[[2]string{"payment.failed", s.id}] = true
		}
	}
	missing := func() []string {
		seen := map[[2]string]bool{}
		for _, e := range recv.events {
			seen[[2]string{e.ev.Type, e.ev.Data.Object.ID}] = true
		}
		var out []string
		for k := range want {
			if !seen[k] {
				out = append(out, k[0]+" "+k[1])
			}
		}
		return out
	}
	var left []string
	if !recv.waitFor(psDeliveryWait, func() bool { left = missing(); return len(left) == 0 }) {
		t.Errorf("after %v, %d of %d events not delivered, e.g. %v", psDeliveryWait, len(left), len(want), left[:min(len(left), 5)])
	}
	for k, evs := range recv.byObject() {
		if len(evs) > 1 {
			t.Errorf("%s of %s: %d event ids, want one", k[0], k[1], len(evs))
		}
	}
	for _, pr := range recv.takeProblems() {
		t.Error(pr)
	}
}
