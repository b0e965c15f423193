package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Target kinds.
const (
	KindLedgerd = "ledgerd"
	KindCeiling = "ceiling"
	KindFloor   = "floor"
	KindExt     = "ext"
)

// TargetSpec is one entry of --targets.
type TargetSpec struct {
	Name string // as reported: "ledgerd", "ceiling", or ext's NAME
	Kind string
	URL  string // ext: base URL
	Key  string // ext: API key (PayShards x-api-key, PayPay and PaySmart bearer)
}

// ParseTargets parses --targets: a comma list of `ledgerd`, `ceiling`,
// `floor` and `ext:NAME=URL,KEY` (the KEY after the URL's comma belongs to
// the ext).
func ParseTargets(s string) ([]TargetSpec, error) {
	var out []TargetSpec
	parts := strings.Split(s, ",")
	seen := map[string]bool{}
	for i := 0; i < len(parts); i++ {
		p := strings.TrimSpace(parts[i])
		var t TargetSpec
		switch {
		case p == KindLedgerd || p == KindCeiling || p == KindFloor:
			t = TargetSpec{Name: p, Kind: p}
		case strings.HasPrefix(p, "ext:"):
			name, u, ok := strings.Cut(p[len("ext:"):], "=")
			if !ok || name == "" || i+1 >= len(parts) {
				return nil, fmt.Errorf("target %q: want ext:NAME=URL,KEY", p)
			}
			i++
			t = TargetSpec{Name: name, Kind: KindExt, URL: strings.TrimRight(u, "/"), Key: strings.TrimSpace(parts[i])}
			if pu, err := url.Parse(t.URL); err != nil || pu.Scheme != "http" || pu.Host == "" {
				return nil, fmt.Errorf("target %q: URL must be http://host:port[/prefix]", p)
			}
		case p == "":
			continue
		default:
			return nil, fmt.Errorf("unknown target %q (ledgerd, ceiling, floor or ext:NAME=URL,KEY)", p)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("target %q given twice", t.Name)
		}
		seen[t.Name] = true
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("no targets")
	}
	return out, nil
}

// running is a started and seeded target.
type running struct {
	spec       TargetSpec
	ep         Endpoint
	baseURL    string   // http://host:port[/prefix]
	codes      []string // pre-issued PayPay codes
	hasMetrics bool     // /metrics may be read
	pid        int      // the target's process when ledgerbench started it, else 0
	stop       func() error
}

// TargetOptions are what starting a target needs.
type TargetOptions struct {
	Scenario    string
	Users       int
	Codes       int      // PayPay codes to issue (paypay-redeem)
	LedgerdBin  string   // built binary
	LedgerdArgs []string // extra flags
	SelfExe     string   // ledgerbench itself, for `ceiling`; "" = serve the ceiling in process
	OutDir      string   // ledgerd's log goes there
	Log         io.Writer
}

func startTarget(ctx context.Context, spec TargetSpec, o TargetOptions) (*running, error) {
	switch spec.Kind {
	case KindCeiling, KindFloor:
		return startReference(spec, o)
	case KindLedgerd:
		return startLedgerd(ctx, spec, o)
	default:
		u, _ := url.Parse(spec.URL)
		r := &running{spec: spec, baseURL: spec.URL, stop: func() error { return nil },
			ep: Endpoint{Host: u.Host, PathPrefix: strings.TrimRight(u.Path, "/"), PayShardsKey: spec.Key, PayPayKey: spec.Key, PaySmartKey: spec.Key, PayChatKey: spec.Key, CheckoutKey: spec.Key}}
		return r, nil
	}
}

// startReference starts the ceiling or the floor: `ledgerbench ceiling` or
// `ledgerbench floor` in its own process, or in this one without SelfExe
// (tests).
func startReference(spec TargetSpec, o TargetOptions) (*running, error) {
	r := &running{spec: spec}
	if o.SelfExe == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		srv := NewCeilingServer()
		r.stop = srv.Shutdown
		if spec.Kind == KindFloor {
			dir, err := os.MkdirTemp("", "ledgerbench-floor-")
			if err != nil {
				ln.Close()
				return nil, err
			}
			log, err := OpenFloorLog(filepath.Join(dir, "floor.log"))
			if err != nil {
				ln.Close()
				os.RemoveAll(dir)
				return nil, err
			}
			srv = NewFloorServer(log)
			r.stop = func() error {
				err := srv.Shutdown()
				err = errors.Join(err, log.Close())
				os.RemoveAll(dir)
				return err
			}
		}
		go srv.Serve(ln)
		r.setHost(ln.Addr().String())
		return r, nil
	}
	cmd := exec.Command(o.SelfExe, spec.Kind, "--listen", "127.0.0.1:0")
	cmd.Stderr = o.Log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Kind, err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not print its address: %w", spec.Kind, err)
	}
	r.setHost(strings.TrimSpace(line))
	r.pid = cmd.Process.Pid
	r.stop = func() error { return stopProcess(cmd) }
	return r, nil
}

