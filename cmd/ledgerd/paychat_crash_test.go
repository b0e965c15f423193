package main

// Crash test of PAYchat with a real ledgerd process and a webhook receiver
// on loopback: withdrawals from the demo partner (the hot account) and
// payment links created, all with unique idempotency_keys, sandbox
// deposits, and links paid by funded payers, under load; kill -9 at a
// random moment, `ledgerd verify` on the data dir, restart, retry every
// request. Then:
//   - every answered withdrawal and payment creation is answered again
//     with the same bytes; every unanswered one now gets its definite
//     answer, applied once (the partner's transaction counts say so);
//   - every deposit is credited once (a retry is a replay);
//   - every link whose payment was attempted is completed exactly once;
//   - the partner's balance is 1,000 + deposits + payments − withdrawals,
//     and the ledger balances (partners + users + fees + held = deposits);
//   - every withdrawal's and payment's webhook reaches the receiver at
//     least once, with one delivery id, one body and a valid signature.
//
// Environment:
//
//	LEDGERD_PAYCHAT_CRASH_CYCLES  kill/restart cycles (default: LEDGERD_CRASH_CYCLES, else 2)
//	LEDGERD_CRASH_SEED            seed for delays and choices (default: time)

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const pcBase = "/paychat/api/partner"

func pcCycles(t *testing.T) int {
	for _, name := range []string{"LEDGERD_PAYCHAT_CRASH_CYCLES", "LEDGERD_CRASH_CYCLES"} {
		if s := os.Getenv(name); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				t.Fatalf("%s=%q", name, s)
			}
			return v
		}
	}
	return 2
}

// pcSent is one request of the load.
type pcSent struct {
	kind   string // "withdraw", "create", "deposit", "pay"
	body   map[string]any
	path   string
	cycle  int
	status int // 0: no answer
	resp   []byte
	amount int64  // micro-USDT
	id     string // wd_… or the link id (create, pay)
}

var pcDemoLine = regexp.MustCompile(`(?m)^demo PAYchat partner (pcp_[a-z0-9]+) \(Telegram [0-9]+, memo (partner_[a-z0-9]+)\)`)
var pcExport = regexp.MustCompile(`(?m)^export (PAYCHAT_KEY|PAYCHAT_SECRET)=(\S+)$`)

// pcReceiver records every webhook by delivery id.
type pcReceiver struct {
	*httptest.Server
	secret   string
	mu       sync.Mutex
	byID     map[string][]string // delivery id -> bodies
	events   map[string]string   // "withdraw.completed wd_…" / "payment.completed <link>" -> delivery id
	problems []string
}

func newPCReceiver(t *testing.T, secret string) *pcReceiver {
	r := &pcReceiver{secret: secret, byID: map[string][]string{}, events: map[string]string{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		sig, id, ev := req.Header.Get("X-PAYchat-Signature"), req.Header.Get("X-PAYchat-Delivery-ID"), req.Header.Get("X-PAYchat-Event")
		ts, v1, _ := strings.Cut(strings.TrimPrefix(sig, "t="), ",v1=")
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + "."))
		m.Write(b)
		r.mu.Lock()
		defer r.mu.Unlock()
		if hex.EncodeToString(m.Sum(nil)) != v1 {
			r.problems = append(r.problems, fmt.Sprintf("delivery %s: bad signature %q", id, sig))
		}
		if prev := r.byID[id]; len(prev) > 0 && prev[0] != string(b) {
			r.problems = append(r.problems, fmt.Sprintf("delivery %s: body changed between attempts", id))
		}
		r.byID[id] = append(r.byID[id], string(b))
		var body struct {
			Data struct {
				PaymentID    string `json:"payment_id"`
				WithdrawalID string `json:"withdrawal_id"`
			} `json:"data"`
		}
		_ = json.Unmarshal(b, &body)
		key := ev + " " + body.Data.PaymentID + body.Data.WithdrawalID
		if old, ok := r.events[key]; ok && old != id {
			r.problems = append(r.problems, fmt.Sprintf("%s: two delivery ids %s and %s", key, old, id))
		}
		r.events[key] = id
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.Close)
	return r
}

