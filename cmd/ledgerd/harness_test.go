package main

// The one harness for running ledgerd as a real child process in this
// package's tests: the binary is built once per test binary run; a
// ledgerProc is started with procOpts (arguments, admin token or none,
// readiness probe, HTTP client), waited for, killed with SIGKILL or
// stopped with SIGTERM; it has HTTP and admin helpers, and there are
// helpers to run work in parallel and to read child logs.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for a started ledgerd to answer HTTP.
	readyTimeout = 20 * time.Second
	// parallelWorkers is the number of goroutines of parallel.
	parallelWorkers = 16
	// probePath is the default readiness probe: any HTTP answer (401
	// without a key) means the process serves.
	probePath = "/payshards/api/partner/balance?userId=probe"
	// healthPath is the PayPay.cards health check, an alternative probe.
	healthPath = "/paypay/api/v1/health"
)

var (
	buildOnce sync.Once
	buildDir  string // removed by TestMain
	buildBin  string
	buildErr  error
	buildOut  []byte
	buildTook time.Duration
)

// TestMain removes the binary built by buildLedgerd once all tests ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildLedgerd compiles this package into a temporary binary, once per test
// binary run; every later call returns the same binary.
func buildLedgerd(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if root := os.Getenv("GOROOT"); root != "" {
			goTool = filepath.Join(root, "bin", "go")
		}
	}
	if goTool == "" {
		t.Skipf("cannot build the ledgerd binary: no go tool in PATH (%v)", err)
	}
	built := false
	buildOnce.Do(func() {
		built = true
		buildDir, buildErr = os.MkdirTemp("", "ledgerd-test-bin-")
		if buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "ledgerd")
		start := time.Now()
		buildOut, buildErr = exec.Command(goTool, "build", "-o", buildBin, ".").CombinedOutput()
		buildTook = time.Since(start)
	})
	if buildErr != nil {
		t.Fatalf("cannot build the ledgerd binary (%v):\n%s", buildErr, buildOut)
	}
	if built {
		t.Logf("built %s in %v", buildBin, buildTook.Round(time.Millisecond))
	}
	return buildBin
}

// freePort returns a loopback address with a port that was free just now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// childEnv is this process's environment without any LEDGERD_ variable,
// plus LEDGERD_ADMIN_TOKEN=token unless token is empty (then ledgerd writes
// its token to <data>/admin-token).
func childEnv(token string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEDGERD_") {
			env = append(env, kv)
		}
	}
	if token != "" {
		env = append(env, "LEDGERD_ADMIN_TOKEN="+token)
	}
	return env
}

// procOpts are the start options of a ledgerd child process.
type procOpts struct {
	args      []string     // after --data and --listen
	token     string       // LEDGERD_ADMIN_TOKEN; "" sets none
	readyPath string       // readiness probe path; default probePath
	scheme    string       // "http" (default) or "https"
	client    *http.Client // client for requests and the readiness probe; default: a pooled plain-HTTP client and a 1 s probe
	env       []string     // more environment (NAME=value), after childEnv's
	stdout    string       // if set, stdout goes to this file instead of the log (the log then holds stderr only)
}

// ledgerProc is one ledgerd child process.
type ledgerProc struct {
	t         *testing.T
	cmd       *exec.Cmd
	addr      string
	scheme    string
	token     string
	logPath   string
	client    *http.Client
	probe     *http.Client
	readyPath string
	exited    chan struct{}
	waitErr   error
}

// launch starts ledgerd on dataDir with a fresh port, logging to logPath,
// and returns at once (no readiness wait). The process is killed in
// t.Cleanup if it still runs.
func launch(t *testing.T, bin, dataDir, logPath string, o procOpts) *ledgerProc {
	t.Helper()
	addr := freePort(t)
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--data", dataDir, "--listen", addr}, o.args...)...)
	cmd.Env = append(childEnv(o.token), o.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	var outFile *os.File
	if o.stdout != "" {
		if outFile, err = os.Create(o.stdout); err != nil {
			logFile.Close()
			t.Fatal(err)
		}
		cmd.Stdout = outFile
	}
	p := &ledgerProc{t: t, cmd: cmd, addr: addr, scheme: o.scheme, token: o.token, logPath: logPath,
		client: o.client, probe: o.client, readyPath: o.readyPath, exited: make(chan struct{})}
	if p.scheme == "" {
		p.scheme = "http"
	}
	if p.readyPath == "" {
		p.readyPath = probePath
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true,
		}}
		p.probe = &http.Client{Timeout: time.Second}
	}
	closeFiles := func() {
		logFile.Close()
		if outFile != nil {
			outFile.Close()
		}
	}
	if err := cmd.Start(); err != nil {
		closeFiles()
		t.Fatalf("start ledgerd: %v", err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		closeFiles()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		p.client.CloseIdleConnections()
	})
	return p
}

