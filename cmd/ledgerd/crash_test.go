package main

// Crash tests with a real ledgerd process: kill -9 during concurrent
// deducts, restart on the same data directory, and check that every
// acknowledged deduct survived exactly once; SIGTERM during load drains,
// snapshots and exits 0.
//
// Environment:
//
//	LEDGERD_CRASH_CYCLES  kill/restart cycles (default 5; -short: 2); after
//	                      each kill, `ledgerd verify` checks the data dir
//	LEDGERD_CRASH_SEED    seed for delays, users and amounts (default: time)

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashAdminToken = "adm_crash_test_0123456789abcdef"
	crashInitial    = int64(1_000_000_000)
	crashUsers      = 4
	crashWorkers    = 16
)

// startLedgerd starts the binary on dataDir with the crash tests' admin
// token, logging to <logDir>/run-<run>-<attempt>.log, and waits until it
// answers HTTP.
func startLedgerd(t *testing.T, bin, dataDir, logDir string, run int, args ...string) *ledgerProc {
	t.Helper()
	return start(t, bin, dataDir, fmt.Sprintf("run %d", run), func(attempt int) string {
		return filepath.Join(logDir, fmt.Sprintf("run-%02d-%d.log", run, attempt))
	}, procOpts{args: args, token: crashAdminToken})
}

// sentRef is one deduct the test sent: acked once a 200 came back.
type sentRef struct {
	ref        string
	user       string
	amount     int64
	cycle      int
	acked      bool // a 200 was received (before a crash, or on a retry)
	ackedLive  bool // the 200 came before the crash that followed it
	newBalance int64
}

func crashUser(i int) string { return "crash_u" + strconv.Itoa(i) }

func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("LEDGERD_CRASH_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LEDGERD_CRASH_SEED: %v", err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

func crashCycles(t *testing.T) int {
	n := 5
	if s := os.Getenv("LEDGERD_CRASH_CYCLES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("LEDGERD_CRASH_CYCLES=%q", s)
		}
		return v
	} else if testing.Short() {
		n = 2
	}
	return n
}

// loadUntil runs crashWorkers goroutines of deducts with unique references
// until stop is closed, and returns every reference sent. A 200 marks the
// reference acknowledged; a transport error or 503 leaves it unknown. Every
// few acknowledged deducts, the worker reads the balance back: it can be no
// higher than the acknowledged newBalance (read-your-writes).
func loadUntil(t *testing.T, p *ledgerProc, key string, seed uint64, cycle int, stop <-chan struct{}) []*sentRef {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  []*sentRef
		errs []string
	)
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(cycle*1000+w)))
			var local []*sentRef
			var bad []string
			defer func() {
				mu.Lock()
				all = append(all, local...)
				errs = append(errs, bad...)
				mu.Unlock()
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r := &sentRef{
					ref:    fmt.Sprintf("c%d-w%02d-%06d", cycle, w, n),
					user:   crashUser(rng.IntN(crashUsers)),
					amount: 1 + rng.Int64N(7),
					cycle:  cycle,
				}
				local = append(local, r)
				st, res, err := p.deduct(key, r.user, r.amount, r.ref)
				switch {
				case err != nil, st == http.StatusServiceUnavailable:
					continue // unknown outcome: resolved after the restart
				case st != http.StatusOK || !res.Success:
					bad = append(bad, fmt.Sprintf("deduct %s: status %d %+v", r.ref, st, res))
					continue
				case res.Idempotent:
					bad = append(bad, fmt.Sprintf("deduct %s: fresh reference answered idempotent %+v", r.ref, res))
				}
				r.acked, r.ackedLive, r.newBalance = true, true, res.NewBalance
				if n%8 == 0 {
					if b, err := p.balance(key, r.user); err == nil && b > r.newBalance {
						bad = append(bad, fmt.Sprintf("read after ack of %s: balance %d > newBalance %d", r.ref, b, r.newBalance))
					}
				}
			}
		}()
	}
	<-stop
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	return all
}