func pcAmount(micro int64) string {
	return strconv.FormatInt(micro/1_000_000, 10) + "." + fmt.Sprintf("%06d", micro%1_000_000)
}

// pcLoad runs crashWorkers workers until stop.
func pcLoad(p *ledgerProc, key, memo string, seed uint64, cycle int, stop <-chan struct{}) []*pcSent {
	var mu sync.Mutex
	var all []*pcSent
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(cycle*1000+w)))
			var local []*pcSent
			defer func() { mu.Lock(); all = append(all, local...); mu.Unlock() }()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				tag := fmt.Sprintf("pc-c%d-w%02d-%06d", cycle, w, n)
				amount := 1_000 + rng.Int64N(100_000) // 0.001 .. 0.101 USDT
				var s *pcSent
				switch k := rng.IntN(10); {
				case k < 5:
					s = &pcSent{kind: "withdraw", path: pcBase + "/withdrawals", amount: amount, body: map[string]any{
						"telegram_id": fmt.Sprint(700000 + w), "amount": json.Number(pcAmount(amount)), "memo": "crash <&> " + tag, "idempotency_key": tag}}
				case k < 8:
					s = &pcSent{kind: "create", path: pcBase + "/payments", amount: amount, body: map[string]any{
						"amount": json.Number(pcAmount(amount)), "description": tag, "metadata": map[string]any{"tag": tag}, "idempotency_key": tag}}
				default:
					s = &pcSent{kind: "deposit", path: "/admin/paychat/deposits", amount: amount, body: map[string]any{
						"memo": memo, "amount": json.Number(pcAmount(amount)), "tx_hash": "tx_" + strings.ReplaceAll(tag, "-", "_")}}
				}
				s.cycle = cycle
				local = append(local, s)
				st, b, err := p.do("POST", s.path, pcHeader(s, key), s.body)
				if err != nil || st == http.StatusServiceUnavailable {
					continue
				}
				s.status, s.resp = st, b
				if s.kind == "create" && st == http.StatusOK {
					link := pcField(b, "link_id")
					pay := &pcSent{kind: "pay", path: "/admin/paychat/payments/" + link + "/pay", id: link, amount: amount, cycle: cycle,
						body: map[string]any{"telegram_id": fmt.Sprint(800000 + w), "fund": true}}
					local = append(local, pay)
					if st, b, err := p.do("POST", pay.path, adminAuth(crashAdminToken), pay.body); err == nil && st != http.StatusServiceUnavailable {
						pay.status, pay.resp = st, b
					}
				}
			}
		}()
	}
	<-stop
	wg.Wait()
	return all
}

func pcHeader(s *pcSent, key string) map[string]string {
	if strings.HasPrefix(s.path, "/admin/") {
		return adminAuth(crashAdminToken)
	}
	return map[string]string{"X-API-Key": key}
}

// pcField is a string field of the first object inside an envelope.
func pcField(b []byte, name string) string {
	var env map[string]json.RawMessage
	_ = json.Unmarshal(b, &env)
	for k, v := range env {
		if k == "success" {
			continue
		}
		var o map[string]any
		if json.Unmarshal(v, &o) == nil {
			if s, ok := o[name].(string); ok {
				return s
			}
		}
	}
	return ""
}

