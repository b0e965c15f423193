package main

// Crash test of PayPay.cards redeems with a real ledgerd process: kill -9
// during concurrent redeems with unique Idempotency-Keys, restart on the
// same data directory, retry every key. Every answered redeem must come
// back byte-identical, no code is redeemed twice, and a code whose redeem
// was not answered is either redeemed exactly once or still redeemable.
//
// Environment:
//
//	LEDGERD_PAYPAY_CRASH_CYCLES  kill/restart cycles (default: LEDGERD_CRASH_CYCLES, else 3);
//	                             after each kill, `ledgerd verify` checks the data dir
//	LEDGERD_CRASH_SEED           seed for delays and code choice (default: time)

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

const (
	ppBase         = "/paypay/api/v1"
	ppCodesPerCall = 10_000
)

// ppSent is one redeem the test sent under its own Idempotency-Key.
type ppSent struct {
	key    string
	code   string
	cycle  int
	status int    // 0: no answer (unknown outcome)
	body   []byte // the answer, when there was one
	reqID  string
}

type ppRedeem struct {
	Redeemed     bool   `json:"redeemed"`
	Reason       string `json:"reason"`
	RedeemedAt   string `json:"redeemed_at"`
	RedemptionID string `json:"redemption_id"`
	RequestID    string `json:"request_id"`
}

