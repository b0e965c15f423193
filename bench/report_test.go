package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func fixedReport() *Report {
	mk := func(spec TargetSpec, base int64, ok int64) Result {
		h := hdrhistogram.New(histMinUs, histMaxUs, histSig)
		for i := int64(1); i <= 10000; i++ {
			h.RecordValue(base + i%1000)
		}
		l := &Load{Hist: h, OK: ok, Requests: ok + 3, Status: map[int]int64{200: ok, 503: 3}, ByOp: map[string]int64{"deduct": ok + 3},
			Transport: map[string]int64{"timeout": 0}, PerSecond: []int64{ok / 2, ok / 2}, Elapsed: 2 * time.Second}
		return ResultFrom(spec, l)
	}
	led := mk(TargetSpec{Name: "ledgerd", Kind: KindLedgerd}, 2000, 40000)
	ev, fs, scpu, lcpu := 31.5, 0.25, 24.96, 11.5
	led.EventsPerFsync, led.FsyncMeanMs, led.ServerCPUPerOK, led.LoadgenCPUPerOK = &ev, &fs, &scpu, &lcpu
	return &Report{
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Host:    HostInfo{Hostname: "box", OS: "linux", Arch: "amd64", CPUs: 2, GoVersion: "go1.26"},
		Settings: Settings{Scenario: ScenarioDeduct, Mode: "closed", Conns: 64, DurationSec: 2, WarmupSec: 1, Users: 1000, Seed: 1,
			Targets: []string{"ledgerd", "ceiling", "pg<ref>"}},
		Results: []Result{led, mk(TargetSpec{Name: "ceiling", Kind: KindCeiling}, 200, 200000),
			{Target: "pg<ref>", Kind: KindExt, Error: "connection refused"}},
	}
}

func TestResultFromPercentiles(t *testing.T) {
	r := fixedReport().Results[0]
	if r.Throughput != 20000 || r.Latency.P50 < 2.4 || r.Latency.P50 > 2.6 || r.Latency.Max < 2.99 || r.Latency.Max > 3.01 {
		t.Fatalf("summary %+v throughput %v", r.Latency, r.Throughput)
	}
	pts := r.Percentiles
	if len(pts) < 50 || pts[0].Percentile != 0 || pts[len(pts)-1].Percentile != 100 {
		t.Fatalf("percentile curve %d points: %v ... %v", len(pts), pts[0], pts[len(pts)-1])
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].Percentile < pts[i-1].Percentile || pts[i].Ms < pts[i-1].Ms {
			t.Fatalf("curve not monotone at %d: %v %v", i, pts[i-1], pts[i])
		}
	}
	if r.Errors() != 3 {
		t.Fatalf("errors %d", r.Errors())
	}
}

func TestReportJSONRoundTrip(t *testing.T) {
	rep := fixedReport()
	var buf bytes.Buffer
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Results) != 3 || back.Results[0].Target != "ledgerd" || *back.Results[0].EventsPerFsync != 31.5 ||
		back.Results[1].Status["200"] != 200000 || back.Results[1].EventsPerFsync != nil || back.Results[2].Error == "" {
		t.Fatalf("round trip: %s", buf.String())
	}
	for _, key := range []string{`"throughput"`, `"latencyMs"`, `"p99_9"`, `"perSecond"`, `"eventsPerFsync"`, `"transportErrors"`} {
		if !strings.Contains(buf.String(), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	if err := fixedReport().WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// ledgerd's throughput is 0.20 of the ceiling's, its latency 10× higher-ish.
	for _, want := range []string{"ledgerd", "ceiling", "20000 (0.20×)", "31.5", "503×3", "failed: connection refused", "mean fsync 0.250 ms",
		"server CPU 25.0 µs/ok, load generator CPU 11.5 µs/ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestReportHTML(t *testing.T) {
	var buf bytes.Buffer
	if err := fixedReport().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatal("not an HTML document")
	}
	for _, bad := range []string{"<script", "<link", "src=", "https://", "pg<ref>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q (must be self-contained and escaped)", bad)
		}
	}
	for _, want := range []string{`id="latency-percentiles"`, `id="throughput"`, "99.99%", "ledgerd", "ceiling", "pg&lt;ref&gt;", "(0.20×)"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Each SVG is well-formed XML with one polyline per target that ran.
	svgs := 0
	for rest := page; ; {
		i := strings.Index(rest, "<svg")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "</svg>")
		svg := rest[i : i+j+len("</svg>")]
		rest = rest[i+j:]
		svgs++
		dec := xml.NewDecoder(strings.NewReader(svg))
		lines := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("svg %d not well-formed: %v", svgs, err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
				lines++
			}
		}
		if lines != 2 {
			t.Errorf("svg %d has %d polylines, want 2", svgs, lines)
		}
	}
	if svgs != 2 {
		t.Fatalf("%d SVGs, want 2", svgs)
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(`# HELP ledgerd_wal_batch_events events per WAL append
# TYPE ledgerd_wal_batch_events histogram
ledgerd_wal_batch_events_bucket{le="1"} 3
ledgerd_wal_batch_events_sum 1200
ledgerd_wal_batch_events_count 40
ledgerd_fsync_seconds_sum{disk="a"} 0.01
ledgerd_fsync_seconds_count{disk="a"} 40
ledgerd_fsync_seconds_sum_other 7
`))
	if err != nil || !m.HasBatch || !m.HasFsync || m.BatchEventsSum != 1200 || m.BatchEventsCount != 40 || m.FsyncSum != 0.01 || m.FsyncCount != 40 {
		t.Fatalf("%+v %v", m, err)
	}
}

func TestParseTargets(t *testing.T) {
	ts, err := ParseTargets("ledgerd, ceiling,ext:pg=http://127.0.0.1:9000,pk_test")
	if err != nil || len(ts) != 3 || ts[2] != (TargetSpec{Name: "pg", Kind: KindExt, URL: "http://127.0.0.1:9000", Key: "pk_test"}) {
		t.Fatalf("%+v %v", ts, err)
	}
	for _, bad := range []string{"", "nginx", "ext:pg=http://x:1", "ledgerd,ledgerd", "ext:=http://x:1,k", "ext:pg=ftp://x,k"} {
		if _, err := ParseTargets(bad); err == nil {
			t.Errorf("ParseTargets(%q) accepted", bad)
		}
	}
}