func TestPayChatCrashRecoveryKill9(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	cycles := pcCycles(t)
	t.Logf("seed %d (LEDGERD_CRASH_SEED), %d cycles (LEDGERD_PAYCHAT_CRASH_CYCLES)", seed, cycles)
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
	p := startRun(0, "--demo")
	out := readLog(filepath.Join(logDir, "run-00.stdout"))
	demo := pcDemoLine.FindStringSubmatch(out)
	keys := map[string]string{}
	for _, m := range pcExport.FindAllStringSubmatch(out, -1) {
		keys[m[1]] = m[2]
	}
	if demo == nil || !strings.HasPrefix(keys["PAYCHAT_KEY"], "pk_") || !strings.HasPrefix(keys["PAYCHAT_SECRET"], "sk_") {
		t.Fatalf("--demo printed no PAYchat partner:\n%s", out)
	}
	partner, memo, key := demo[1], demo[2], keys["PAYCHAT_KEY"]
	if strings.Contains(readLog(p.logPath), keys["PAYCHAT_SECRET"]) || strings.Contains(readLog(p.logPath), key) {
		t.Fatal("the log carries the demo keys")
	}
	p.mustJSON("PATCH", "/admin/partners/"+partner, adminAuth(crashAdminToken), map[string]any{"rateLimitPerMinute": 10_000_000}, http.StatusOK, nil)
	recv := newPCReceiver(t, keys["PAYCHAT_SECRET"])
	p.mustJSON("PUT", pcBase+"/webhook", map[string]string{"X-API-Key": key}, map[string]any{"webhook_url": recv.URL + "/paychat"}, http.StatusOK, nil)

	var sent []*pcSent
	begin := time.Now()
	for cycle := 1; cycle <= cycles; cycle++ {
		delay := time.Duration(150+rng.IntN(451)) * time.Millisecond
		stop := make(chan struct{})
		loaded := make(chan []*pcSent)
		go func() { loaded <- pcLoad(p, key, memo, seed, cycle, stop) }()
		time.Sleep(delay)
		p.kill()
		close(stop)
		batch := <-loaded
		sent = append(sent, batch...)
		verifyDataDir(t, dataDir, fmt.Sprintf("after kill %d", cycle))
		p = startRun(cycle)
		checkRestartLog(t, p.logPath)
		answered, retried := pcRetry(t, p, key, batch)
		pcCheck(t, p, key, recv, sent)
		t.Logf("cycle %d: killed after %v; %d requests, %d answered, %d retried to a definite answer", cycle, delay, len(batch), answered, retried)
		if t.Failed() {
			t.FailNow()
		}
	}
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	verifyWithBinary(t, bin, dataDir)
	kinds := map[string]int{}
	for _, s := range sent {
		kinds[s.kind]++
	}
	t.Logf("%d cycles: %v requests; %d webhooks received; %v", cycles, kinds, len(recv.byID), time.Since(begin).Round(time.Millisecond))
}

