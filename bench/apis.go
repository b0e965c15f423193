package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// `ledgerbench apis` is issue 13's whole table in one command: every API's
// main write, each run against the durable floor (before and after it) and
// the ceiling, with a PayShards deduct at the start and again at the end so
// each API's CPU per ok answer can be set against a deduct of the same
// minutes. The VM's speed drifts over minutes, so every ratio it prints is
// within one run (floor, ceiling) or to the mean of the two deducts.

// APIStep is one run of the sequence.
type APIStep struct {
	Scenario string
	Conns    int
	// Deduct marks the deduct runs at the start and the end, whose CPU per
	// ok answer is the "× deduct" reference.
	Deduct bool
}

// APISteps is the sequence for conns connections; wide > 0 adds a deduct
// at that many connections (the 256) after the first.
func APISteps(conns, wide int) []APIStep {
	steps := []APIStep{{ScenarioDeduct, conns, true}}
	if wide > 0 {
		steps = append(steps, APIStep{ScenarioDeduct, wide, false})
	}
	for _, s := range []string{ScenarioPayPayRedem, ScenarioPayChatWithdraw, ScenarioPayChatPayment, ScenarioCheckoutCreate, ScenarioPaySmartPay} {
		steps = append(steps, APIStep{s, conns, false})
	}
	return append(steps, APIStep{ScenarioDeduct, conns, true})
}

// APIRow is one line of the summary. A ratio is 0 when a figure it needs is
// missing (a target failed, or its CPU could not be read).
type APIRow struct {
	Step       int     `json:"step"`
	Scenario   string  `json:"scenario"`
	Conns      int     `json:"conns"`
	Dir        string  `json:"dir"`
	OKPerSec   float64 `json:"okPerSec"`
	FloorOK    float64 `json:"floorOkPerSec"` // mean of the floor's two runs
	CeilingOK  float64 `json:"ceilingOkPerSec"`
	CPU        float64 `json:"cpuUsPerOk"`
	FloorCPU   float64 `json:"floorCpuUsPerOk"`
	CeilingCPU float64 `json:"ceilingCpuUsPerOk"`
	P999       float64 `json:"p99_9Ms"`
	Max        float64 `json:"maxMs"`
	PerFsync   float64 `json:"eventsPerFsync"`
	// Ratios: ledgerd over the floor's mean, over the ceiling, and (CPU
	// only) over the mean CPU per ok of the deduct steps.
	OKxFloor    float64 `json:"okXFloor"`
	OKxCeiling  float64 `json:"okXCeiling"`
	CPUxFloor   float64 `json:"cpuXFloor"`
	CPUxCeiling float64 `json:"cpuXCeiling"`
	CPUxDeduct  float64 `json:"cpuXDeduct"`
	// CPUxDeductFloor is CPUxFloor over the deducts' mean CPUxFloor: the
	// same comparison with each run first divided by the floor of its own
	// minutes, which takes out most of the VM's drift between steps.
	CPUxDeductFloor float64 `json:"cpuXDeductPerFloor"`
}

// SummarizeAPIs turns the sequence's reports (reps[i] for steps[i]) into
// rows. It fails if no deduct step has ledgerd's CPU figure, since then no
// "× deduct" ratio exists.
func SummarizeAPIs(steps []APIStep, reps []*Report, dirs []string) ([]APIRow, error) {
	if len(steps) != len(reps) || len(reps) != len(dirs) {
		return nil, errors.New("bench: apis: steps, reports and dirs differ in number")
	}
	var deductCPU, deductXFloor float64
	n, nf := 0, 0
	rows := make([]APIRow, len(steps))
	for i, st := range steps {
		r := APIRow{Step: i + 1, Scenario: st.Scenario, Conns: st.Conns, Dir: dirs[i]}
		rep := reps[i]
		if rep == nil {
			rows[i] = r
			continue
		}
		if f := rep.floor(); f != nil {
			r.FloorOK, r.FloorCPU = f.Throughput, f.cpuPerOK()
		}
		if c := rep.ceiling(); c != nil {
			r.CeilingOK, r.CeilingCPU = c.Throughput, c.cpuPerOK()
		}
		for _, res := range rep.Results {
			if res.Kind == KindLedgerd && res.Error == "" {
				r.OKPerSec, r.CPU = res.Throughput, res.cpuPerOK()
				r.P999, r.Max = res.Latency.P999, res.Latency.Max
				if res.EventsPerFsync != nil {
					r.PerFsync = *res.EventsPerFsync
				}
				break
			}
		}
		r.OKxFloor, r.OKxCeiling = div(r.OKPerSec, r.FloorOK), div(r.OKPerSec, r.CeilingOK)
		r.CPUxFloor, r.CPUxCeiling = div(r.CPU, r.FloorCPU), div(r.CPU, r.CeilingCPU)
		if st.Deduct && r.CPU > 0 {
			deductCPU += r.CPU
			n++
		}
		if st.Deduct && r.CPUxFloor > 0 {
			deductXFloor += r.CPUxFloor
			nf++
		}
		rows[i] = r
	}
	if n == 0 {
		return rows, errors.New("bench: apis: no deduct run with a CPU figure")
	}
	deductCPU /= float64(n)
	if nf > 0 {
		deductXFloor /= float64(nf)
	}
	for i := range rows {
		rows[i].CPUxDeduct = div(rows[i].CPU, deductCPU)
		rows[i].CPUxDeductFloor = div(rows[i].CPUxFloor, deductXFloor)
	}
	return rows, nil
}

