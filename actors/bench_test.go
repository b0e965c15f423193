package actors

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"ledgerd/engine"
)

// benchSystem starts a System on a temp dir with users pre-credited.
func benchSystem(b *testing.B, users int, noSync bool) *System {
	b.Helper()
	s, err := Start(Config{DataDir: b.TempDir(), NoSync: noSync, SnapshotEvery: 1 << 40,
		Fatal: func(err error) { b.Errorf("fatal: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreatePartner("ptr_bench", "payshards", "bench", 1, NewKey{ID: "key_1", Hash: engine.HashKey([]byte("k"))}); err != nil {
		b.Fatal(err)
	}
	for u := range users {
		op := NewOp()
		op.Kind, op.User, op.Amount, op.Reference = KindCredit, "u"+strconv.Itoa(u), engine.MaxAmount, "seed"+strconv.Itoa(u)
		s.Do(op)
		op.Release()
	}
	b.Cleanup(func() { s.Stop() })
	return s
}

// benchmarkDeducts runs durable deducts with unique references through the
// shard, wallet and committer from many goroutines (no HTTP, no limiter).
func benchmarkDeducts(b *testing.B, users int, noSync bool) { benchmarkCallers(b, users, 64, noSync) }

// benchmarkCallers is benchmarkDeducts with parallelism × GOMAXPROCS callers.
func benchmarkCallers(b *testing.B, users, parallelism int, noSync bool) {
	s := benchSystem(b, users, noSync)
	var seq atomic.Int64
	before := s.Stats()
	b.SetParallelism(parallelism) // 64 × GOMAXPROCS concurrent requests is like a busy server
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			op := NewOp()
			op.Kind, op.Partner, op.Amount = KindDeduct, "ptr_bench", 1
			op.User = "u" + strconv.Itoa(int(n)%users)
			op.Reference = "r" + strconv.FormatInt(n, 10)
			s.Do(op)
			if op.Status != StatusOK {
				b.Errorf("status %d", op.Status)
			}
			op.Release()
		}
	})
	b.StopTimer()
	after := s.Stats()
	batches := after.Batches - before.Batches
	if batches > 0 {
		b.ReportMetric(float64(after.Events-before.Events)/float64(batches), "events/fsync")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deducts/s")
}

func BenchmarkDurableDeduct(b *testing.B) {
	b.Run("users=10000", func(b *testing.B) { benchmarkDeducts(b, 10000, false) })
	b.Run("hot-wallet", func(b *testing.B) { benchmarkDeducts(b, 1, false) })
	// many more requests in flight: fsyncs of ~1,000 events, so what is left is CPU per deduct
	b.Run("users=10000,callers=4096", func(b *testing.B) { benchmarkCallers(b, 10000, 2048, false) })
}

// BenchmarkDeductNoSync measures everything but the fsync: the actors, the
// committer, encoding and the WAL write.
func BenchmarkDeductNoSync(b *testing.B) {
	b.Run("users=10000", func(b *testing.B) { benchmarkDeducts(b, 10000, true) })
}

// BenchmarkFirstTouchRead: balance reads of wallets without a live actor
// (passivated or unknown), one at a time, while 16 goroutines keep batches
// of deducts in flight. ns/op is the read's latency: the new actor's load
// does not wait for batches that do not touch its wallet.
func BenchmarkFirstTouchRead(b *testing.B) {
	s := benchSystem(b, 100, false)
	seq, stop := deductsInBackground(s, 16, "ptr_bench", func(n int64) string { return "u" + strconv.Itoa(int(n%100)) })
	b.Cleanup(stop)
	for seq.Load() < 1000 { // the writers are under way
		runtime.Gosched()
	}
	b.ResetTimer()
	for i := range b.N {
		op := NewOp()
		op.Kind, op.User = KindBalance, "x"+strconv.Itoa(i)
		s.Do(op)
		if op.Status != StatusUnknownUser {
			b.Fatalf("status %d", op.Status)
		}
		op.Release()
	}
}

// deductsInBackground keeps goroutines deducting 1 from user(n) under
// partner with unique references r<n> until stop is called (stop waits for
// them); the counter is how many were sent.
func deductsInBackground(s *System, goroutines int, partner string, user func(n int64) string) (*atomic.Int64, func()) {
	var seq atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				n := seq.Add(1)
				op := NewOp()
				op.Kind, op.Partner, op.User, op.Reference, op.Amount = KindDeduct, partner, user(n), "r"+strconv.FormatInt(n, 10), 1
				s.Do(op)
				op.Release()
			}
		}()
	}
	return &seq, func() { close(done); wg.Wait() }
}

// BenchmarkRedeemNoSync: PayPay.cards redeems of distinct codes from 64 ×
// GOMAXPROCS callers, without fsync: what a code's decide costs besides
// the disk (the registry, the decide, the committer). Codes run out after
// 200,000; redeems after that find them redeemed, which costs the same.
func BenchmarkRedeemNoSync(b *testing.B) {
	s, err := Start(Config{DataDir: b.TempDir(), NoSync: true, SnapshotEvery: 1 << 40, Logger: quietLogger(),
		Fatal: func(err error) { b.Errorf("fatal: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Stop() })
	if _, err := s.CreatePartner("pa", "paypay", "bench", 1, testKey("pa")); err != nil {
		b.Fatal(err)
	}
	const n = 200_000
	codes := make([]string, n)
	for i := range codes {
		codes[i] = "C" + strconv.Itoa(i)
	}
	for i := 0; i < n; i += 10_000 {
		if _, err := s.IssueCodes("pa", codes[i:i+10_000], "gold", "bench", 1<<62); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			op := NewOp()
			op.Kind, op.Partner, op.Card = KindRedeem, "pa", codes[i%n]
			op.RequestID, op.RedemptionID = "req_"+strconv.FormatInt(i, 10), "rdm_"+strconv.FormatInt(i, 10)
			s.Do(op)
			if op.Status != StatusOK && op.Status != StatusAlreadyRedeemed {
				b.Errorf("status %d", op.Status)
			}
			op.Release()
		}
	})
}
