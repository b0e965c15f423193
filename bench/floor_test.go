package bench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// Every Append returns only after its bytes are in the file, and
// concurrent appends share syncs.
func TestFloorLogAppendIsDurableAndGrouped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "floor.log")
	l, err := OpenFloorLog(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := "rec-" + strconv.Itoa(i)
			if err := l.Append([]byte(rec)); err != nil {
				errs <- err
				return
			}
			// Written before the answer: a fresh read of the file has it.
			data, err := os.ReadFile(path)
			if err != nil || !bytes.Contains(data, []byte(rec+"\n")) {
				errs <- errors.New(rec + " not in the file when Append returned")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if got := bytes.Count(data, []byte("\n")); got != n {
		t.Fatalf("%d records in the file, want %d", got, n)
	}
	if l.Records != n || l.Syncs < 1 || l.Syncs > n {
		t.Fatalf("records %d syncs %d", l.Records, l.Syncs)
	}
	if err := l.Append([]byte("late")); !errors.Is(err, ErrFloorClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, data) {
		t.Fatal("a refused append changed the file")
	}
}

// The floor answers what the ceiling answers, and only with the body logged.
func TestFloorServerLogsThenAnswers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "floor.log")
	l, err := OpenFloorLog(path)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := NewFloorServer(l)
	go srv.Serve(ln)
	body := `{"userId":"u1","amount":1,"reference":"floor-test-ref"}`
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.SetRequestURI("http://" + ln.Addr().String() + PathDeduct)
	req.Header.SetMethod("POST")
	req.SetBodyString(body)
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || string(resp.Body()) != string(CeilingBody) || string(resp.Header.Server()) != "ledgerd" {
		t.Fatalf("%d %q", resp.StatusCode(), resp.Body())
	}
	if data, _ := os.ReadFile(path); string(data) != body+"\n" {
		t.Fatalf("log %q", data)
	}
	srv.Shutdown()
	l.Close()
}

func TestRunOrderPutsFloorFirstAndLast(t *testing.T) {
	ts, err := ParseTargets("ledgerd,floor,ceiling")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range runOrder(ts) {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "floor,ledgerd,ceiling,"+FloorAfter {
		t.Fatalf("order %s", got)
	}
	only, _ := ParseTargets("floor")
	if got := runOrder(only); len(got) != 1 || got[0].Name != "floor" {
		t.Fatalf("floor alone: %+v", got)
	}
}

// With two floor runs, ratios are to their mean, CPU per ok included.
func TestReportRatiosToFloorMean(t *testing.T) {
	rep := fixedReport()
	cpu1, cpu2 := 20.0, 30.0
	f1 := rep.Results[1]
	f1.Target, f1.Kind, f1.Throughput, f1.ServerCPUPerOK = "floor", KindFloor, 30000, &cpu1
	f2 := f1
	f2.Target, f2.Throughput, f2.ServerCPUPerOK = FloorAfter, 50000, &cpu2
	rep.Results = append([]Result{f1}, append(rep.Results, f2)...)
	var fr *Ratios
	for _, q := range rep.Ratios() {
		if q.Target == "ledgerd" && q.Reference == "floor (mean)" {
			fr = &q
		}
	}
	// ledgerd: 20000 ok/s at 24.96 µs; floor mean 40000 ok/s at 25 µs.
	if fr == nil || fr.Throughput != 0.5 || fr.CPUPerOK < 0.998 || fr.CPUPerOK > 0.999 {
		t.Fatalf("ratios %+v", rep.Ratios())
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"20000 (0.50×)", "ratios in the table are to the floor (mean)",
		"ledgerd / floor (mean): throughput 0.50×, CPU per ok 1.00×", "ledgerd / ceiling: throughput 0.20×"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// The whole run command against the in-process floor and ceiling.
func TestExecuteFloorEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s of load")
	}
	targets, _ := ParseTargets("ceiling,floor")
	var log bytes.Buffer
	rep, err := Execute(context.Background(), RunConfig{Scenario: ScenarioDeduct, Conns: 4, Duration: 700 * time.Millisecond,
		Warmup: 100 * time.Millisecond, Users: 100, Targets: targets, OutDir: t.TempDir(), Seed: 3}, &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	var names []string
	for _, r := range rep.Results {
		if r.Error != "" || r.OK == 0 || r.Errors() != 0 {
			t.Fatalf("result %+v", r)
		}
		names = append(names, r.Target)
	}
	if got := strings.Join(names, ","); got != "floor,ceiling,"+FloorAfter {
		t.Fatalf("ran %s", got)
	}
	if rep.floor() == nil || rep.floor().Throughput <= 0 {
		t.Fatal("no floor mean")
	}
}