func (r *running) setHost(addr string) {
	r.ep.Host = addr
	r.baseURL = "http://" + addr
}

// stopProcess sends SIGTERM and waits up to 30 s, then kills.
func stopProcess(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("did not stop within 30 s of SIGTERM: killed")
	}
}

func randomToken(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// startLedgerd launches the binary on a fresh temp data dir, waits for its
// "ledgerd listening" log line, and seeds it over the admin API.
func startLedgerd(ctx context.Context, spec TargetSpec, o TargetOptions) (*running, error) {
	dir, err := os.MkdirTemp("", "ledgerbench-data-")
	if err != nil {
		return nil, err
	}
	token := randomToken("adm_bench_")
	logPath := filepath.Join(o.OutDir, spec.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	args := append([]string{"--data", dir, "--listen", "127.0.0.1:0", "--log-level", "info"}, o.LedgerdArgs...)
	cmd := exec.Command(o.LedgerdBin, args...)
	cmd.Env = append(os.Environ(), "LEDGERD_ADMIN_TOKEN="+token)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout = logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", o.LedgerdBin, err)
	}
	addrCh := make(chan string, 1)
	var copyDone sync.WaitGroup
	copyDone.Add(1)
	go func() {
		defer copyDone.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if !found && strings.Contains(line, `msg="ledgerd listening"`) {
				for _, f := range strings.Fields(line) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						found = true
						addrCh <- a
					}
				}
			}
		}
		close(addrCh)
	}()
	r := &running{spec: spec, hasMetrics: true, pid: cmd.Process.Pid}
	r.stop = func() error {
		err := stopProcess(cmd)
		copyDone.Wait()
		logFile.Close()
		os.RemoveAll(dir)
		return err
	}
	select {
	case addr, ok := <-addrCh:
		if !ok {
			r.stop()
			return nil, fmt.Errorf("ledgerd exited before listening; see %s", logPath)
		}
		r.setHost(addr)
	case <-time.After(2 * time.Minute):
		r.stop()
		return nil, fmt.Errorf("ledgerd did not listen within 2 minutes; see %s", logPath)
	}
	if err := r.seed(ctx, token, o); err != nil {
		r.stop()
		return nil, fmt.Errorf("seed ledgerd: %w", err)
	}
	return r, nil
}

// admin calls an admin route and decodes its JSON answer into out.
func admin(ctx context.Context, c *http.Client, method, u, token string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, bytes.TrimSpace(data))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// BenchRateLimit is the per-minute limit of the benchmark partners (the
// admin API's maximum), so the rate limiter never refuses a request.
const BenchRateLimit = 100_000_000

