package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
)

// RunConfig is `ledgerbench run`'s flags.
type RunConfig struct {
	Scenario   string
	Conns      int
	Duration   time.Duration
	Warmup     time.Duration
	Rate       float64
	Users      int
	Pool       int
	Codes      int
	Targets    []TargetSpec
	OutDir     string
	Seed       uint64
	LedgerdBin string // "" = go build ./cmd/ledgerd into bin/ledgerd
	// LedgerdArgs are extra flags for ledgerd (e.g. --cpuprofile FILE).
	LedgerdArgs []string
	SelfExe     string // for the ceiling subprocess; "" = in process
	Quiet       bool
	Progress    bool // draw a progress bar on stderr
}

// RunCmd is `ledgerbench run`.
func RunCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerbench run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c RunConfig
	var targets string
	fs.StringVar(&c.Scenario, "scenario", ScenarioDeduct, strings.Join(Scenarios, " | "))
	fs.IntVar(&c.Conns, "conns", 64, "connections (closed loop) or workers (open loop)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration per target")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "warm-up before it, not measured")
	fs.Float64Var(&c.Rate, "rate", 0, "0 = closed loop; > 0 = open loop at this many requests/s, latency from each request's intended send time")
	fs.IntVar(&c.Users, "users", 1000, "users u0..uN-1")
	fs.IntVar(&c.Pool, "pool", 1000, "retry-storm: references sent again and again")
	fs.IntVar(&c.Codes, "codes", 600_000, "paypay-redeem: codes to pre-issue, enough for 12 s at 50k redeems/s (after they run out, redeems are idempotent replays)")
	fs.StringVar(&targets, "targets", "ledgerd,ceiling", "comma list: ledgerd, ceiling, floor (runs first and again last), ext:NAME=URL,KEY")
	fs.StringVar(&c.OutDir, "out", "", "output directory (default bench/out/<timestamp>)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (user choice, operation mix)")
	fs.StringVar(&c.LedgerdBin, "ledgerd-bin", "", "ledgerd binary (default: go build -o bin/ledgerd ./cmd/ledgerd)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress bar")
	var ledgerdArgs string
	fs.StringVar(&ledgerdArgs, "ledgerd-args", "", "extra ledgerd flags, space-separated (e.g. \"--cpuprofile /tmp/ledgerd.prof\")")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.LedgerdArgs = strings.Fields(ledgerdArgs)
	var err error
	if c.Targets, err = ParseTargets(targets); err != nil {
		fmt.Fprintln(stderr, "ledgerbench run:", err)
		return 2
	}
	if c.OutDir == "" {
		c.OutDir = filepath.Join("bench", "out", time.Now().Format("20060102-150405"))
	}
	if exe, err := os.Executable(); err == nil {
		c.SelfExe = exe
	}
	c.Progress = !c.Quiet && isTerminal(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := Execute(ctx, c, stderr)
	if rep != nil {
		rep.WriteText(stdout)
		fmt.Fprintf(stdout, "report: %s, %s\n", filepath.Join(c.OutDir, "report.json"), filepath.Join(c.OutDir, "report.html"))
	}
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench run:", err)
		return 1
	}
	return 0
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Execute runs every target one after the other (each alone on the
// machine), then writes report.json and report.html into c.OutDir. A target
// that fails to start is reported as failed and the others still run.
func Execute(ctx context.Context, c RunConfig, log io.Writer) (*Report, error) {
	if !ValidScenario(c.Scenario) {
		return nil, fmt.Errorf("unknown scenario %q (%s)", c.Scenario, strings.Join(Scenarios, ", "))
	}
	if c.Conns < 1 || c.Duration <= 0 || c.Warmup < 0 || c.Rate < 0 || c.Users < 1 {
		return nil, errors.New("need conns ≥ 1, duration > 0, warmup ≥ 0, rate ≥ 0, users ≥ 1")
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	rep := &Report{
		Started: time.Now().UTC(),
		Host:    HostInfo{Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()},
		Settings: Settings{Scenario: c.Scenario, Mode: "closed", Conns: c.Conns, Rate: c.Rate, DurationSec: c.Duration.Seconds(),
			WarmupSec: c.Warmup.Seconds(), Users: c.Users, Seed: c.Seed},
	}
	if c.Rate > 0 {
		rep.Settings.Mode = "open"
	}
	needLedgerd := false
	for _, t := range c.Targets {
		rep.Settings.Targets = append(rep.Settings.Targets, t.Name)
		needLedgerd = needLedgerd || t.Kind == KindLedgerd
	}
	if needLedgerd && c.LedgerdBin == "" {
		c.LedgerdBin = filepath.Join("bin", "ledgerd")
		fmt.Fprintln(log, "building", c.LedgerdBin)
		build := exec.CommandContext(ctx, "go", "build", "-o", c.LedgerdBin, "./cmd/ledgerd")
		build.Stdout, build.Stderr = log, log
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("go build ./cmd/ledgerd (run from the module root, or give --ledgerd-bin): %w", err)
		}
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, spec := range runOrder(c.Targets) {
		if ctx.Err() != nil {
			break
		}
		res := runTarget(ctx, c, spec, runID, log)
		rep.Results = append(rep.Results, res)
	}
	if err := writeReports(rep, c.OutDir); err != nil {
		return rep, err
	}
	return rep, ctx.Err()
}

// FloorAfter is the name of the floor's second run.
const FloorAfter = "floor-after"

// runOrder is the order targets run in: as given, except that the floor
// runs first and again last ("floor-after"), so the VM's fsync latency,
// which drifts over minutes, is sampled on both sides of the others and the
// ratios use the mean of the two runs.
func runOrder(targets []TargetSpec) []TargetSpec {
	var floor *TargetSpec
	var out []TargetSpec
	for i := range targets {
		if targets[i].Kind == KindFloor {
			floor = &targets[i]
			continue
		}
		out = append(out, targets[i])
	}
	if floor == nil {
		return out
	}
	after := *floor
	after.Name = FloorAfter
	out = append([]TargetSpec{*floor}, out...)
	if len(out) > 1 {
		out = append(out, after)
	}
	return out
}

func writeReports(rep *Report, dir string) error {
	for name, write := range map[string]func(io.Writer) error{"report.json": rep.WriteJSON, "report.html": rep.WriteHTML} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		err = write(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func runTarget(ctx context.Context, c RunConfig, spec TargetSpec, runID string, log io.Writer) Result {
	fmt.Fprintf(log, "== %s: starting\n", spec.Name)
	r, err := startTarget(ctx, spec, TargetOptions{Scenario: c.Scenario, Users: c.Users, Codes: c.Codes,
		LedgerdBin: c.LedgerdBin, LedgerdArgs: c.LedgerdArgs, SelfExe: c.SelfExe, OutDir: c.OutDir, Log: log})
	if err != nil {
		fmt.Fprintf(log, "== %s: %v\n", spec.Name, err)
		return Result{Target: spec.Name, Kind: spec.Kind, Error: err.Error()}
	}
	defer func() {
		if err := r.stop(); err != nil {
			fmt.Fprintf(log, "== %s: stop: %v\n", spec.Name, err)
		}
	}()
	cfg := LoadConfig{Scenario: c.Scenario, Conns: c.Conns, Duration: c.Duration, Warmup: c.Warmup, Rate: c.Rate,
		Users: c.Users, Pool: c.Pool, Seed: c.Seed, RunID: runID}

	var bar *progressbar.ProgressBar
	total := c.Warmup + c.Duration
	if c.Progress {
		bar = progressbar.NewOptions64(total.Milliseconds(), progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription(spec.Name), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	// /metrics around the measured window: one reading when warm-up ends,
	// one when the run ends.
	// The CPU time of the target's process and of this one over the same
	// window.
	var before, after Metrics
	var beforeErr, afterErr error = ErrNoMetrics, ErrNoMetrics
	var cpu *cpuMeter
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		select {
		case <-time.After(c.Warmup):
			cpu = startCPU(r.pid)
			if r.hasMetrics {
				before, beforeErr = fetchMetrics(ctx, r.baseURL)
			}
		case <-ctx.Done():
		}
	}()
	var last int64
	var lastT time.Duration
	cfg.Progress = func(el time.Duration, answers int64) {
		if bar == nil {
			return
		}
		if dt := el - lastT; dt > 0 {
			rate := float64(answers-last) / dt.Seconds()
			phase := "warm-up"
			if el >= c.Warmup {
				phase = "measuring"
			}
			bar.Describe(fmt.Sprintf("%-8s %-9s %7.0f req/s", spec.Name, phase, rate))
		}
		last, lastT = answers, el
		bar.Set64(min(el.Milliseconds(), total.Milliseconds()))
	}
	load, err := Drive(ctx, r.ep, r.codes, cfg)
	if bar != nil {
		bar.Finish()
	}
	<-metricsDone
	if err != nil && load == nil {
		return Result{Target: spec.Name, Kind: spec.Kind, Error: err.Error()}
	}
	res := ResultFrom(spec, load)
	if cpu != nil {
		res.ServerCPUPerOK, res.LoadgenCPUPerOK = cpu.perOK(res.Throughput)
	}
	if r.hasMetrics {
		after, afterErr = fetchMetrics(ctx, r.baseURL)
	}
	switch {
	case !r.hasMetrics:
	case errors.Is(beforeErr, ErrNoMetrics) || errors.Is(afterErr, ErrNoMetrics):
		res.MetricsNote = "n/a (/metrics 404)"
	case beforeErr != nil || afterErr != nil:
		res.MetricsNote = fmt.Sprintf("n/a (%v)", errors.Join(beforeErr, afterErr))
	default:
		if d := after.BatchEventsCount - before.BatchEventsCount; after.HasBatch && d > 0 {
			v := (after.BatchEventsSum - before.BatchEventsSum) / d
			res.EventsPerFsync = &v
		} else if !after.HasBatch {
			res.MetricsNote = "n/a (no ledgerd_wal_batch_events)"
		}
		if d := after.FsyncCount - before.FsyncCount; after.HasFsync && d > 0 {
			v := (after.FsyncSum - before.FsyncSum) / d * 1000
			res.FsyncMeanMs = &v
		}
	}
	fmt.Fprintf(log, "== %s: %.0f ok/s, p99 %s ms\n", spec.Name, res.Throughput, fmtMs(res.Latency.P99))
	return res
}
