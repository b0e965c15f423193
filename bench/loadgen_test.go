package bench

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// stallServer answers at once, except request number stallAt, which it
// holds for stall.
func stallServer(t *testing.T, stallAt int64, stall time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if n.Add(1) == stallAt {
			time.Sleep(stall)
		}
		ctx.SetContentType("application/json")
		ctx.SetBody(CeilingBody)
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

func ms(us int64) float64 { return float64(us) / 1000 }

// A server that stalls once for 200 ms: the open loop must charge the stall
// to every request that was due during it (p90 high), the closed loop only
// to the one request that hit it (coordinated omission).
func TestOpenLoopChargesStallToQueuedRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("1.4 s of load")
	}
	const stall = 200 * time.Millisecond
	cfg := LoadConfig{Scenario: ScenarioDeduct, Conns: 1, Duration: 700 * time.Millisecond, Rate: 300, Users: 10, Seed: 1, RunID: "t"}
	open, err := Drive(context.Background(), Endpoint{Host: stallServer(t, 30, stall)}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := open.Hist
	t.Logf("open loop: %d requests, p50 %.2f p90 %.2f p99 %.2f max %.2f ms, unsent %d", h.TotalCount(),
		ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.Max()), open.Unsent)
	// Every request due in the window is accounted for, sent or not: on a
	// machine too busy to send them all, the unsent ones are charged from
	// their due time too (so the figures below hold either way).
	if open.OK < 1 || open.Requests+open.Unsent < 190 {
		t.Fatalf("open loop sent %d (+%d unsent), want ~210 due at 300/s in 0.7 s", open.Requests, open.Unsent)
	}
	// About 60 of ~210 requests were due during the stall, with waits
	// spread from 200 ms down to 0: the top 10 % all waited > 80 ms.
	if p90 := ms(h.ValueAtQuantile(90)); p90 < 80 {
		t.Fatalf("open-loop p90 = %.1f ms: queued requests not charged for the stall", p90)
	}
	if mx := ms(h.Max()); mx < 190 {
		t.Fatalf("open-loop max %.1f ms < the 200 ms stall", mx)
	}

	cfg.Rate = 0
	closed, err := Drive(context.Background(), Endpoint{Host: stallServer(t, 30, stall)}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h = closed.Hist
	t.Logf("closed loop: %d requests, p90 %.2f ms, max %.2f ms", h.TotalCount(), ms(h.ValueAtQuantile(90)), ms(h.Max()))
	if ms(h.Max()) < 190 {
		t.Fatalf("closed-loop max %.1f ms: the stalled request itself was not recorded", ms(h.Max()))
	}
	if p90 := ms(h.ValueAtQuantile(90)); p90 > 50 {
		t.Fatalf("closed-loop p90 %.1f ms: expected only one slow request", p90)
	}
}

func TestWarmupExcluded(t *testing.T) {
	if testing.Short() {
		t.Skip("2.3 s of load")
	}
	// The stall falls inside the warm-up: the measured window must not see
	// it. It is long (900 ms) so that no ordinary request on a loaded
	// machine comes near it, and it is the very first request, answered
	// 1.1 s before the window opens, so that a machine slow to send it
	// does not push its answer into the window: the verdict does not
	// depend on scheduling.
	const stall = 900 * time.Millisecond
	cfg := LoadConfig{Scenario: ScenarioDeduct, Conns: 2, Warmup: 2 * time.Second, Duration: 300 * time.Millisecond, Users: 10, RunID: "t"}
	l, err := Drive(context.Background(), Endpoint{Host: stallServer(t, 1, stall)}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.OK == 0 || ms(l.Hist.Max()) >= float64(stall/time.Millisecond) {
		t.Fatalf("ok %d, max %.1f ms: warm-up leaked into the results", l.OK, ms(l.Hist.Max()))
	}
	if len(l.PerSecond) != 1 || l.PerSecond[0] != l.OK {
		t.Fatalf("per second %v, ok %d", l.PerSecond, l.OK)
	}
}

func TestTransportErrorsCounted(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	cfg := LoadConfig{Scenario: ScenarioDeduct, Conns: 2, Duration: 100 * time.Millisecond, Users: 1, RunID: "t"}
	l, err := Drive(context.Background(), Endpoint{Host: addr}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if l.OK != 0 || l.Transport["connection_refused"] == 0 {
		t.Fatalf("ok %d, transport %v", l.OK, l.Transport)
	}
}
