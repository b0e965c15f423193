package checkout_test

import (
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
)

// BenchmarkCreatePayment: payment creates through the actors, with an
// Idempotency-Key each, as the API sends them; NoSync, so it measures the
// CPU of a create, not the disk.
func BenchmarkCreatePayment(b *testing.B) {
	c := newClock()
	sys, err := actors.Start(actors.Config{DataDir: b.TempDir(), NoSync: true, SnapshotEvery: 1 << 40, Now: c.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { b.Errorf("fatal: %v", err) }})
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Stop()
	shop(b, sys, "")
	var n atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := "pay_bench" + strconv.FormatInt(n.Add(1), 10)
			r := ack.CreatePayment(sys, auth, payment(c, id, 500), 200, []byte(`{"id":"`+id+`"}`), ans("k"+id, "f"))
			if r.Status != actors.StatusOK {
				b.Fatalf("create %s: %+v", id, r)
			}
		}
	})
}