// WriteAPIsTable writes rows as the Markdown table the README quotes.
func WriteAPIsTable(w io.Writer, rows []APIRow) {
	x := func(v float64) string {
		if v == 0 {
			return "–"
		}
		return fmt.Sprintf("%.2f", v)
	}
	fmt.Fprintln(w, "| # | scenario | conns | ledgerd ok/s | × floor | × ceiling | CPU µs per ok | × floor | × ceiling | × deduct | × deduct, per floor | p99.9 / max ms | ev/fsync | floor ok/s, CPU | ceiling ok/s, CPU |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %d | %s | %d | %.0f | %s | %s | %.1f | %s | %s | %s | %s | %.1f / %.1f | %.1f | %.0f, %.1f | %.0f, %.1f |\n",
			r.Step, r.Scenario, r.Conns, r.OKPerSec, x(r.OKxFloor), x(r.OKxCeiling), r.CPU, x(r.CPUxFloor), x(r.CPUxCeiling),
			x(r.CPUxDeduct), x(r.CPUxDeductFloor), r.P999, r.Max, r.PerFsync, r.FloorOK, r.FloorCPU, r.CeilingOK, r.CeilingCPU)
	}
}

// ApisCmd is `ledgerbench apis`.
func ApisCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerbench apis", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c RunConfig
	var wide int
	var ledgerdArgs string
	fs.IntVar(&c.Conns, "conns", 64, "connections for every step")
	fs.IntVar(&wide, "wide", 256, "connections of the extra deduct step after the first (0: none)")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "measured duration per target")
	fs.DurationVar(&c.Warmup, "warmup", 2*time.Second, "warm-up before each target, not measured")
	fs.StringVar(&c.OutDir, "out", "", "output directory (default bench/out/apis-<timestamp>)")
	fs.StringVar(&c.LedgerdBin, "ledgerd-bin", "", "ledgerd binary (default: go build -o bin/ledgerd ./cmd/ledgerd)")
	fs.StringVar(&ledgerdArgs, "ledgerd-args", "", "extra ledgerd flags, space-separated")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress lines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c.Users, c.Pool, c.Codes, c.Seed = 1000, 1000, 600_000, 1
	c.LedgerdArgs = strings.Fields(ledgerdArgs)
	var err error
	if c.Targets, err = ParseTargets("floor,ledgerd,ceiling"); err != nil {
		fmt.Fprintln(stderr, "ledgerbench apis:", err)
		return 2
	}
	if c.OutDir == "" {
		c.OutDir = filepath.Join("bench", "out", "apis-"+time.Now().Format("20060102-150405"))
	}
	if exe, err := os.Executable(); err == nil {
		c.SelfExe = exe
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	steps := APISteps(c.Conns, wide)
	reps := make([]*Report, len(steps))
	dirs := make([]string, len(steps))
	log := io.Discard
	if !c.Quiet {
		log = stderr
	}
	for i, st := range steps {
		rc := c
		rc.Scenario, rc.Conns = st.Scenario, st.Conns
		dirs[i] = fmt.Sprintf("%d-%s-%d", i+1, st.Scenario, st.Conns)
		rc.OutDir = filepath.Join(c.OutDir, dirs[i])
		fmt.Fprintf(stderr, "%s step %d/%d: %s, %d conns\n", time.Now().Format("15:04:05"), i+1, len(steps), st.Scenario, st.Conns)
		rep, rerr := Execute(ctx, rc, log)
		if rerr != nil {
			fmt.Fprintln(stderr, "ledgerbench apis:", rerr)
			if ctx.Err() != nil {
				return 1
			}
		}
		reps[i] = rep
		if c.LedgerdBin == "" { // built by the first step
			c.LedgerdBin = filepath.Join("bin", "ledgerd")
		}
	}
	rows, err := SummarizeAPIs(steps, reps, dirs)
	WriteAPIsTable(stdout, rows)
	if werr := writeAPIs(c.OutDir, rows); werr != nil {
		fmt.Fprintln(stderr, "ledgerbench apis:", werr)
		return 1
	}
	fmt.Fprintf(stdout, "summary: %s, %s\n", filepath.Join(c.OutDir, "apis.md"), filepath.Join(c.OutDir, "apis.json"))
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench apis:", err)
		return 1
	}
	return 0
}

func writeAPIs(dir string, rows []APIRow) error {
	var md strings.Builder
	WriteAPIsTable(&md, rows)
	if err := os.WriteFile(filepath.Join(dir, "apis.md"), []byte(md.String()), 0o644); err != nil {
		return fmt.Errorf("bench: apis: %w", err)
	}
	js, err := json.MarshalIndent(rows, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: apis: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apis.json"), js, 0o644); err != nil {
		return fmt.Errorf("bench: apis: %w", err)
	}
	return nil
}
