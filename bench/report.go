package bench

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is one `ledgerbench run`: its settings and one Result per target.
type Report struct {
	Started  time.Time `json:"started"`
	Host     HostInfo  `json:"host"`
	Settings Settings  `json:"settings"`
	Results  []Result  `json:"results"`
	// Ratios are filled in when the report is written (Ratios()).
	Compared []Ratios `json:"ratios"`
}

// HostInfo describes the machine.
type HostInfo struct {
	Hostname  string `json:"hostname"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"goVersion"`
}

// Settings are the run's flags.
type Settings struct {
	Scenario    string   `json:"scenario"`
	Mode        string   `json:"mode"` // "closed" or "open"
	Conns       int      `json:"conns"`
	Rate        float64  `json:"rate"`
	DurationSec float64  `json:"durationSec"`
	WarmupSec   float64  `json:"warmupSec"`
	Users       int      `json:"users"`
	Seed        uint64   `json:"seed"`
	Targets     []string `json:"targets"`
}

// Result is what one target did.
type Result struct {
	Target      string           `json:"target"`
	Kind        string           `json:"kind"`
	Error       string           `json:"error,omitempty"` // the target could not be run
	Requests    int64            `json:"requests"`
	OK          int64            `json:"ok"`
	Replays     int64            `json:"replays"`
	Unsent      int64            `json:"unsent,omitempty"`
	Throughput  float64          `json:"throughput"` // ok answers/s
	Latency     Latency          `json:"latencyMs"`
	Percentiles []PercentilePt   `json:"percentiles"`
	Status      map[string]int64 `json:"status"`
	ByOp        map[string]int64 `json:"byOp,omitempty"`
	Transport   map[string]int64 `json:"transportErrors"`
	PerSecond   []int64          `json:"perSecond"` // ok answers in each second of the window
	// EventsPerFsync is Δ ledgerd_wal_batch_events_sum / Δ _count over the
	// measured window; nil when the target has no such metric.
	EventsPerFsync *float64 `json:"eventsPerFsync"`
	FsyncMeanMs    *float64 `json:"fsyncMeanMs"`
	MetricsNote    string   `json:"metricsNote,omitempty"`
	// CPU microseconds per ok answer over the measured window, from
	// /proc/<pid>/stat: the target's process (nil when ledgerbench did not
	// start it) and the load generator's (ledgerbench itself).
	ServerCPUPerOK  *float64 `json:"serverCpuUsPerOk"`
	LoadgenCPUPerOK *float64 `json:"loadgenCpuUsPerOk"`
}

// Latency is a summary in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// PercentilePt is one point of the latency-by-percentile curve.
type PercentilePt struct {
	Percentile float64 `json:"p"`
	Ms         float64 `json:"ms"`
}

// maxNines is how far the percentile curve goes: 99.999 %.
const maxNines = 5.0

// ResultFrom summarizes a Load.
func ResultFrom(spec TargetSpec, l *Load) Result {
	r := Result{Target: spec.Name, Kind: spec.Kind, Requests: l.Requests, OK: l.OK, Replays: l.Replays, Unsent: l.Unsent,
		Status: map[string]int64{}, ByOp: l.ByOp, Transport: l.Transport, PerSecond: l.PerSecond}
	if l.Elapsed > 0 {
		r.Throughput = float64(l.OK) / l.Elapsed.Seconds()
	}
	for k, v := range l.Status {
		r.Status[strconv.Itoa(k)] = v
	}
	h := l.Hist
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() > 0 {
		r.Latency = Latency{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
			P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000}
		// Points evenly spaced on the log(1/(1-p)) axis, up to the last
		// percentile the sample size can resolve.
		limit := min(maxNines, math.Log10(float64(h.TotalCount())))
		for x := 0.0; x <= limit+1e-9; x += 0.05 {
			p := 100 * (1 - math.Pow(10, -x))
			r.Percentiles = append(r.Percentiles, PercentilePt{Percentile: p, Ms: ms(h.ValueAtQuantile(p))})
		}
		r.Percentiles = append(r.Percentiles, PercentilePt{Percentile: 100, Ms: r.Latency.Max})
	}
	return r
}