func (p *ledgerProc) ppDo(method, path, apiKey, idem string, body any) (int, []byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+p.addr+ppBase+path, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
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

// ppDefinite retries until an HTTP answer other than 503 (bounded).
func (p *ledgerProc) ppDefinite(method, path, apiKey, idem string, body any) (int, []byte, http.Header, error) {
	var (
		st  int
		b   []byte
		h   http.Header
		err error
	)
	for range 50 {
		st, b, h, err = p.ppDo(method, path, apiKey, idem, body)
		if err == nil && st != http.StatusServiceUnavailable {
			return st, b, h, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return st, b, h, err
}

func (p *ledgerProc) ppPartner() (id, key string) {
	p.t.Helper()
	var out struct {
		ID     string `json:"id"`
		APIKey string `json:"apiKey"`
	}
	p.mustJSON("POST", "/admin/partners", adminAuth(p.token),
		map[string]any{"api": "paypay", "name": "crash-paypay", "rateLimitPerMinute": 100_000_000}, http.StatusCreated, &out)
	return out.ID, out.APIKey
}

func (p *ledgerProc) ppIssue(partner string, n int) []string {
	p.t.Helper()
	var out struct {
		Codes []string `json:"codes"`
	}
	p.mustJSON("POST", "/admin/paypay/partners/"+partner+"/codes", adminAuth(p.token), map[string]any{
		"count": n, "tier": "month", "entitlement_label": "1 month",
		"expires_at": time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339),
	}, http.StatusCreated, &out)
	if len(out.Codes) != n {
		p.t.Fatalf("issued %d codes, want %d", len(out.Codes), n)
	}
	return out.Codes
}

// ppValidate returns validate's reason for code ("" when valid).
func (p *ledgerProc) ppValidate(apiKey, code string) (string, error) {
	st, b, _, err := p.ppDefinite("POST", "/validate", apiKey, "", map[string]string{"code": code})
	if err != nil || st != http.StatusOK {
		return "", fmt.Errorf("validate %s: %d %s %v", code, st, b, err)
	}
	var v struct {
		Valid  bool   `json:"valid"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	if v.Valid {
		return "", nil
	}
	return v.Reason, nil
}

func ppCycles(t *testing.T) int {
	for _, name := range []string{"LEDGERD_PAYPAY_CRASH_CYCLES", "LEDGERD_CRASH_CYCLES"} {
		if s := os.Getenv(name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				t.Fatalf("%s=%q", name, s)
			}
			return v
		}
	}
	return 3
}

// ppLoad runs crashWorkers redeemers until stop: each takes a fresh code,
// or (one time in four) a code already sent under another key, and
// redeems it with a new Idempotency-Key.
func ppLoad(p *ledgerProc, apiKey string, seed uint64, cycle int, fresh func() (string, bool), used func() (string, bool), addUsed func(string), stop <-chan struct{}) []*ppSent {
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []*ppSent
	)
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(cycle*1000+w)))
			var local []*ppSent
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
				var code string
				ok := false
				if rng.IntN(4) == 0 {
					code, ok = used()
				}
				if !ok {
					if code, ok = fresh(); !ok {
						return
					}
					addUsed(code)
				}
				s := &ppSent{key: fmt.Sprintf("pp-c%d-w%02d-%06d", cycle, w, n), code: code, cycle: cycle}
				local = append(local, s)
				st, b, h, err := p.ppDo("POST", "/redeem", apiKey, s.key, map[string]string{"code": code})
				if err != nil || st == http.StatusServiceUnavailable {
					continue
				}
				s.status, s.body, s.reqID = st, b, h.Get("X-Request-Id")
			}
		}()
	}
	<-stop
	wg.Wait()
	return all
}

func TestPayPayCrashRecoveryKill9(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	cycles := ppCycles(t)
	t.Logf("seed %d (LEDGERD_CRASH_SEED), %d cycles (LEDGERD_PAYPAY_CRASH_CYCLES)", seed, cycles)
	dataDir, logDir := t.TempDir(), t.TempDir()
	logSeedOnFailure(t, seed, logDir)
	rng := rand.New(rand.NewPCG(seed, 1))
	args := []string{"--snapshot-every", "500", "--snapshot-fixed", "--wal-segment-size", "65536"} // small segments: truncation deletes some
	start := time.Now()
	p := startLedgerd(t, bin, dataDir, logDir, 0, args...)
	partner, apiKey := p.ppPartner()

	var (
		poolMu   sync.Mutex
		pool     []string // never sent
		usedList []string // sent at least once
		allCodes = map[string]bool{}
	)
	issue := func() {
		for _, c := range p.ppIssue(partner, ppCodesPerCall) {
			allCodes[c] = true
			pool = append(pool, c)
		}
	}
	issue()
	fresh := func() (string, bool) {
		poolMu.Lock()
		defer poolMu.Unlock()
		if len(pool) == 0 {
			return "", false
		}
		c := pool[len(pool)-1]
		pool = pool[:len(pool)-1]
		return c, true
	}
	pick := rand.New(rand.NewPCG(seed, 2))
	used := func() (string, bool) {
		poolMu.Lock()
		defer poolMu.Unlock()
		if len(usedList) == 0 {
			return "", false
		}
		return usedList[pick.IntN(len(usedList))], true
	}
	addUsed := func(c string) {
		poolMu.Lock()
		usedList = append(usedList, c)
		poolMu.Unlock()
	}

	var sent []*ppSent
	winner := map[string]*ppSent{} // code -> the key whose redeem got 200
	for cycle := 1; cycle <= cycles; cycle++ {
		if len(pool) < ppCodesPerCall/2 {
			issue()
		}
		delay := time.Duration(100+rng.IntN(301)) * time.Millisecond
		stop := make(chan struct{})
		loaded := make(chan []*ppSent)
		go func() { loaded <- ppLoad(p, apiKey, seed, cycle, fresh, used, addUsed, stop) }()
		time.Sleep(delay)
		p.kill()
		close(stop)
		batch := <-loaded
		sent = append(sent, batch...)
		verifyDataDir(t, dataDir, fmt.Sprintf("after kill %d", cycle))
		answered := 0
		for _, s := range batch {
			if s.status != 0 {
				answered++
			}
		}

		p = startLedgerd(t, bin, dataDir, logDir, cycle, args...)
		checkRestartLog(t, p.logPath)

		// Group keys by code, in send order within this cycle's batch and
		// the earlier ones: a code's keys are retried one after another.
		byCode := map[string][]*ppSent{}
		var order []string
		for _, s := range sent {
			if byCode[s.code] == nil {
				order = append(order, s.code)
			}
			byCode[s.code] = append(byCode[s.code], s)
		}
		var mu sync.Mutex
		var problems []string
		appliedBefore, appliedNow := 0, 0
		fail := func(format string, a ...any) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf(format, a...))
			mu.Unlock()
		}
		parallel(len(order), func(i int) {
			code := order[i]
			keys := byCode[code]
			// Before any retry: the code is redeemed or still redeemable.
			reason, err := p.ppValidate(apiKey, code)
			if err != nil || (reason != "" && reason != "already_redeemed") {
				fail("code %s after restart: reason %q err %v", code, reason, err)
				return
			}
			wasRedeemed := reason == "already_redeemed"
			var win *ppSent
			var winBody ppRedeem
			for _, s := range keys {
				st, b, h, err := p.ppDefinite("POST", "/redeem", apiKey, s.key, map[string]string{"code": code})
				if err != nil {
					fail("retry %s: %v", s.key, err)
					return
				}
				replay := h.Get("Idempotent-Replayed") == "true"
				if s.status != 0 {
					// Answered before: the same bytes again, as a replay.
					if st != s.status || !bytes.Equal(b, s.body) || !replay || h.Get("X-Request-Id") != s.reqID {
						fail("answered key %s (cycle %d, code %s): was %d %s (id %s), retry %d %s (id %s, replayed %v)",
							s.key, s.cycle, code, s.status, s.body, s.reqID, st, b, h.Get("X-Request-Id"), replay)
					}
				} else {
					s.status, s.body, s.reqID = st, b, h.Get("X-Request-Id")
					// First definite answer for an unanswered key: a replay
					// only if it was applied before the crash.
					// A 200 is a replay exactly when the code was redeemed
					// before the crash (validate said so above).
					if st == http.StatusOK {
						mu.Lock()
						if replay {
							appliedBefore++
						} else {
							appliedNow++
						}
						mu.Unlock()
					}
					if st == http.StatusOK && replay != wasRedeemed {
						fail("key %s (code %s): 200 replayed=%v, but validate after restart said redeemed=%v",
							s.key, code, replay, wasRedeemed)
					}
				}
				var r ppRedeem
				if err := json.Unmarshal(b, &r); err != nil {
					fail("key %s: body %s: %v", s.key, b, err)
					continue
				}
				switch st {
				case http.StatusOK:
					if win != nil {
						fail("code %s redeemed twice: keys %s (%s) and %s (%s)", code, win.key, winBody.RedemptionID, s.key, r.RedemptionID)
					}
					win, winBody = s, r
				case http.StatusConflict:
					if r.Reason != "already_redeemed" {
						fail("key %s: 409 %s", s.key, b)
					}
				default:
					fail("key %s (code %s): status %d %s", s.key, code, st, b)
				}
			}
			if win == nil {
				fail("code %s was sent %d times and nobody redeemed it", code, len(keys))
				return
			}
			for _, s := range keys {
				if s.status == http.StatusConflict {
					var r ppRedeem
					json.Unmarshal(s.body, &r)
					if r.RedeemedAt != winBody.RedeemedAt {
						fail("key %s: 409 redeemed_at %s, winner %s has %s", s.key, r.RedeemedAt, win.key, winBody.RedeemedAt)
					}
				}
			}
			mu.Lock()
			if prev := winner[code]; prev != nil && prev != win {
				problems = append(problems, fmt.Sprintf("code %s: winner changed from %s to %s", code, prev.key, win.key))
			}
			winner[code] = win
			mu.Unlock()
		})
		for _, pr := range problems {
			t.Error(pr)
		}
		t.Logf("cycle %d: killed after %v; %d redeems sent, %d answered; unanswered redeems: %d applied before the crash, %d on retry; %d codes touched so far",
			cycle, delay, len(batch), answered, appliedBefore, appliedNow, len(order))
		if t.Failed() {
			t.FailNow()
		}
	}

	// Codes never sent are still redeemable (a sample of them).
	checked := 0
	for _, c := range pool {
		if checked == 50 {
			break
		}
		if reason, err := p.ppValidate(apiKey, c); err != nil || reason != "" {
			t.Errorf("unsent code %s: reason %q err %v", c, reason, err)
		}
		checked++
	}
	// The audit agrees: one "redeemed" attempt per redeemed code.
	redeemedInAudit := map[string]int{}
	cursor := ""
	for {
		q := "/redemption_attempts?limit=100"
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		st, b, _, err := p.ppDefinite("GET", q, apiKey, "", nil)
		if err != nil || st != http.StatusOK {
			t.Fatalf("attempts: %d %s %v", st, b, err)
		}
		var pg struct {
			Data []struct {
				Code    string `json:"code"`
				Outcome string `json:"outcome"`
			} `json:"data"`
			HasMore    bool   `json:"has_more"`
			NextCursor string `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &pg); err != nil {
			t.Fatal(err)
		}
		for _, a := range pg.Data {
			if a.Outcome == "redeemed" {
				redeemedInAudit[a.Code]++
			}
		}
		if !pg.HasMore {
			break
		}
		cursor = pg.NextCursor
	}
	for code := range winner {
		if redeemedInAudit[code] != 1 {
			t.Errorf("code %s: %d redeemed attempts in the audit, want 1", code, redeemedInAudit[code])
		}
	}
	if len(redeemedInAudit) != len(winner) {
		t.Errorf("audit has %d redeemed codes, the test saw %d", len(redeemedInAudit), len(winner))
	}
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	reused := 0
	for _, ks := range groupCounts(sent) {
		if ks > 1 {
			reused++
		}
	}
	t.Logf("%d cycles, %d redeems, %d codes redeemed (%d sent under several keys), %d codes issued; total %v",
		cycles, len(sent), len(winner), reused, len(allCodes), time.Since(start).Round(time.Millisecond))
}

func groupCounts(sent []*ppSent) map[string]int {
	n := map[string]int{}
	for _, s := range sent {
		n[s.code]++
	}
	return n
}
