package bench

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"
)

// The stalls probe asks whether the machine itself pauses: one spinning
// goroutine per CPU, each locked to its thread, notes every gap of more
// than --gap between two of its clock reads, while (with --fsync) another
// goroutine writes and fsyncs a small record in a loop, as a durable
// server would. A gap is time the thread did not run: the kernel gave its
// CPU to someone else, or the hypervisor stopped the virtual CPU. Nothing
// in the probe waits or allocates in the loop, so the gaps are the
// machine's. On the project's VM (2026-12-04, 4-s probes) the two
// spinners alone lost 0.1 % of their time (two gaps, at most 5.9 ms); with
// the fsync loop beside them (~12,000 syncs) 13.5 %, in gaps of 13 ms
// (p50) to 17 ms, 63 % of them ending at the same point of a 100-ms period;
// one spinner and the loop, 14 %, 79 % at the same point. The host stops
// the whole VM for ~14 ms of every 100 ms while it syncs: a throttle, its
// period 100 ms, that the I/O sets off. Every durable server on such a
// machine, the durable floor included, has that much added to whatever
// it is doing then.

// Gap is one pause of a spinner: when it ended and how long it was.
type Gap struct {
	End time.Time
	Len time.Duration
}

// StallReport summarizes the gaps of a probe.
type StallReport struct {
	Spinners   int
	Duration   time.Duration
	Gaps       int
	Stalled    time.Duration // the gaps' total, over all spinners
	Longest    time.Duration
	P50, P99   time.Duration // of the gaps' lengths
	Syncs      int
	SyncMean   time.Duration
	PhaseMode  int     // the commonest end of a gap within 100 ms, in ms (-1: no gaps)
	PhaseShare float64 // the share of gaps ending within ±5 ms of PhaseMode
}

// SummarizeGaps reports gaps of spinners spinners over d.
func SummarizeGaps(gaps []Gap, spinners int, d time.Duration) StallReport {
	r := StallReport{Spinners: spinners, Duration: d, Gaps: len(gaps), PhaseMode: -1}
	if len(gaps) == 0 {
		return r
	}
	lens := make([]time.Duration, len(gaps))
	var phase [100]int
	for i, g := range gaps {
		lens[i] = g.Len
		r.Stalled += g.Len
		phase[g.End.UnixMilli()%100]++
	}
	slices.Sort(lens)
	r.Longest, r.P50, r.P99 = lens[len(lens)-1], lens[len(lens)/2], lens[min(len(lens)-1, len(lens)*99/100)]
	best := 0
	for p := range phase {
		n := 0
		for d := -5; d <= 5; d++ {
			n += phase[(p+d+100)%100]
		}
		if n > best {
			best, r.PhaseMode = n, p
		}
	}
	r.PhaseShare = float64(best) / float64(len(gaps))
	return r
}

// ProbeStalls spins spinners threads for d, with an fsync loop on a file
// in dir unless dir is "", and returns every gap longer than min.
func ProbeStalls(spinners int, d, minGap time.Duration, dir string) ([]Gap, int, time.Duration, error) {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		gaps  []Gap
		syncs int
		spent time.Duration
		err   error
	)
	// A P for every spinner and one for the fsync loop: the Go scheduler
	// never takes a spinner's P to run the loop, so a gap is the OS's or
	// the hypervisor's doing.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(spinners + 1))
	stop := time.Now().Add(d)
	if dir != "" {
		f, ferr := os.CreateTemp(dir, "stalls-*.log")
		if ferr != nil {
			return nil, 0, 0, fmt.Errorf("bench: stalls: %w", ferr)
		}
		defer os.Remove(f.Name())
		defer f.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := make([]byte, 1000)
			for time.Now().Before(stop) {
				t := time.Now()
				if _, werr := f.Write(rec); werr != nil {
					err = fmt.Errorf("bench: stalls: %w", werr)
					return
				}
				if serr := f.Sync(); serr != nil {
					err = fmt.Errorf("bench: stalls: %w", serr)
					return
				}
				spent += time.Since(t)
				syncs++
			}
		}()
	}
	for range spinners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			var mine []Gap
			last := time.Now()
			for last.Before(stop) {
				now := time.Now()
				if g := now.Sub(last); g > minGap {
					mine = append(mine, Gap{End: now, Len: g})
				}
				last = now
			}
			mu.Lock()
			gaps = append(gaps, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	var mean time.Duration
	if syncs > 0 {
		mean = spent / time.Duration(syncs)
	}
	return gaps, syncs, mean, err
}

// StallsCmd is `ledgerbench stalls [--duration 5s] [--gap 2ms] [--fsync=true] [--dir DIR]`.
func StallsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerbench stalls", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := fs.Duration("duration", 5*time.Second, "how long to probe")
	minGap := fs.Duration("gap", 2*time.Millisecond, "the shortest pause counted")
	withSync := fs.Bool("fsync", true, "run an fsync loop beside the spinners")
	dir := fs.String("dir", os.TempDir(), "where the fsync loop's file goes (ledgerbench puts ledgerd's data dir in the temp dir)")
	spinners := fs.Int("spinners", runtime.NumCPU(), "spinning threads")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	syncDir := *dir
	if !*withSync {
		syncDir = ""
	}
	gaps, syncs, mean, err := ProbeStalls(*spinners, *d, *minGap, syncDir)
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench stalls:", err)
		return 1
	}
	r := SummarizeGaps(gaps, *spinners, *d)
	r.Syncs, r.SyncMean = syncs, mean
	fmt.Fprintf(stdout, "%d spinners, %v: %d gaps > %v, %v stalled in all (%.1f%% of their time), longest %v, p50 %v, p99 %v\n",
		r.Spinners, r.Duration, r.Gaps, *minGap, r.Stalled.Round(time.Millisecond),
		100*r.Stalled.Seconds()/(float64(r.Spinners)*r.Duration.Seconds()), r.Longest.Round(100*time.Microsecond),
		r.P50.Round(100*time.Microsecond), r.P99.Round(100*time.Microsecond))
	if *withSync {
		fmt.Fprintf(stdout, "fsync loop: %d syncs, mean %v\n", r.Syncs, r.SyncMean.Round(time.Microsecond))
	}
	if r.PhaseMode >= 0 {
		fmt.Fprintf(stdout, "%.0f%% of the gaps end within ±5 ms of the same point of a 100-ms period (x.%03d s): a periodic throttle if that is most of them\n",
			100*r.PhaseShare, r.PhaseMode)
	}
	return 0
}
