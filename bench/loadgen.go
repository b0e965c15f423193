package bench

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// Histogram range: 1 µs to 2 minutes, 3 significant digits.
const (
	histMinUs = 1
	histMaxUs = int64(2 * time.Minute / time.Microsecond)
	histSig   = 3
)

// LoadConfig is how one target is driven.
type LoadConfig struct {
	Scenario string
	Conns    int
	Duration time.Duration // measured part
	Warmup   time.Duration // before it, not recorded
	Rate     float64       // requests/s; 0 = closed loop
	Users    int
	Pool     int // retry-storm reference pool
	Seed     uint64
	RunID    string // in every reference, so each run's references are new
	Timeout  time.Duration
	// Progress, if set, is called about every 200 ms with the elapsed time
	// and the number of answers so far (warm-up included).
	Progress func(elapsed time.Duration, answers int64)
}

// Load is the raw outcome of driving one target.
type Load struct {
	Hist      *hdrhistogram.Histogram // µs, measured window only
	OK        int64                   // 2xx answers in the window
	Requests  int64                   // answers + transport errors recorded (closed loop: incl. those in flight at the end)
	Replays   int64                   // 2xx answers that were idempotent replays
	Unsent    int64                   // open loop: intended in the window but never sent (backlog at the end)
	Status    map[int]int64           // every HTTP status in the window
	ByOp      map[string]int64        // answers per operation
	Transport map[string]int64        // transport errors by kind
	PerSecond []int64                 // 2xx answers per second of the window
	Elapsed   time.Duration           // measured window length
}

type workerStats struct {
	hist      *hdrhistogram.Histogram
	ok        int64
	requests  int64
	replays   int64
	unsent    int64
	status    map[int]int64
	byOp      [numOps]int64
	transport map[string]int64
	perSecond []int64
}

func newWorkerStats(seconds int) *workerStats {
	return &workerStats{
		hist:      hdrhistogram.New(histMinUs, histMaxUs, histSig),
		status:    make(map[int]int64, 4),
		transport: make(map[string]int64),
		perSecond: make([]int64, seconds),
	}
}

// window is the measured interval of a run.
type window struct {
	start, end time.Time // warm-up ends at start
}

func (w window) contains(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// record adds one answer (or transport error). countOK is false for a
// closed-loop request that completed after the window: its latency counts
// (a stall at the end must show), its answer not in the throughput.
func (s *workerStats) record(w window, o op, latency time.Duration, done time.Time, status int, replay bool, err error, countOK bool) {
	s.requests++
	us := latency.Microseconds()
	if us < histMinUs {
		us = histMinUs
	}
	if us > histMaxUs {
		us = histMaxUs
	}
	_ = s.hist.RecordValue(us)
	if err != nil {
		s.transport[transportKind(err)]++
		return
	}
	s.status[status]++
	s.byOp[o]++
	if status/100 == 2 && countOK {
		s.ok++
		if replay {
			s.replays++
		}
		if sec := int(done.Sub(w.start) / time.Second); sec >= 0 && sec < len(s.perSecond) {
			s.perSecond[sec]++
		}
	}
}

// transportKind names a transport error by kind, so a broken server makes
// a few map keys, not one per message.
func transportKind(err error) string {
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, fasthttp.ErrConnectionClosed):
		return "connection_closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection_reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken_pipe"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return "other: " + msg
}