// deductDefinite retries a deduct until it gets an HTTP answer other than
// 503 (bounded), so that every reference ends with a definite outcome.
func deductDefinite(p *ledgerProc, key string, r *sentRef) (int, opResult, error) {
	var (
		st  int
		res opResult
		err error
	)
	for attempt := 0; attempt < 50; attempt++ {
		st, res, err = p.deduct(key, r.user, r.amount, r.ref)
		if err == nil && st != http.StatusServiceUnavailable {
			return st, res, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return st, res, err
}

// checkRestartLog fails on an ERROR line in a restart's log and reports a
// torn-tail repair (allowed: it cuts only unacknowledged entries).
func checkRestartLog(t *testing.T, path string) (tornTail bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	recovered := false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "level=ERROR"):
			t.Errorf("restart logged an error (%s): %s", path, line)
		case strings.Contains(line, "torn tail repaired"):
			tornTail = true
			t.Logf("restart repaired a torn tail: %s", line)
		case strings.Contains(line, "ledger recovered"):
			recovered = true
		}
	}
	if !recovered {
		t.Errorf("restart log %s has no 'ledger recovered' line:\n%s", path, readLog(path))
	}
	return tornTail
}

func TestCrashRecoveryKill9(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	cycles := crashCycles(t)
	t.Logf("seed %d (LEDGERD_CRASH_SEED), %d cycles (LEDGERD_CRASH_CYCLES)", seed, cycles)
	dataDir, logDir := t.TempDir(), t.TempDir()
	logSeedOnFailure(t, seed, logDir)
	rng := rand.New(rand.NewPCG(seed, 0))
	// A small snapshot interval makes snapshots and WAL truncation happen
	// while the process is killed.
	args := []string{"--snapshot-every", "300", "--snapshot-fixed", "--wal-segment-size", "65536"} // small segments: truncation deletes some
	start := time.Now()

	p := startLedgerd(t, bin, dataDir, logDir, 0, args...)
	key := p.createPartner("crash-test")
	for u := range crashUsers {
		if b := p.credit(crashUser(u), crashInitial, "crash_topup_"+strconv.Itoa(u)); b != crashInitial {
			t.Fatalf("credit %s: balance %d", crashUser(u), b)
		}
	}

	var refs []*sentRef
	for cycle := 1; cycle <= cycles; cycle++ {
		cycleStart := time.Now()
		delay := time.Duration(50+rng.IntN(351)) * time.Millisecond
		stop := make(chan struct{})
		var sent []*sentRef
		loaded := make(chan struct{})
		go func() {
			defer close(loaded)
			sent = loadUntil(t, p, key, seed, cycle, stop)
		}()
		time.Sleep(delay)
		p.kill()
		close(stop)
		<-loaded
		slices.SortFunc(sent, func(a, b *sentRef) int { return strings.Compare(a.ref, b.ref) })
		acked := 0
		for _, r := range sent {
			if r.acked {
				acked++
			}
		}
		refs = append(refs, sent...)

		// While ledgerd is down: the offline verifier replays the data
		// dir and checks its invariants before the restart touches it.
		verifyDataDir(t, dataDir, fmt.Sprintf("after kill %d", cycle))

		p = startLedgerd(t, bin, dataDir, logDir, cycle, args...)
		torn := checkRestartLog(t, p.logPath)

		// Retry every reference sent so far. Acknowledged ones must replay
		// their original result; unknown ones get a definite outcome now.
		var mu sync.Mutex
		var problems []string
		appliedBefore, appliedNow := 0, 0
		fail := func(format string, a ...any) {
			mu.Lock()
			problems = append(problems, fmt.Sprintf(format, a...))
			mu.Unlock()
		}
		parallel(len(refs), func(i int) {
			r := refs[i]
			st, res, err := deductDefinite(p, key, r)
			if err != nil || st != http.StatusOK || !res.Success {
				fail("retry %s (user %s amount %d acked %v): status %d %+v err %v", r.ref, r.user, r.amount, r.acked, st, res, err)
				return
			}
			if r.acked {
				if !res.Idempotent || res.NewBalance != r.newBalance {
					fail("acknowledged %s (cycle %d, live %v): retry got %+v, original newBalance %d",
						r.ref, r.cycle, r.ackedLive, res, r.newBalance)
				}
				return
			}
			mu.Lock()
			if res.Idempotent {
				appliedBefore++
			} else {
				appliedNow++
			}
			mu.Unlock()
			r.acked, r.newBalance = true, res.NewBalance
		})
		// Retrying again changes nothing.
		parallel(len(refs), func(i int) {
			r := refs[i]
			if r.cycle != cycle {
				return
			}
			st, res, err := deductDefinite(p, key, r)
			if err != nil || st != http.StatusOK || !res.Idempotent || res.NewBalance != r.newBalance {
				fail("second retry of %s: status %d %+v err %v, want idempotent newBalance %d", r.ref, st, res, err, r.newBalance)
			}
		})
		for _, pr := range problems {
			t.Error(pr)
		}
		checkBalances(t, p, key, refs)
		t.Logf("cycle %d: killed after %v; %d sent, %d acknowledged, %d unknown (%d had been applied, %d applied on retry); torn tail %v; cycle took %v",
			cycle, delay, len(sent), acked, len(sent)-acked, appliedBefore, appliedNow, torn, time.Since(cycleStart).Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}
	}
	termStart := time.Now()
	if code := p.terminate(40 * time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	if took := time.Since(termStart); took > 5*time.Second {
		t.Logf("SLOW SHUTDOWN: SIGTERM to exit took %v\n--- log ---\n%s", took, readLog(p.logPath))
	} else {
		t.Logf("SIGTERM to exit: %v", took.Round(time.Millisecond))
	}
	verifyWithBinary(t, bin, dataDir)
	t.Logf("%d cycles, %d references, total %v", cycles, len(refs), time.Since(start).Round(time.Millisecond))
}

// checkBalances asserts, per user, that the balance is the initial credit
// minus every distinct reference's amount, and that the acknowledged
// newBalances form one serial history: sorted from high to low, each is the
// previous one minus its amount (nothing lost, nothing applied twice).
func checkBalances(t *testing.T, p *ledgerProc, key string, refs []*sentRef) {
	t.Helper()
	byUser := make(map[string][]*sentRef)
	for _, r := range refs {
		byUser[r.user] = append(byUser[r.user], r)
	}
	for u := range crashUsers {
		user := crashUser(u)
		rs := byUser[user]
		want := crashInitial
		for _, r := range rs {
			want -= r.amount
		}
		if got := p.mustBalance(key, user); got != want {
			t.Errorf("user %s: balance %d, want %d (initial %d minus %d references)", user, got, want, crashInitial, len(rs))
		}
		slices.SortFunc(rs, func(a, b *sentRef) int { return -cmpInt64(a.newBalance, b.newBalance) })
		prev := crashInitial
		for _, r := range rs {
			if r.newBalance != prev-r.amount {
				t.Errorf("user %s: history broken at %s (cycle %d): newBalance %d, previous %d, amount %d",
					user, r.ref, r.cycle, r.newBalance, prev, r.amount)
				break
			}
			prev = r.newBalance
		}
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestGracefulShutdownSnapshot(t *testing.T) {
	bin := buildLedgerd(t)
	seed := crashSeed(t)
	t.Logf("seed %d", seed)
	dataDir, logDir := t.TempDir(), t.TempDir()
	defer func() {
		if t.Failed() {
			ents, _ := os.ReadDir(logDir)
			for _, e := range ents {
				t.Logf("--- %s ---\n%s", e.Name(), readLog(filepath.Join(logDir, e.Name())))
			}
		}
	}()
	// No periodic snapshot: the one on disk must be the shutdown snapshot.
	args := []string{"--snapshot-every", "1000000000"}
	p := startLedgerd(t, bin, dataDir, logDir, 0, args...)
	key := p.createPartner("graceful-test")
	for u := range crashUsers {
		p.credit(crashUser(u), crashInitial, "graceful_topup_"+strconv.Itoa(u))
	}
	stop := make(chan struct{})
	var sent []*sentRef
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		sent = loadUntil(t, p, key, seed, 1, stop)
	}()
	time.Sleep(300 * time.Millisecond)
	termStart := time.Now()
	code := p.terminate(30 * time.Second)
	close(stop)
	<-loaded
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	t.Logf("exited 0 %v after SIGTERM", time.Since(termStart).Round(time.Millisecond))
	if log := readLog(p.logPath); !strings.Contains(log, "stopped cleanly") || strings.Contains(log, "level=ERROR") {
		t.Errorf("shutdown log is not clean:\n%s", log)
	}
	snaps, _ := filepath.Glob(filepath.Join(dataDir, "snapshots", "snap-*.snap"))
	if len(snaps) == 0 {
		ents, _ := os.ReadDir(filepath.Join(dataDir, "snapshots"))
		t.Fatalf("no snapshot in %s/snapshots after SIGTERM (entries %v)", dataDir, ents)
	}

	// Graceful drain answers every request it accepted, so the balances
	// after a restart are exactly the initial credit minus what was acked.
	p = startLedgerd(t, bin, dataDir, logDir, 1, args...)
	checkRestartLog(t, p.logPath)
	ackedSum := make(map[string]int64)
	acked := 0
	for _, r := range sent {
		if r.acked {
			ackedSum[r.user] += r.amount
			acked++
		}
	}
	for u := range crashUsers {
		user := crashUser(u)
		if got, want := p.mustBalance(key, user), crashInitial-ackedSum[user]; got != want {
			t.Errorf("after graceful restart: %s balance %d, want %d", user, got, want)
		}
	}
	parallel(len(sent), func(i int) {
		r := sent[i]
		if !r.acked {
			return
		}
		st, res, err := p.deduct(key, r.user, r.amount, r.ref)
		if err != nil || st != http.StatusOK || !res.Idempotent || res.NewBalance != r.newBalance {
			t.Errorf("after graceful restart: retry %s: status %d %+v err %v, want idempotent %d", r.ref, st, res, err, r.newBalance)
		}
	})
	t.Logf("%d deducts sent, %d acknowledged before exit; snapshots %v", len(sent), acked, snaps)
	if code := p.terminate(30 * time.Second); code != 0 {
		t.Errorf("second exit code %d", code)
	}
}

// TestGracefulShutdownWithUnusedConnection: a client that opened a TCP
// connection and has not sent a request yet (an HTTP client's spare
// connection, a load balancer's TCP health check, a preconnect) must not
// hold a SIGTERM drain open. The process should exit 0 promptly; 10 s is a
// generous bound against the ~100 ms a drain takes without such a client.
func TestGracefulShutdownWithUnusedConnection(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	p := startLedgerd(t, bin, dataDir, logDir, 0)
	key := p.createPartner("idle-conn")
	p.credit("idle_u1", 100, "idle_t1")
	if st, _, err := p.deduct(key, "idle_u1", 1, "idle_r1"); err != nil || st != http.StatusOK {
		t.Fatalf("deduct: %d %v", st, err)
	}
	conn, err := net.Dial("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(100 * time.Millisecond) // let the server accept it
	const bound = 10 * time.Second
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(bound):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("ledgerd still draining %v after SIGTERM because of one connection without a request "+
			"(fasthttp marks a new connection active before its first byte, so the drain waits for "+
			"ReadTimeout, 30 s, the same as the shutdown budget)\n--- log ---\n%s", bound, readLog(p.logPath))
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d\n--- log ---\n%s", code, readLog(p.logPath))
	}
	t.Logf("exited 0 %v after SIGTERM", time.Since(start).Round(time.Millisecond))
}