// ceiling returns the ceiling's result, if it ran.
func (rep *Report) ceiling() *Result {
	for i := range rep.Results {
		if rep.Results[i].Kind == KindCeiling && rep.Results[i].Error == "" {
			return &rep.Results[i]
		}
	}
	return nil
}

// floor returns the mean of the floor's runs (before and after the other
// targets), if any ran: throughput, latency and CPU per ok averaged.
func (rep *Report) floor() *Result {
	var runs []Result
	for _, r := range rep.Results {
		if r.Kind == KindFloor && r.Error == "" {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return nil
	}
	m := Result{Target: "floor (mean)", Kind: KindFloor}
	n := float64(len(runs))
	var cpu float64
	cpuRuns := 0
	for _, r := range runs {
		m.Throughput += r.Throughput / n
		m.Latency.P50 += r.Latency.P50 / n
		m.Latency.P90 += r.Latency.P90 / n
		m.Latency.P99 += r.Latency.P99 / n
		m.Latency.P999 += r.Latency.P999 / n
		m.Latency.Max += r.Latency.Max / n
		m.Latency.Mean += r.Latency.Mean / n
		if r.ServerCPUPerOK != nil {
			cpu += *r.ServerCPUPerOK
			cpuRuns++
		}
	}
	if cpuRuns > 0 {
		cpu /= float64(cpuRuns)
		m.ServerCPUPerOK = &cpu
	}
	return &m
}

// reference is what the table's ratios compare with: the floor's mean when
// the floor ran, else the ceiling.
func (rep *Report) reference() *Result {
	if f := rep.floor(); f != nil {
		return f
	}
	return rep.ceiling()
}

// baseline is what r's figures are compared with: ref, or a zero Result
// (no ratios) when there is none or r is a reference itself.
func baseline(ref *Result, r Result) Result {
	if ref == nil || r.Kind == KindCeiling || r.Kind == KindFloor {
		return Result{}
	}
	return *ref
}

// cpuPerOK is the server's CPU per ok answer, 0 when unknown.
func (r Result) cpuPerOK() float64 {
	if r.ServerCPUPerOK == nil {
		return 0
	}
	return *r.ServerCPUPerOK
}

// Ratios is one target's figures divided by a reference's.
type Ratios struct {
	Target     string  `json:"target"`
	Reference  string  `json:"reference"`
	Throughput float64 `json:"throughput"`
	CPUPerOK   float64 `json:"cpuPerOk,omitempty"`
	P50        float64 `json:"p50"`
	P99        float64 `json:"p99"`
	P999       float64 `json:"p99_9"`
	Max        float64 `json:"max"`
}

func div(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// Ratios lists, for every target that is not a reference, its figures over
// the floor's mean and over the ceiling's (those that ran).
func (rep *Report) Ratios() []Ratios {
	var out []Ratios
	for _, ref := range []*Result{rep.floor(), rep.ceiling()} {
		if ref == nil {
			continue
		}
		for _, r := range rep.Results {
			if r.Error != "" || r.Kind == KindCeiling || r.Kind == KindFloor {
				continue
			}
			out = append(out, Ratios{Target: r.Target, Reference: ref.Target,
				Throughput: div(r.Throughput, ref.Throughput), CPUPerOK: div(r.cpuPerOK(), ref.cpuPerOK()),
				P50: div(r.Latency.P50, ref.Latency.P50), P99: div(r.Latency.P99, ref.Latency.P99),
				P999: div(r.Latency.P999, ref.Latency.P999), Max: div(r.Latency.Max, ref.Latency.Max)})
		}
	}
	return out
}

// eventsPerFsyncText is the events-per-fsync column: "n/a" without the metric.
func (r Result) eventsPerFsyncText() string {
	if r.EventsPerFsync == nil {
		return "n/a"
	}
	return strconv.FormatFloat(*r.EventsPerFsync, 'f', 1, 64)
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	rep.Compared = rep.Ratios()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

func ratio(v, base float64) string {
	if base <= 0 || math.IsNaN(v) {
		return ""
	}
	return fmt.Sprintf(" (%.2f×)", v/base)
}

func fmtMs(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// WriteText writes the table: one row per target; with a ceiling, every
// figure followed by its ratio to the ceiling's.
func (rep *Report) WriteText(w io.Writer) error {
	s := rep.Settings
	mode := fmt.Sprintf("closed loop, %d conns", s.Conns)
	if s.Mode == "open" {
		mode = fmt.Sprintf("open loop, %.0f req/s, %d workers", s.Rate, s.Conns)
	}
	fmt.Fprintf(w, "scenario %s, %s, %gs (+%gs warm-up), %d users, seed %d, %d CPUs\n",
		s.Scenario, mode, s.DurationSec, s.WarmupSec, s.Users, s.Seed, rep.Host.CPUs)
	c := rep.reference()
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tok/s\tCPU µs/ok\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\tev/fsync\t")
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\tfailed: %s\t\t\t\t\t\t\t\t\t\n", r.Target, r.Error)
			continue
		}
		cr, evf := baseline(c, r), r.eventsPerFsyncText()
		cpu := "n/a"
		if r.ServerCPUPerOK != nil {
			cpu = strconv.FormatFloat(*r.ServerCPUPerOK, 'f', 1, 64) + ratio(r.cpuPerOK(), cr.cpuPerOK())
		}
		fmt.Fprintf(tw, "%s\t%.0f%s\t%s\t%s%s\t%s%s\t%s%s\t%s%s\t%s%s\t%d\t%s\t\n", r.Target,
			r.Throughput, ratio(r.Throughput, cr.Throughput), cpu,
			fmtMs(r.Latency.P50), ratio(r.Latency.P50, cr.Latency.P50),
			fmtMs(r.Latency.P90), ratio(r.Latency.P90, cr.Latency.P90),
			fmtMs(r.Latency.P99), ratio(r.Latency.P99, cr.Latency.P99),
			fmtMs(r.Latency.P999), ratio(r.Latency.P999, cr.Latency.P999),
			fmtMs(r.Latency.Max), ratio(r.Latency.Max, cr.Latency.Max),
			r.Errors(), evf)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if c != nil {
		fmt.Fprintf(w, "ratios in the table are to the %s\n", c.Target)
	}
	for _, q := range rep.Ratios() {
		cpu := "n/a"
		if q.CPUPerOK > 0 {
			cpu = fmt.Sprintf("%.2f×", q.CPUPerOK)
		}
		fmt.Fprintf(w, "  %s / %s: throughput %.2f×, CPU per ok %s, p50 %.2f×, p99 %.2f×, p99.9 %.2f×, max %.2f×\n",
			q.Target, q.Reference, q.Throughput, cpu, q.P50, q.P99, q.P999, q.Max)
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			continue
		}
		var parts []string
		for _, k := range sortedKeys(r.Status) {
			parts = append(parts, fmt.Sprintf("%s×%d", k, r.Status[k]))
		}
		for _, k := range sortedKeys(r.Transport) {
			parts = append(parts, fmt.Sprintf("%s×%d", k, r.Transport[k]))
		}
		extra := ""
		if r.Replays > 0 {
			extra += fmt.Sprintf(", %d idempotent replays", r.Replays)
		}
		if r.Unsent > 0 {
			extra += fmt.Sprintf(", %d unsent at the end (open-loop backlog)", r.Unsent)
		}
		if r.FsyncMeanMs != nil {
			extra += fmt.Sprintf(", mean fsync %.3f ms", *r.FsyncMeanMs)
		}
		if r.MetricsNote != "" {
			extra += ", metrics: " + r.MetricsNote
		}
		if r.ServerCPUPerOK != nil {
			extra += fmt.Sprintf(", server CPU %.1f µs/ok", *r.ServerCPUPerOK)
		}
		if r.LoadgenCPUPerOK != nil {
			extra += fmt.Sprintf(", load generator CPU %.1f µs/ok", *r.LoadgenCPUPerOK)
		}
		fmt.Fprintf(w, "  %s: %d answers [%s]%s\n", r.Target, r.Requests, strings.Join(parts, " "), extra)
	}
	return nil
}

// Errors counts non-2xx answers and transport errors.
func (r Result) Errors() int64 {
	var n int64
	for k, v := range r.Status {
		if !strings.HasPrefix(k, "2") {
			n += v
		}
	}
	for _, v := range r.Transport {
		n += v
	}
	return n
}

// palette is colour-blind friendly (Okabe–Ito).
var palette = []string{"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"}

const (
	plotW, plotH = 720, 360
	padL, padR   = 70, 160
	padT, padB   = 20, 50
)

// percentileSVG draws latency (log ms) against percentile on the
// HdrHistogram axis: x = log10(1/(1−p)), labelled 0 %, 90 %, 99 %, ...
func percentileSVG(results []Result) string {
	var b strings.Builder
	minMs, maxMs := math.Inf(1), 0.0
	for _, r := range results {
		for _, p := range r.Percentiles {
			if p.Ms > 0 {
				minMs, maxMs = math.Min(minMs, p.Ms), math.Max(maxMs, p.Ms)
			}
		}
	}
	if maxMs == 0 {
		minMs, maxMs = 0.01, 1
	}
	lo, hi := math.Floor(math.Log10(minMs)), math.Ceil(math.Log10(maxMs))
	if hi <= lo {
		hi = lo + 1
	}
	iw, ih := float64(plotW-padL-padR), float64(plotH-padT-padB)
	xOf := func(p float64) float64 {
		x := maxNines + 0.3 // 100 % (max) drawn a little right of 99.999 %
		if p < 100 {
			x = math.Min(-math.Log10(1-p/100), maxNines)
		}
		return float64(padL) + iw*x/(maxNines+0.3)
	}
	yOf := func(ms float64) float64 {
		v := math.Log10(math.Max(ms, math.Pow(10, lo)))
		return float64(padT) + ih*(1-(v-lo)/(hi-lo))
	}
	fmt.Fprintf(&b, `<svg class="plot" id="latency-percentiles" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="#fff" stroke="#999"/>`, padL, padT, iw, ih)
	labels := []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"}
	for i, l := range labels {
		x := float64(padL) + iw*float64(i)/(maxNines+0.3)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#e5e5e5"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`,
			x, padT, x, float64(padT)+ih, x, float64(padT)+ih+15, l)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">max</text>`, xOf(100), float64(padT)+ih+15)
	for e := lo; e <= hi; e++ {
		y := yOf(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e5e5e5"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`,
			padL, y, float64(padL)+iw, y, padL-5, y+4, html.EscapeString(fmtMs(math.Pow(10, e))))
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">percentile</text>`, float64(padL)+iw/2, plotH-8)
	fmt.Fprintf(&b, `<text x="15" y="%.0f" text-anchor="middle" transform="rotate(-90 15 %.0f)">latency (ms, log)</text>`, float64(padT)+ih/2, float64(padT)+ih/2)
	for i, r := range results {
		col := palette[i%len(palette)]
		var pts []string
		for _, p := range r.Percentiles {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(p.Percentile), yOf(p.Ms)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, col, strings.Join(pts, " "))
		legend(&b, i, col, r.Target)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func legend(b *strings.Builder, i int, col, name string) {
	y := padT + 10 + 18*i
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/><text x="%d" y="%d">%s</text>`,
		plotW-padR+10, y, plotW-padR+30, y, col, plotW-padR+35, y+4, html.EscapeString(name))
}

// throughputSVG draws ok answers per second over the measured window.
func throughputSVG(results []Result) string {
	var b strings.Builder
	maxV, n := 0.0, 0
	for _, r := range results {
		n = max(n, len(r.PerSecond))
		for _, v := range r.PerSecond {
			maxV = math.Max(maxV, float64(v))
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	step := math.Pow(10, math.Floor(math.Log10(maxV)))
	for maxV/step < 4 {
		step /= 2
	}
	top := math.Ceil(maxV/step) * step
	iw, ih := float64(plotW-padL-padR), float64(plotH-padT-padB)
	xOf := func(sec float64) float64 { return float64(padL) + iw*sec/math.Max(float64(n), 1) }
	yOf := func(v float64) float64 { return float64(padT) + ih*(1-v/top) }
	fmt.Fprintf(&b, `<svg class="plot" id="throughput" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`, plotW, plotH, plotW, plotH)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="#fff" stroke="#999"/>`, padL, padT, iw, ih)
	for v := 0.0; v <= top+step/2; v += step {
		y := yOf(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#e5e5e5"/><text x="%d" y="%.1f" text-anchor="end">%.0f</text>`,
			padL, y, float64(padL)+iw, y, padL-5, y+4, v)
	}
	tick := max(1, n/10)
	for s := 0; s <= n; s += tick {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`, xOf(float64(s)), float64(padT)+ih+15, s)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">seconds after warm-up</text>`, float64(padL)+iw/2, plotH-8)
	fmt.Fprintf(&b, `<text x="15" y="%.0f" text-anchor="middle" transform="rotate(-90 15 %.0f)">ok answers/s</text>`, float64(padT)+ih/2, float64(padT)+ih/2)
	for i, r := range results {
		col := palette[i%len(palette)]
		var pts []string
		for s, v := range r.PerSecond {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(float64(s)+0.5), yOf(float64(v))))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, col, strings.Join(pts, " "))
		legend(&b, i, col, r.Target)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// WriteHTML writes a self-contained page: the table, the latency-percentile
// plot and throughput over time, as inline SVG (no scripts, no external
// assets).
func (rep *Report) WriteHTML(w io.Writer) error {
	var ok []Result
	for _, r := range rep.Results {
		if r.Error == "" {
			ok = append(ok, r)
		}
	}
	var text strings.Builder
	if err := rep.WriteText(&text); err != nil {
		return err
	}
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
	fmt.Fprintf(&b, "<title>ledgerbench %s</title>", e(rep.Settings.Scenario))
	b.WriteString(`<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}` +
		`td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}` +
		`pre{background:#f7f7f7;padding:1em;overflow:auto}.r{color:#666;font-size:85%}</style></head><body>`)
	fmt.Fprintf(&b, "<h1>ledgerbench: %s</h1>", e(rep.Settings.Scenario))
	s := rep.Settings
	fmt.Fprintf(&b, "<p>%s, mode %s, %d conns, rate %g/s, %gs measured after %gs warm-up, %d users, seed %d. Host %s, %s/%s, %d CPUs, %s.</p>",
		e(rep.Started.Format(time.RFC3339)), e(s.Mode), s.Conns, s.Rate, s.DurationSec, s.WarmupSec, s.Users, s.Seed,
		e(rep.Host.Hostname), e(rep.Host.OS), e(rep.Host.Arch), rep.Host.CPUs, e(rep.Host.GoVersion))
	c := rep.reference()
	b.WriteString("<table><tr><th>target</th><th>ok/s</th><th>CPU µs/ok</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th><th>events/fsync</th></tr>")
	cell := func(v, base float64, f func(float64) string) string {
		out := e(f(v))
		if base > 0 {
			out += fmt.Sprintf(` <span class="r">(%.2f×)</span>`, v/base)
		}
		return "<td>" + out + "</td>"
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(&b, "<tr><td>%s</td><td colspan=\"9\">failed: %s</td></tr>", e(r.Target), e(r.Error))
			continue
		}
		cr, evf := baseline(c, r), r.eventsPerFsyncText()
		cpu := "<td>n/a</td>"
		if r.ServerCPUPerOK != nil {
			cpu = cell(*r.ServerCPUPerOK, cr.cpuPerOK(), func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) })
		}
		fmt.Fprintf(&b, "<tr><td>%s</td>%s%s%s%s%s%s%s<td>%d</td><td>%s</td></tr>", e(r.Target),
			cell(r.Throughput, cr.Throughput, func(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }), cpu,
			cell(r.Latency.P50, cr.Latency.P50, fmtMs), cell(r.Latency.P90, cr.Latency.P90, fmtMs),
			cell(r.Latency.P99, cr.Latency.P99, fmtMs), cell(r.Latency.P999, cr.Latency.P999, fmtMs),
			cell(r.Latency.Max, cr.Latency.Max, fmtMs), r.Errors(), e(evf))
	}
	b.WriteString("</table>")
	b.WriteString("<h2>Latency by percentile</h2>")
	b.WriteString(percentileSVG(ok))
	b.WriteString("<h2>Throughput over time</h2>")
	b.WriteString(throughputSVG(ok))
	b.WriteString("<h2>Details</h2><pre>")
	b.WriteString(e(text.String()))
	b.WriteString("</pre></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