// url is the process's base URL plus path.
func (p *ledgerProc) url(path string) string { return p.scheme + "://" + p.addr + path }

// ready waits until the process answers HTTP; it returns an error if the
// process exits first or is not ready within readyTimeout.
func (p *ledgerProc) ready() error {
	deadline := time.Now().Add(readyTimeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before ready: %v", p.waitErr)
		default:
		}
		resp, err := p.probe.Get(p.url(p.readyPath))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return nil // any HTTP answer means it serves
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %w", readyTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// start launches ledgerd and waits until it serves; logPath(attempt) names
// each attempt's log. A port lost to another process between picking and
// listening is retried with a new one.
func start(t *testing.T, bin, dataDir, name string, logPath func(attempt int) string, o procOpts) *ledgerProc {
	t.Helper()
	for attempt := 0; ; attempt++ {
		p := launch(t, bin, dataDir, logPath(attempt), o)
		err := p.ready()
		if err == nil {
			return p
		}
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if attempt < 3 && strings.Contains(readLog(p.logPath), "listen:") {
			continue
		}
		t.Fatalf("ledgerd %s did not start: %v\n--- log ---\n%s", name, err, readLog(p.logPath))
	}
}

// startNamed starts ledgerd with logs <logDir>/<name>-<attempt>.log.
func startNamed(t *testing.T, bin, dataDir, logDir, name string, o procOpts) *ledgerProc {
	t.Helper()
	return start(t, bin, dataDir, name, func(attempt int) string {
		return filepath.Join(logDir, fmt.Sprintf("%s-%d.log", name, attempt))
	}, o)
}

// exitWithin waits for the process to exit by itself and returns its code.
func (p *ledgerProc) exitWithin(d time.Duration) (int, bool) {
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), true
	case <-time.After(d):
		return 0, false
	}
}

// kill9 sends SIGKILL and fails t if the process had already exited on its
// own (fail-stop); it returns the error of sending the signal.
func (p *ledgerProc) kill9(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		t.Fatalf("ledgerd exited on its own before kill -9: %v\n--- log ---\n%s", p.waitErr, readLog(p.logPath))
	default:
	}
	err := p.cmd.Process.Kill()
	<-p.exited
	p.client.CloseIdleConnections()
	return err
}

// kill is kill9 that also checks that the signal was sent and that the
// process died by SIGKILL.
func (p *ledgerProc) kill() {
	p.t.Helper()
	if err := p.kill9(p.t); err != nil {
		p.t.Fatalf("kill: %v", err)
	}
	var ee *exec.ExitError
	if !errors.As(p.waitErr, &ee) {
		p.t.Fatalf("after kill: wait = %v", p.waitErr)
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		p.t.Fatalf("ledgerd did not die by SIGKILL: %v\n--- log ---\n%s", p.waitErr, readLog(p.logPath))
	}
}

// sigterm sends SIGTERM and returns the exit code; t fails if the process
// does not exit within timeout.
func (p *ledgerProc) sigterm(t *testing.T, timeout time.Duration) int {
	t.Helper()
	// Connections this client dialed but never used would hold the drain
	// open (see TestGracefulShutdownWithUnusedConnection).
	p.client.CloseIdleConnections()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	code, ok := p.exitWithin(timeout)
	if !ok {
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("ledgerd did not exit within %v of SIGTERM\n--- log ---\n%s", timeout, readLog(p.logPath))
	}
	p.client.CloseIdleConnections()
	return code
}

// terminate sends SIGTERM and returns the exit code.
func (p *ledgerProc) terminate(timeout time.Duration) int {
	p.t.Helper()
	return p.sigterm(p.t, timeout)
}

// stop sends SIGTERM and wants exit code 0 within 30 s.
func (p *ledgerProc) stop(t *testing.T) {
	t.Helper()
	if code := p.sigterm(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM\n--- log ---\n%s", code, readLog(p.logPath))
	}
}

// do sends one request with body as JSON (if not nil) and returns the
// status and the response body.
func (p *ledgerProc) do(method, path string, header map[string]string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, p.url(path), rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, b, nil
}

