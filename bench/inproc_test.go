package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/actors/outbox"
	"ledgerd/api"
	"ledgerd/api/httpx"
)

// BenchmarkAPIsInProcess runs each scenario's requests through ledgerd's
// whole handler (routing, auth, rate limit, JSON, idempotency, actors,
// committer, WAL write) on the benchmark's goroutines, without sockets and
// without fsync. cpu-µs/op is the process's user + system time over the
// timed part (getrusage) per answer: the ledger's own work per answer,
// background GC and snapshots included, without the socket calls every
// server makes; 64 callers do not always keep both cores busy, so ns/op
// is not that. Steady enough to compare changes a loopback run's ±10 %
// hides. The System is seeded over a real
// listener by the same code as `ledgerbench run`; the collector's target
// is ledgerd's (--gc-percent 400).
//
//	go test -run XXX -bench BenchmarkAPIsInProcess -benchtime 200000x ./bench/
func BenchmarkAPIsInProcess(b *testing.B) {
	for _, sc := range []string{ScenarioDeduct, ScenarioPayPayRedem, ScenarioPayChatWithdraw, ScenarioPayChatPayment, ScenarioCheckoutCreate, ScenarioPaySmartPay} {
		b.Run(sc, func(b *testing.B) { benchInProcess(b, sc) })
	}
}

func benchInProcess(b *testing.B, scenario string) {
	defer debug.SetGCPercent(debug.SetGCPercent(400)) // ledgerd's --gc-percent default
	dir := b.TempDir()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys, err := actors.Start(actors.Config{DataDir: dir, NoSync: true, Logger: logger, Fatal: func(err error) { b.Errorf("fatal: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Stop()
	key, err := outbox.LoadMasterKey(dir)
	if err != nil {
		b.Fatal(err)
	}
	const token = "adm_inprocess_bench"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	h := api.NewHandler(sys, api.Config{AdminToken: token, PublicURL: "http://" + ln.Addr().String(), WebhookKey: key, WebhooksInsecure: true})
	srv := &fasthttp.Server{Handler: h, Logger: httpx.SlogLogger{Logger: logger}}
	go srv.Serve(ln)
	defer srv.Shutdown()
	r := &running{}
	r.setHost(ln.Addr().String())
	codes := 0
	if usesPayPay(scenario) {
		codes = max(b.N+1000, 10_000) // every redeem a new code
	}
	if err := r.seed(context.Background(), token, TargetOptions{Scenario: scenario, Users: 1000, Codes: codes}); err != nil {
		b.Fatal(err)
	}
	sh := newShared(scenario, 1000, 1000, "inproc"+strconv.Itoa(b.N), r.codes, r.ep)
	var workers atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(32) // 64 callers on two cores, as the loopback runs' 64 connections
	before := processCPU(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := newGenerator(sh, int(workers.Add(1)), 1)
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			req, o := g.next()
			ctx.Init(req, nil, nil)
			h(&ctx)
			status := ctx.Response.StatusCode()
			if status/100 != 2 {
				failed.Add(1)
			}
			g.done(o, status, &ctx.Response)
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-before)/float64(b.N)/1e3, "cpu-µs/op")
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d answers were not 2xx", n, b.N)
	}
}

// processCPU is the process's user + system time so far, in ns.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
