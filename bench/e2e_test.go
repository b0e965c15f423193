package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
)

// The whole run command against the in-process ceiling.
func TestExecuteCeilingEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("1.2 s of load")
	}
	dir := t.TempDir()
	targets, _ := ParseTargets("ceiling")
	var log bytes.Buffer
	rep, err := Execute(context.Background(), RunConfig{Scenario: ScenarioDeduct, Conns: 4, Duration: time.Second, Warmup: 200 * time.Millisecond,
		Users: 100, Targets: targets, OutDir: dir, Seed: 7}, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	r := rep.Results[0]
	if r.Error != "" || r.OK == 0 || r.Errors() != 0 || r.Throughput <= 0 || len(r.PerSecond) != 1 || r.Latency.P99 <= 0 {
		t.Fatalf("result %+v", r)
	}
	var back Report
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(data, &back) != nil || back.Results[0].OK != r.OK {
		t.Fatalf("report.json: %v", err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !strings.Contains(string(page), "<svg") {
		t.Fatalf("report.html: %v", err)
	}
}

// Every scenario against a real in-process ledgerd, seeded the way the
// ledgerd target is: nothing but 2xx answers, refunds and replays happen.
func TestScenariosAgainstLedgerd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts ledgerd")
	}
	for _, sc := range Scenarios {
		t.Run(sc, func(t *testing.T) {
			srv := apitest.Start(t)
			r := &running{spec: TargetSpec{Name: "ledgerd", Kind: KindLedgerd}, baseURL: srv.URL}
			r.setHost(strings.TrimPrefix(srv.URL, "http://"))
			if err := r.seed(context.Background(), srv.AdminToken, TargetOptions{Scenario: sc, Users: 20, Codes: 300}); err != nil {
				t.Fatal(err)
			}
			l, err := Drive(context.Background(), r.ep, r.codes, LoadConfig{Scenario: sc, Conns: 4, Duration: 300 * time.Millisecond,
				Users: 20, Pool: 5, Seed: 3, RunID: "e2e"})
			if err != nil {
				t.Fatal(err)
			}
			res := ResultFrom(r.spec, l)
			if res.OK == 0 || res.Errors() != 0 {
				t.Fatalf("ok %d, status %v, transport %v", res.OK, res.Status, res.Transport)
			}
			switch sc {
			case ScenarioMixed:
				if l.ByOp["refund"] == 0 || l.ByOp["balance"] == 0 {
					t.Fatalf("ops %v", l.ByOp)
				}
			case ScenarioRetryStorm:
				if l.Replays < l.OK-5 {
					t.Fatalf("%d replays of %d", l.Replays, l.OK)
				}
			case ScenarioDeduct, ScenarioHotWallet:
				if l.Replays != 0 {
					t.Fatalf("%d replays of unique references", l.Replays)
				}
			}
		})
	}
}
