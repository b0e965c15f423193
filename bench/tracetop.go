package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// TraceSpan is one interval found in an execution trace: a goroutine
// holding a P without a break (a run), a runnable goroutine waiting for a P
// (a wait), or a runtime range such as a GC mark phase.
type TraceSpan struct {
	Took  time.Duration
	At    time.Duration // since the trace's first event
	G     uint64        // goroutine (0 for a range)
	Start string        // the goroutine's start function, when the trace saw it start
	What  string        // the range's name, or the innermost frames where a run stopped
}

// TraceTop is the longest spans of each kind in one trace.
type TraceTop struct {
	Runs, Waits, Ranges []TraceSpan
}

// ReadTraceTop reads a runtime/trace execution trace (ledgerd --trace) and
// returns its n longest runs, waits and ranges. Long runs while requests
// wait are what make a server's latency tail on few cores: a memmove of tens
// of MiB, a GC worker, a goroutine the scheduler did not preempt.
func ReadTraceTop(r io.Reader, n int) (TraceTop, error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return TraceTop{}, fmt.Errorf("bench: trace: %w", err)
	}
	var (
		first           trace.Time
		runnable, began = map[trace.GoID]trace.Time{}, map[trace.GoID]trace.Time{}
		start           = map[trace.GoID]string{}
		ranges          = map[string]trace.Time{}
		top             TraceTop
	)
	span := func(from, to trace.Time, g trace.GoID, what string) TraceSpan {
		return TraceSpan{Took: to.Sub(from), At: from.Sub(first), G: uint64(max(g, 0)), What: what}
	}
	for {
		ev, err := tr.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return TraceTop{}, fmt.Errorf("bench: trace: %w", err)
		}
		if first == 0 {
			first = ev.Time()
		}
		switch ev.Kind() {
		case trace.EventRangeBegin:
			ranges[ev.Range().Name] = ev.Time()
		case trace.EventRangeEnd:
			name := ev.Range().Name
			if t0, ok := ranges[name]; ok {
				top.Ranges = append(top.Ranges, span(t0, ev.Time(), 0, name))
				delete(ranges, name)
			}
		case trace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind != trace.ResourceGoroutine {
				continue
			}
			g := st.Resource.Goroutine()
			from, to := st.Goroutine()
			if _, seen := start[g]; !seen && (from == trace.GoNotExist || from == trace.GoUndetermined) {
				start[g] = frames(st.Stack, 1)
			}
			if from == trace.GoRunning {
				if t0, ok := began[g]; ok {
					top.Runs = append(top.Runs, span(t0, ev.Time(), g, frames(st.Stack, 4)))
				}
			}
			switch to {
			case trace.GoRunnable:
				runnable[g] = ev.Time()
			case trace.GoRunning:
				if t0, ok := runnable[g]; ok && from == trace.GoRunnable {
					top.Waits = append(top.Waits, span(t0, ev.Time(), g, ""))
				}
				began[g] = ev.Time()
			}
		}
	}
	for _, l := range []*[]TraceSpan{&top.Runs, &top.Waits, &top.Ranges} {
		sort.Slice(*l, func(i, j int) bool { return (*l)[i].Took > (*l)[j].Took })
		*l = (*l)[:min(n, len(*l))]
		for i := range *l {
			if g := (*l)[i].G; g != 0 {
				(*l)[i].Start = start[trace.GoID(g)]
			}
		}
	}
	return top, nil
}

// frames names the innermost n frames of s, innermost first, without
// their package paths.
func frames(s trace.Stack, n int) string {
	var out []string
	for f := range s.Frames() {
		fn := f.Func
		if i := strings.LastIndex(fn, "/"); i >= 0 {
			fn = fn[i+1:]
		}
		out = append(out, fn)
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, " < ")
}

// TraceTopCmd is `ledgerbench tracetop FILE`: the longest runs, waits and
// runtime ranges of an execution trace.
func TraceTopCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tracetop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 15, "spans of each kind to print")
	if fs.Parse(args) != nil || fs.NArg() != 1 || *n < 1 {
		fmt.Fprintln(stderr, "usage: ledgerbench tracetop [-n 15] TRACE_FILE  (from ledgerd --trace)")
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench tracetop:", err)
		return 1
	}
	defer f.Close()
	top, err := ReadTraceTop(f, *n)
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench tracetop:", err)
		return 1
	}
	for _, part := range []struct {
		title string
		spans []TraceSpan
	}{{"longest runs (a goroutine holding a P)", top.Runs}, {"longest waits (runnable, no P)", top.Waits}, {"longest runtime ranges", top.Ranges}} {
		fmt.Fprintf(stdout, "== %s\n", part.title)
		for _, s := range part.spans {
			fmt.Fprintf(stdout, "%9.2f ms at %8.3f s  g%-6d %-40s %s\n", float64(s.Took)/1e6, s.At.Seconds(), s.G, s.Start, s.What)
		}
	}
	return 0
}
