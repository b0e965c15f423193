package bench

import (
	"math"
	"strings"
	"testing"
)

func f64(v float64) *float64 { return &v }

func apiReport(floor1, floor2, ledgerd, ceiling [2]float64) *Report {
	return &Report{Results: []Result{
		{Target: "floor", Kind: KindFloor, Throughput: floor1[0], ServerCPUPerOK: f64(floor1[1])},
		{Target: "ledgerd", Kind: KindLedgerd, Throughput: ledgerd[0], ServerCPUPerOK: f64(ledgerd[1]),
			Latency: Latency{P999: 12, Max: 20}, EventsPerFsync: f64(18)},
		{Target: "ceiling", Kind: KindCeiling, Throughput: ceiling[0], ServerCPUPerOK: f64(ceiling[1])},
		{Target: FloorAfter, Kind: KindFloor, Throughput: floor2[0], ServerCPUPerOK: f64(floor2[1])},
	}}
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestAPIStepsOrder(t *testing.T) {
	steps := APISteps(64, 256)
	if len(steps) != 8 || !steps[0].Deduct || !steps[7].Deduct || steps[1].Conns != 256 || steps[1].Deduct {
		t.Fatalf("steps = %+v", steps)
	}
	seen := map[string]bool{}
	for _, s := range steps {
		seen[s.Scenario] = true
		if !ValidScenario(s.Scenario) {
			t.Errorf("unknown scenario %q", s.Scenario)
		}
	}
	if len(seen) != 6 { // the deduct and one main write per other API
		t.Errorf("scenarios = %v", seen)
	}
	if got := APISteps(64, 0); len(got) != 7 || got[1].Scenario == ScenarioDeduct {
		t.Errorf("without a wide step: %+v", got)
	}
}

func TestSummarizeAPIsRatios(t *testing.T) {
	steps := []APIStep{{ScenarioDeduct, 64, true}, {ScenarioCheckoutCreate, 64, false}, {ScenarioDeduct, 64, true}}
	reps := []*Report{
		apiReport([2]float64{30000, 30}, [2]float64{20000, 20}, [2]float64{25000, 40}, [2]float64{50000, 10}),
		apiReport([2]float64{30000, 30}, [2]float64{30000, 30}, [2]float64{9000, 90}, [2]float64{45000, 9}),
		apiReport([2]float64{20000, 25}, [2]float64{20000, 35}, [2]float64{20000, 60}, [2]float64{40000, 12}),
	}
	rows, err := SummarizeAPIs(steps, reps, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	near(t, "floor ok/s (mean)", r.FloorOK, 25000)
	near(t, "floor CPU (mean)", r.FloorCPU, 25)
	near(t, "ok × floor", r.OKxFloor, 1)
	near(t, "ok × ceiling", r.OKxCeiling, 0.5)
	near(t, "CPU × floor", r.CPUxFloor, 40.0/25)
	near(t, "CPU × ceiling", r.CPUxCeiling, 4)
	// The deduct reference is the mean of the two deduct steps: (40+60)/2.
	near(t, "checkout CPU × deduct", rows[1].CPUxDeduct, 90.0/50)
	near(t, "first deduct × deduct", rows[0].CPUxDeduct, 0.8)
	// Per floor: checkout 90/30 = 3 over the deducts' mean of 40/25 and 60/30.
	near(t, "checkout × deduct per floor", rows[1].CPUxDeductFloor, 3/((1.6+2)/2))
	if rows[1].P999 != 12 || rows[1].Max != 20 || rows[1].PerFsync != 18 || rows[1].Dir != "b" {
		t.Errorf("row = %+v", rows[1])
	}
	var b strings.Builder
	WriteAPIsTable(&b, rows)
	if !strings.Contains(b.String(), "| 2 | checkout-create | 64 | 9000 | 0.30 | 0.20 | 90.0 | 3.00 | 10.00 | 1.80 | 1.67 |") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestSummarizeAPIsMissing(t *testing.T) {
	steps := []APIStep{{ScenarioDeduct, 64, true}, {ScenarioPaySmartPay, 64, false}}
	failed := &Report{Results: []Result{{Target: "ledgerd", Kind: KindLedgerd, Error: "did not start"}}}
	rows, err := SummarizeAPIs(steps, []*Report{failed, nil}, []string{"a", "b"})
	if err == nil {
		t.Fatal("no deduct CPU figure: want an error")
	}
	for _, r := range rows {
		if r.OKxFloor != 0 || r.CPUxDeduct != 0 || r.CPU != 0 {
			t.Errorf("a missing figure gave a ratio: %+v", r)
		}
	}
	var b strings.Builder
	WriteAPIsTable(&b, rows)
	if !strings.Contains(b.String(), "| 1 | payshards-deduct | 64 | 0 | – | – |") {
		t.Errorf("table:\n%s", b.String())
	}
	if _, err := SummarizeAPIs(steps, []*Report{failed}, []string{"a"}); err == nil {
		t.Error("mismatched lengths: want an error")
	}
}