// mustJSON is do that wants status want and decodes the body into out
// (if not nil).
func (p *ledgerProc) mustJSON(method, path string, header map[string]string, body any, want int, out any) {
	p.t.Helper()
	st, b, err := p.do(method, path, header, body)
	if err != nil || st != want {
		p.t.Fatalf("%s %s: status %d err %v body %s (want %d)", method, path, st, err, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// adminAuth is the Authorization header for an admin token.
func adminAuth(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

type partnerInfo struct {
	ID     string `json:"id"`
	APIKey string `json:"apiKey"`
}

// partner creates a partner of api with the admin token.
func (p *ledgerProc) partner(token, api, name string, rate int64) partnerInfo {
	p.t.Helper()
	var out partnerInfo
	p.mustJSON("POST", "/admin/partners", adminAuth(token), map[string]any{"api": api, "name": name, "rateLimitPerMinute": rate}, http.StatusCreated, &out)
	if !strings.HasPrefix(out.APIKey, "pk_live_") || out.ID == "" {
		p.t.Fatalf("partner %+v", out)
	}
	return out
}

// createPartner creates a PayShards partner without a practical rate limit
// with the process's admin token and returns its API key.
func (p *ledgerProc) createPartner(name string) string {
	p.t.Helper()
	return p.partner(p.token, "payshards", name, 100_000_000).APIKey
}

// credit credits a PayShards user with the process's admin token and
// returns the new balance.
func (p *ledgerProc) credit(user string, amount int64, ref string) int64 {
	p.t.Helper()
	var out struct {
		UserID  string `json:"userId"`
		Balance int64  `json:"balance"`
	}
	p.mustJSON("POST", "/admin/payshards/users/"+user+"/credit", adminAuth(p.token),
		map[string]any{"amount": amount, "reference": ref}, http.StatusOK, &out)
	return out.Balance
}

// opResult is the answer to a PayShards deduct or refund.
type opResult struct {
	Success    bool   `json:"success"`
	NewBalance int64  `json:"newBalance"`
	Idempotent bool   `json:"idempotent"`
	Error      string `json:"error"`
	Refundable *int64 `json:"refundable"`
	Balance    int64  `json:"balance"`
}

// op sends a PayShards deduct or refund (kind).
func (p *ledgerProc) op(kind, key, user string, amount int64, ref string) (int, opResult, error) {
	st, b, err := p.do("POST", "/payshards/api/partner/"+kind, map[string]string{"x-api-key": key},
		map[string]any{"userId": user, "amount": amount, "reference": ref})
	var r opResult
	if err == nil {
		if jerr := json.Unmarshal(b, &r); jerr != nil {
			err = fmt.Errorf("decode %q: %w", b, jerr)
		}
	}
	return st, r, err
}

// deduct sends a PayShards deduct.
func (p *ledgerProc) deduct(key, user string, amount int64, ref string) (int, opResult, error) {
	return p.op("deduct", key, user, amount, ref)
}

// balance reads a PayShards balance.
func (p *ledgerProc) balance(key, user string) (int64, error) {
	st, b, err := p.do("GET", "/payshards/api/partner/balance?userId="+user, map[string]string{"x-api-key": key}, nil)
	if err != nil {
		return 0, err
	}
	if st != http.StatusOK {
		return 0, fmt.Errorf("balance %s: status %d body %s", user, st, b)
	}
	var out struct {
		Balance int64 `json:"balance"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, err
	}
	return out.Balance, nil
}

// mustBalance is balance that fails the test on an error.
func (p *ledgerProc) mustBalance(key, user string) int64 {
	p.t.Helper()
	b, err := p.balance(key, user)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// parallel runs fn(i) for i in [0,n) on parallelWorkers goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range parallelWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// readLog returns a log file's content ("" if it cannot be read).
func readLog(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// logErrors returns the log's ERROR lines that match none of allowed.
func logErrors(path string, allowed ...string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(readLog(path)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
lines:
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "level=ERROR") {
			continue
		}
		for _, a := range allowed {
			if strings.Contains(line, a) {
				continue lines
			}
		}
		bad = append(bad, line)
	}
	return bad
}

// dumpLogsOnFailure logs every file of logDir (long ones cut in the
// middle) at the end of a failed test.
// logSeedOnFailure, on failure, names the seed to rerun with and dumps the
// child logs.
func logSeedOnFailure(t *testing.T, seed uint64, logDir string) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (LEDGERD_CRASH_SEED); child logs kept in %s", seed, logDir)
		}
	})
	dumpLogsOnFailure(t, logDir)
}

func dumpLogsOnFailure(t *testing.T, logDir string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ents, _ := os.ReadDir(logDir)
		for _, e := range ents {
			log := readLog(filepath.Join(logDir, e.Name()))
			if len(log) > 20000 {
				log = log[:10000] + "\n…\n" + log[len(log)-10000:]
			}
			t.Logf("--- %s ---\n%s", e.Name(), log)
		}
	})
}
