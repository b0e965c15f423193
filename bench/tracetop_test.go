package bench

import (
	"bytes"
	"runtime/debug"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

// traceSpin computes for d without blocking, then reports on done.
//
//go:noinline
func traceSpin(d time.Duration, done chan<- int) {
	n := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		n++
	}
	done <- n
}

// TestReadTraceTop: a goroutine that computes for 40 ms without blocking
// is the trace's longest run, named by where it started and stopped.
func TestReadTraceTop(t *testing.T) {
	// No GC while it spins: a collection preempts every goroutine to scan
	// its stack, which would cut the run in two.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing unavailable: %v", err)
	}
	done := make(chan int)
	go traceSpin(40*time.Millisecond, done)
	<-done
	time.Sleep(time.Millisecond)
	trace.Stop()

	data := buf.Bytes()
	top, err := ReadTraceTop(bytes.NewReader(data), 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The scheduler preempts the spin every 10 ms or so when another
	// goroutine (the tracer's) wants a P: its runs add up to the 40 ms,
	// and the longest of all runs is one of them.
	var spun time.Duration
	for _, r := range top.Runs {
		if strings.Contains(r.Start, "bench.traceSpin") {
			spun += r.Took
		}
	}
	if len(top.Runs) == 0 || !strings.Contains(top.Runs[0].Start, "bench.traceSpin") || spun < 35*time.Millisecond {
		t.Fatalf("the spin ran %v in all; longest runs %+v", spun, top.Runs[:min(3, len(top.Runs))])
	}
	if len(top.Waits) == 0 && len(top.Ranges) == 0 {
		t.Fatal("no waits and no ranges in a trace with a spinning goroutine and a sleeping one")
	}
	three, err := ReadTraceTop(bytes.NewReader(data), 3)
	if err != nil || len(three.Runs) != 3 || three.Runs[0] != top.Runs[0] || len(three.Waits) > 3 || len(three.Ranges) > 3 {
		t.Fatalf("top 3: %v, %d runs (first %+v, want %+v)", err, len(three.Runs), three.Runs, top.Runs[0])
	}
	if _, err := ReadTraceTop(strings.NewReader("not a trace"), 3); err == nil {
		t.Fatal("garbage read as a trace")
	}
}