// pcRetry sends every request of batch again until it gets a definite
// answer; an answered withdrawal or creation must be replayed byte for
// byte.
func pcRetry(t *testing.T, p *ledgerProc, key string, batch []*pcSent) (answered, retried int) {
	t.Helper()
	var mu sync.Mutex
	var problems []string
	for _, kind := range []string{"withdraw", "create", "deposit", "pay"} {
		var todo []*pcSent
		for _, s := range batch {
			if s.kind == kind {
				todo = append(todo, s)
				if s.status != 0 {
					answered++
				}
			}
		}
		parallel(len(todo), func(i int) {
			s := todo[i]
			var st int
			var b []byte
			var err error
			for range 50 {
				if st, b, err = p.do("POST", s.path, pcHeader(s, key), s.body); err == nil && st != http.StatusServiceUnavailable {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			fail := func(format string, a ...any) {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s %v: ", s.kind, s.body)+fmt.Sprintf(format, a...))
				mu.Unlock()
			}
			switch {
			case err != nil:
				fail("retry: %v", err)
				return
			case s.status == http.StatusOK && (s.kind == "withdraw" || s.kind == "create") && (st != s.status || !bytes.Equal(b, s.resp)):
				fail("answered %d %s, retried %d %s", s.status, s.resp, st, b)
			case s.kind == "pay" && st != http.StatusOK && !(st == http.StatusConflict && pcCode(b) == "PAYMENT_COMPLETED"):
				fail("pay retried: %d %s", st, b)
			case s.kind == "deposit" && st != http.StatusOK:
				fail("deposit retried: %d %s", st, b)
			case s.kind == "withdraw" && st != http.StatusOK:
				fail("withdrawal retried: %d %s (the demo partner has funds for every one)", st, b)
			}
			mu.Lock()
			if s.status == 0 {
				retried++
			}
			if s.status != http.StatusOK || s.kind == "pay" {
				s.status, s.resp = st, b
			}
			if s.kind == "withdraw" {
				s.id = pcField(s.resp, "id")
			}
			mu.Unlock()
		})
		// An unanswered creation now has its link: pay it.
		if kind == "create" {
			for _, s := range todo {
				if s.status == http.StatusOK && !pcHasPay(batch, pcField(s.resp, "link_id")) {
					link := pcField(s.resp, "link_id")
					pay := &pcSent{kind: "pay", path: "/admin/paychat/payments/" + link + "/pay", id: link, amount: s.amount, cycle: s.cycle,
						body: map[string]any{"telegram_id": "899999", "fund": true}}
					batch = append(batch, pay)
				}
			}
		}
	}
	for _, pr := range problems {
		t.Error(pr)
	}
	return answered, retried
}

func pcHasPay(batch []*pcSent, link string) bool {
	for _, s := range batch {
		if s.kind == "pay" && s.id == link {
			return true
		}
	}
	return false
}

func pcCode(b []byte) string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(b, &e)
	return e.Error.Code
}

// pcCheck compares the partner's balance and transactions with what was
// acknowledged, the ledger's conservation, and the webhooks received.
func pcCheck(t *testing.T, p *ledgerProc, key string, recv *pcReceiver, sent []*pcSent) {
	t.Helper()
	want := int64(1_000_000_000)
	wds, links := map[string]bool{}, map[string]bool{}
	for _, s := range sent {
		switch s.kind {
		case "withdraw":
			want -= s.amount
			wds[s.id] = true
		case "create":
			links[pcField(s.resp, "link_id")] = true
		case "deposit":
			want += s.amount
		}
	}
	for link := range links {
		want += pcPaid(t, p, key, link)
	}
	h := map[string]string{"X-API-Key": key}
	var bal struct {
		Balance struct {
			Available json.Number `json:"available"`
		} `json:"balance"`
	}
	p.mustJSON("GET", pcBase+"/balance", h, nil, http.StatusOK, &bal)
	if bal.Balance.Available.String() != strings.TrimSuffix(strings.TrimRight(pcAmount(want), "0"), ".") {
		t.Errorf("partner balance %s, the acknowledged requests give %s", bal.Balance.Available, pcAmount(want))
	}
	for typ, n := range map[string]int{"withdraw": len(wds), "payment": len(links)} {
		var tx struct {
			Pagination struct{ Total int } `json:"pagination"`
		}
		p.mustJSON("GET", pcBase+"/transactions?type="+typ+"&limit=1", h, nil, http.StatusOK, &tx)
		if tx.Pagination.Total != n {
			t.Errorf("%d %s transactions, %d acknowledged: applied twice or lost", tx.Pagination.Total, typ, n)
		}
	}
	var ledger struct {
		Ledger struct {
			Balanced bool `json:"balanced"`
		} `json:"ledger"`
	}
	p.mustJSON("GET", "/admin/paychat/ledger", adminAuth(crashAdminToken), nil, http.StatusOK, &ledger)
	if !ledger.Ledger.Balanced {
		t.Error("the ledger does not balance")
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var missing []string
		recv.mu.Lock()
		for id := range wds {
			if _, ok := recv.events["withdraw.completed "+id]; !ok {
				missing = append(missing, id)
			}
		}
		for link := range links {
			if _, ok := recv.events["payment.completed "+link]; !ok {
				missing = append(missing, link)
			}
		}
		problems := recv.problems
		recv.mu.Unlock()
		for _, pr := range problems {
			t.Error(pr)
		}
		if len(missing) == 0 || len(problems) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d webhooks never arrived, e.g. %v", len(missing), missing[:min(5, len(missing))])
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pcPaid is the amount a completed link credited (0 when it is not paid:
// every link of the load is paid, so that is an error).
func pcPaid(t *testing.T, p *ledgerProc, key, link string) int64 {
	t.Helper()
	var got struct {
		Payment struct {
			Status string      `json:"status"`
			Amount json.Number `json:"amount"`
		} `json:"payment"`
	}
	p.mustJSON("GET", pcBase+"/payments/"+link, map[string]string{"X-API-Key": key}, nil, http.StatusOK, &got)
	if got.Payment.Status != "completed" {
		t.Errorf("link %s: %s, want completed", link, got.Payment.Status)
		return 0
	}
	whole, frac, _ := strings.Cut(got.Payment.Amount.String(), ".")
	w, _ := strconv.ParseInt(whole, 10, 64)
	f, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	return w*1_000_000 + f
}