// seed creates the partner(s), credits u0..uN-1 with CreditAmount (PayShards
// scenarios) or issues o.Codes codes (paypay-redeem).
func (r *running) seed(ctx context.Context, token string, o TargetOptions) error {
	c := &http.Client{Timeout: time.Minute}
	defer c.CloseIdleConnections()
	if usesPaySmart(o.Scenario) {
		return r.seedPaySmart(ctx, c, token)
	}
	if usesPayChat(o.Scenario) {
		return r.seedPayChat(ctx, c, token)
	}
	if o.Scenario == ScenarioCheckoutCreate {
		var shop struct {
			Keys map[string]string `json:"keys"`
		}
		err := admin(ctx, c, "POST", r.baseURL+"/admin/checkout/shops", token,
			map[string]any{"name": "ledgerbench", "rate_limit_per_minute": BenchRateLimit}, http.StatusCreated, &shop)
		r.ep.CheckoutKey = shop.Keys["test"]
		return err
	}
	api := "payshards"
	if usesPayPay(o.Scenario) {
		api = "paypay"
	}
	var p struct {
		ID     string `json:"id"`
		APIKey string `json:"apiKey"`
	}
	err := admin(ctx, c, "POST", r.baseURL+"/admin/partners", token,
		map[string]any{"api": api, "name": "ledgerbench", "rateLimitPerMinute": BenchRateLimit}, http.StatusCreated, &p)
	if err != nil {
		return err
	}
	if usesPayPay(o.Scenario) {
		r.ep.PayPayKey = p.APIKey
		expires := time.Now().UTC().Add(30 * 24 * time.Hour).Format("2006-01-02T15:04:05.000Z")
		for left := o.Codes; left > 0; {
			n := min(left, 10_000)
			var res struct {
				Codes []string `json:"codes"`
			}
			err := admin(ctx, c, "POST", r.baseURL+"/admin/paypay/partners/"+p.ID+"/codes", token,
				map[string]any{"count": n, "tier": "month", "entitlement_label": "1 month", "expires_at": expires}, http.StatusCreated, &res)
			if err != nil {
				return err
			}
			r.codes = append(r.codes, res.Codes...)
			left -= n
		}
		return nil
	}
	r.ep.PayShardsKey = p.APIKey
	users := max(o.Users, 1)
	var next int64 = -1
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				i := next
				stop := firstErr != nil
				mu.Unlock()
				if stop || i >= int64(users) {
					return
				}
				u := "u" + strconv.FormatInt(i, 10)
				err := admin(ctx, c, "POST", r.baseURL+"/admin/payshards/users/"+u+"/credit", token,
					map[string]any{"amount": CreditAmount, "reference": "ledgerbench-credit-" + u}, http.StatusOK, nil)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// seedPaySmart creates a PaySmart account (POST /admin/paysmart/accounts)
// and lifts its rate limit to BenchRateLimit; the run uses its secret test
// key.
func (r *running) seedPaySmart(ctx context.Context, c *http.Client, token string) error {
	var a struct {
		ID   string `json:"id"`
		Keys struct {
			SecretTest string `json:"secret_test"`
		} `json:"keys"`
	}
	if err := admin(ctx, c, "POST", r.baseURL+"/admin/paysmart/accounts", token, map[string]any{"name": "ledgerbench"}, http.StatusCreated, &a); err != nil {
		return err
	}
	if a.ID == "" || !strings.HasPrefix(a.Keys.SecretTest, "sk_test_") {
		return fmt.Errorf("paysmart account %q: no sk_test_ key in the answer", a.ID)
	}
	if err := admin(ctx, c, "PATCH", r.baseURL+"/admin/partners/"+a.ID, token, map[string]any{"rateLimitPerMinute": BenchRateLimit}, http.StatusOK, nil); err != nil {
		return err
	}
	r.ep.PaySmartKey = a.Keys.SecretTest
	return nil
}

// seedPayChat registers a PAYchat partner (POST /paychat/api/partner/register,
// a fresh Telegram id), lifts its rate limit to BenchRateLimit (its
// classes scale with it) and funds it with PayChatFunds by sandbox
// deposits on its memo.
func (r *running) seedPayChat(ctx context.Context, c *http.Client, token string) error {
	var reg struct {
		Partner struct {
			ID     string `json:"id"`
			APIKey string `json:"api_key"`
		} `json:"partner"`
	}
	tg := strconv.FormatInt(time.Now().UnixNano()%1e15, 10)
	if err := admin(ctx, c, "POST", r.baseURL+"/paychat/api/partner/register", "", map[string]any{"telegram_id": tg, "name": "ledgerbench"}, http.StatusOK, &reg); err != nil {
		return err
	}
	id := reg.Partner.ID
	if err := admin(ctx, c, "PATCH", r.baseURL+"/admin/partners/"+id, token, map[string]any{"rateLimitPerMinute": BenchRateLimit}, http.StatusOK, nil); err != nil {
		return err
	}
	memo := "partner_" + strings.TrimPrefix(id, "pcp_")
	body := map[string]any{"memo": memo, "amount": json.Number(strconv.FormatInt(PayChatFunds/1_000_000, 10)), "tx_hash": "ledgerbench_" + tg}
	if err := admin(ctx, c, "POST", r.baseURL+"/admin/paychat/deposits", token, body, http.StatusOK, nil); err != nil {
		return err
	}
	r.ep.PayChatKey = reg.Partner.APIKey
	return nil
}

// Metrics are the ledgerd counters ledgerbench reads from /metrics.
type Metrics struct {
	BatchEventsSum, BatchEventsCount float64 // ledgerd_wal_batch_events
	FsyncSum, FsyncCount             float64 // ledgerd_fsync_seconds
	HasBatch, HasFsync               bool
}

// ErrNoMetrics means the target has no /metrics (404) yet.
var ErrNoMetrics = errors.New("no /metrics (404)")

func fetchMetrics(ctx context.Context, baseURL string) (Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", baseURL+"/metrics", nil)
	if err != nil {
		return Metrics{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Metrics{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return Metrics{}, ErrNoMetrics
	}
	if resp.StatusCode != http.StatusOK {
		return Metrics{}, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics reads the Prometheus text format and sums, over every label
// set, the _sum and _count of ledgerd_wal_batch_events and
// ledgerd_fsync_seconds.
func ParseMetrics(r io.Reader) (Metrics, error) {
	var m Metrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = line[:i]
			j := strings.LastIndexByte(line, '}')
			if j < 0 {
				continue
			}
			rest = line[j+1:]
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		switch name {
		case "ledgerd_wal_batch_events_sum":
			m.BatchEventsSum += v
			m.HasBatch = true
		case "ledgerd_wal_batch_events_count":
			m.BatchEventsCount += v
		case "ledgerd_fsync_seconds_sum":
			m.FsyncSum += v
			m.HasFsync = true
		case "ledgerd_fsync_seconds_count":
			m.FsyncCount += v
		}
	}
	return m, sc.Err()
}