// Drive runs cfg's scenario against ep and returns what it measured. With
// cfg.Rate == 0 it is a closed loop: cfg.Conns workers each send back to
// back on their own connection, and latency is each request's own time
// (requests still in flight at the end are waited for and their latency
// recorded, so a stall at the end is not hidden).
// With cfg.Rate > 0 it is an open loop: request i is due at
// start + i/Rate; cfg.Conns workers take the due times in order and send
// (after sleeping until the due time if early), and latency is measured
// from the due time, so a stalled server is charged for every request that
// queued behind the stall (no coordinated omission). Requests still unsent
// when the run ends are counted as Unsent and recorded with the lower bound
// of their latency (end − due time).
func Drive(ctx context.Context, ep Endpoint, codes []string, cfg LoadConfig) (*Load, error) {
	if cfg.Conns < 1 {
		return nil, errors.New("conns must be ≥ 1")
	}
	if !ValidScenario(cfg.Scenario) {
		return nil, errors.New("unknown scenario " + strconv.Quote(cfg.Scenario))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	client := &fasthttp.HostClient{
		Addr:                          ep.Host,
		MaxConns:                      cfg.Conns,
		ReadTimeout:                   cfg.Timeout,
		WriteTimeout:                  cfg.Timeout,
		MaxIdleConnDuration:           time.Minute,
		NoDefaultUserAgentHeader:      true,
		DisablePathNormalizing:        true,
		DisableHeaderNamesNormalizing: false,
		MaxConnWaitTimeout:            cfg.Timeout,
	}
	defer client.CloseIdleConnections()
	sh := newShared(cfg.Scenario, cfg.Users, cfg.Pool, cfg.RunID, codes, ep)

	seconds := int(math.Ceil(cfg.Duration.Seconds()))
	begin := time.Now()
	w := window{start: begin.Add(cfg.Warmup)}
	w.end = w.start.Add(cfg.Duration)

	var answers atomic.Int64
	var next atomic.Uint64 // open loop: index of the next due request
	interval := 0.0
	if cfg.Rate > 0 {
		interval = float64(time.Second) / cfg.Rate
	}
	stats := make([]*workerStats, cfg.Conns)
	var wg sync.WaitGroup
	for i := range cfg.Conns {
		st := newWorkerStats(seconds)
		stats[i] = st
		g := newGenerator(sh, i, cfg.Seed)
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := &fasthttp.Response{}
			send := func(o op, req *fasthttp.Request) (time.Time, int, bool, error) {
				err := client.DoTimeout(req, resp, cfg.Timeout)
				done := time.Now()
				answers.Add(1)
				status := 0
				if err == nil {
					status = resp.StatusCode()
				}
				replay := g.done(o, status, resp)
				resp.Reset()
				return done, status, replay, err
			}
			for ctx.Err() == nil {
				var due time.Time
				if interval > 0 {
					n := next.Add(1) - 1
					due = begin.Add(time.Duration(float64(n) * interval))
					if !due.Before(w.end) {
						return
					}
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
					} else if !time.Now().Before(w.end) {
						// Backlog at the end: never sent.
						if w.contains(due) {
							st.unsent++
							_ = st.hist.RecordValue(min(max(w.end.Sub(due).Microseconds(), histMinUs), histMaxUs))
						}
						continue
					}
				} else {
					due = time.Now()
					if !due.Before(w.end) {
						return
					}
				}
				req, o := g.next()
				done, status, replay, err := send(o, req)
				if interval > 0 {
					// Open loop: every request due in the window.
					if w.contains(due) {
						st.record(w, o, done.Sub(due), done, status, replay, err, true)
					}
				} else if !done.Before(w.start) {
					// Closed loop: every request sent before the end and
					// answered after the warm-up; throughput counts those
					// answered inside the window.
					st.record(w, o, done.Sub(due), done, status, replay, err, done.Before(w.end))
				}
				if err != nil {
					time.Sleep(10 * time.Millisecond) // a dead server must not spin the CPU
				}
			}
		}()
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if cfg.Progress == nil {
			return
		}
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				cfg.Progress(time.Since(begin), answers.Load())
				return
			case <-t.C:
				cfg.Progress(time.Since(begin), answers.Load())
			}
		}
	}()
	wg.Wait()
	close(stopProgress)
	<-progressDone

	load := &Load{
		Hist:      hdrhistogram.New(histMinUs, histMaxUs, histSig),
		Status:    map[int]int64{},
		ByOp:      map[string]int64{},
		Transport: map[string]int64{},
		PerSecond: make([]int64, seconds),
		Elapsed:   cfg.Duration,
	}
	for _, st := range stats {
		load.Hist.Merge(st.hist)
		load.OK += st.ok
		load.Requests += st.requests
		load.Replays += st.replays
		load.Unsent += st.unsent
		for k, v := range st.status {
			load.Status[k] += v
		}
		for k, v := range st.transport {
			load.Transport[k] += v
		}
		for o, v := range st.byOp {
			if v > 0 {
				load.ByOp[op(o).String()] += v
			}
		}
		for i, v := range st.perSecond {
			load.PerSecond[i] += v
		}
	}
	if err := ctx.Err(); err != nil {
		return load, err
	}
	return load, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[K int | string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
