package actors

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

func TestSmokeDeduct(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Config{DataDir: dir, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePartner("ptr_1", "payshards", "Acme", 600, NewKey{ID: "key_1", Hash: engine.HashKey([]byte("k"))})
	if err != nil || p.Status != "active" {
		t.Fatal(p, err)
	}
	do := func(k Kind, partner, user, ref string, amt int64) Op {
		op := NewOp()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = k, partner, user, ref, amt
		s.Do(op)
		r := *op
		op.Release()
		return r
	}
	r := do(KindCredit, "", "u1", "t1", 1500)
	if r.Status != StatusOK || r.Balance != 1500 {
		t.Fatalf("%+v", r)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := do(KindDeduct, "ptr_1", "u1", "same", 250)
			mu.Lock()
			if r.Status == StatusOK && !r.Idempotent {
				ok++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if ok != 1 {
		t.Fatalf("fresh ok = %d", ok)
	}
	r = do(KindBalance, "ptr_1", "u1", "", 0)
	if r.Balance != 1250 {
		t.Fatalf("%+v", r)
	}
	for i := 0; i < 10; i++ {
		do(KindDeduct, "ptr_1", "u1", fmt.Sprint("r", i), 100)
	}
	r = do(KindBalance, "ptr_1", "u1", "", 0)
	if r.Balance != 250 {
		t.Fatalf("%+v", r)
	}
	r = do(KindDeduct, "ptr_1", "nobody", "x", 1)
	if r.Status != StatusUnknownUser {
		t.Fatalf("%+v", r)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s, err = Start(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	r = do(KindDeduct, "ptr_1", "u1", "same", 250)
	if r.Status != StatusOK || !r.Idempotent || r.Balance != 1250 {
		t.Fatalf("%+v", r)
	}
	r = do(KindBalance, "ptr_1", "u1", "", 0)
	if r.Balance != 250 {
		t.Fatalf("%+v", r)
	}
	s.Stop()
}

func TestIdempotencyRetention(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	s, err := Start(Config{DataDir: t.TempDir(), IdemRetention: time.Hour, ExpiryEvery: 5 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	do := func(k Kind, ref string) Op {
		op := NewOp()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = k, "p", "u1", ref, 10
		s.Do(op)
		r := *op
		op.Release()
		return r
	}
	do(KindCredit, "top")
	if r := do(KindDeduct, "R"); r.Status != StatusOK || r.Idempotent || r.Balance != 0 {
		t.Fatalf("first deduct %+v", r)
	}
	do(KindCredit, "top2")
	if r := do(KindDeduct, "R"); !r.Idempotent {
		t.Fatalf("retry inside the window must replay: %+v", r)
	}
	// Move the clock two hours on: the records fall out of the window.
	clock.Add(int64(2 * time.Hour))
	for {
		var n int
		s.ReadState(func(st *engine.State) { n = st.IdemLen() })
		if n == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if r := do(KindDeduct, "R"); r.Status != StatusOK || r.Idempotent {
		t.Fatalf("a reference past retention is new: %+v", r)
	}
}

// TestIdleWalletsPassivate: an idle wallet's actor retires and its state
// lives on in the engine; the next request spawns a new actor that loads
// it, including events the old actor emitted just before retiring.
func TestIdleWalletsPassivate(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s, err := Start(Config{DataDir: t.TempDir(), WalletIdle: time.Minute, SweepEvery: 5 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	do := func(k Kind, user, ref string, amount int64) Op {
		op := NewOp()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = k, "p", user, ref, amount
		s.Do(op)
		r := *op
		op.Release()
		return r
	}
	for i := range 100 {
		do(KindCredit, fmt.Sprint("u", i), fmt.Sprint("c", i), 100)
		do(KindDeduct, fmt.Sprint("u", i), fmt.Sprint("d", i), 10)
	}
	if n := s.wallets.count.Load(); n != 100 {
		t.Fatalf("%d live wallet actors, want 100", n)
	}
	clock.Add(int64(2 * time.Minute))
	for s.wallets.count.Load() != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	for i := range 100 {
		if r := do(KindBalance, fmt.Sprint("u", i), "", 0); r.Status != StatusOK || r.Balance != 90 {
			t.Fatalf("u%d after passivation: %+v", i, r)
		}
		if r := do(KindDeduct, fmt.Sprint("u", i), fmt.Sprint("d", i), 10); !r.Idempotent || r.Balance != 90 {
			t.Fatalf("u%d retry after passivation: %+v", i, r)
		}
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
}

// TestWindowResizeKeepsRequests: raising a key's limit inside a minute
// does not hand it a fresh window; lowering it refuses at once.
func TestWindowResizeKeepsRequests(t *testing.T) {
	var w Window
	t0 := time.Unix(1000, 0)
	for i := range 60 {
		if ok, _ := w.Allow(t0.Add(time.Duration(i)*time.Second/2), 60); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	now := t0.Add(40 * time.Second)
	if ok, _ := w.Allow(now, 61); !ok {
		t.Fatal("the 61st with limit 61 refused")
	}
	if ok, retry := w.Allow(now, 61); ok || retry != 20 {
		t.Fatalf("the 62nd with limit 61: ok=%v retry=%d, want refused, 20 s", ok, retry)
	}
	if ok, _ := w.Allow(now, 10); ok {
		t.Fatal("lowering the limit to 10 with 61 in the window still admits")
	}
}

// TestOverloadRefusesFast: beyond OpsMax Ops in flight, Do answers
// StatusOverloaded at once instead of queueing.
func TestOverloadRefusesFast(t *testing.T) {
	s, err := Start(Config{DataDir: t.TempDir(), OpsMax: 1, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	s.inflight.Add(1) // one Op "in flight"
	op := NewOp()
	op.Kind, op.User = KindBalance, "u"
	s.Do(op)
	if op.Status != StatusOverloaded {
		t.Fatalf("status %d, want overloaded", op.Status)
	}
	op.Release()
	s.inflight.Add(-1)
	op = NewOp()
	op.Kind, op.User = KindBalance, "u"
	s.Do(op)
	if op.Status != StatusUnknownUser {
		t.Fatalf("status %d after the flood, want unknown user", op.Status)
	}
}

// TestRetriesDuringExpiry: shards read the engine's idempotency records
// while the committer adds, expires and compacts them. Under -race this
// checks the sharing; the balances check that every reference was either
// applied once or answered from its record, whatever expiry did meanwhile.
func TestRetriesDuringExpiry(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s, err := Start(Config{DataDir: t.TempDir(), IdemRetention: time.Hour, ExpiryEvery: time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	const users, credit = 4, 1_000_000
	for u := range users {
		op := NewOp()
		op.Kind, op.User, op.Reference, op.Amount = KindCredit, "u"+strconv.Itoa(u), "top"+strconv.Itoa(u), credit
		s.Do(op)
		op.Release()
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() { // ten minutes every two milliseconds: records expire while retries arrive
		defer close(ticked)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				clock.Add(int64(10 * time.Minute))
			}
		}
	}()
	var applied [users]atomic.Int64
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for range 1500 {
				ref := rng.IntN(3000)
				u := ref % users // a reference always names the same user and amount
				op := NewOp()
				op.Kind, op.Partner, op.User, op.Reference, op.Amount = KindDeduct, "p", "u"+strconv.Itoa(u), "r"+strconv.Itoa(ref), 1
				s.Do(op)
				if op.Status != StatusOK {
					t.Errorf("deduct %s: status %d", op.Reference, op.Status)
				} else if !op.Idempotent {
					applied[u].Add(1)
				}
				op.Release()
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-ticked
	s.ReadState(func(st *engine.State) {
		for u := range users {
			w := payshards.Wallets(st)["u"+strconv.Itoa(u)]
			if want := credit - applied[u].Load(); w == nil || w.Balance != want {
				t.Errorf("u%d: balance %+v, want %d (%d deducts applied)", u, w, want, applied[u].Load())
			}
		}
	})
	if err := s.CheckConsistency(); err != nil {
		t.Error(err)
	}
}

// TestSnapshotsWhileEveryEventAddsAReference: with unique references the
// state grows as fast as the log, and snapshots must still be taken, each
// after at least as many events as the previous one held entries (so
// their cost per event stays constant) — not never, and not every
// SnapshotEvery events.
func TestSnapshotsWhileEveryEventAddsAReference(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := Start(Config{DataDir: t.TempDir(), SnapshotEvery: 100, Metrics: reg, Logger: quietLogger(),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	op := NewOp()
	op.Kind, op.User, op.Reference, op.Amount = KindCredit, "u", "top", 1_000_000
	s.Do(op)
	op.Release()
	for i := range 3000 { // one at a time: every batch holds one event
		op := NewOp()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = KindDeduct, "p", "u", "r"+strconv.Itoa(i), 1
		s.Do(op)
		op.Release()
	}
	snapshots := func() uint64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "ledgerd_snapshot_seconds" {
				return mf.GetMetric()[0].GetHistogram().GetSampleCount()
			}
		}
		return 0
	}
	// sizes 0 → ~100 → ~200 → ~400 → ~800 → ~1600: snapshots after about
	// 100, 200, 400, 800 and 1600 events (the fixed rule would take 30)
	for deadline := time.Now().Add(10 * time.Second); snapshots() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the last ones are written in the background
	if taken := snapshots(); taken < 4 || taken > 6 {
		t.Fatalf("%d snapshots over 3,001 events with references, want 4 to 6", taken)
	}
}

// messageCounter is a slog.Handler that counts records by message.
type messageCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *messageCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h *messageCounter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *messageCounter) WithGroup(string) slog.Handler            { return h }

func (h *messageCounter) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = make(map[string]int)
	}
	h.n[r.Message]++
	return nil
}

func (h *messageCounter) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[msg]
}

// TestSnapshotCopyMeetsExpiry: snapshots every 300 events copy their
// idempotency records one per turn of the committer's loop while
// references are made and, every 1,000, all expire at once. Every snapshot
// must be written (a copy an expiry overtook would be abandoned and
// logged), and a restart from the newest gives the live state. (Whether an
// expiry lands inside a copy depends on timing; TestExpiryFinishesCopy
// checks that case deterministically.)
func TestSnapshotCopyMeetsExpiry(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	logs := &messageCounter{}
	dir := t.TempDir()
	s, err := Start(Config{DataDir: dir, SnapshotEvery: 300, SnapshotFixed: true, snapshotCopyStep: 1,
		IdemRetention: time.Hour, ExpiryEvery: time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Logger: slog.New(logs),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	op := NewOp()
	op.Kind, op.User, op.Reference, op.Amount = KindCredit, "u", "top", 1<<40
	s.Do(op)
	op.Release()
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3000 {
				n := seq.Add(1)
				if n%1000 == 0 { // the next expiry forgets every reference made before
					clock.Add(int64(61 * time.Minute))
				}
				op := NewOp()
				op.Kind, op.Partner, op.User, op.Reference, op.Amount = KindDeduct, "p", "u", "r"+strconv.FormatInt(n, 10), 1
				s.Do(op)
				if op.Status != StatusOK {
					t.Errorf("deduct: status %d", op.Status)
				}
				op.Release()
			}
		}()
	}
	wg.Wait()
	img, live := crashImage(t, s, true) // the newest periodic snapshot + the WAL after it
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := logs.count("snapshot abandoned") + logs.count("snapshot failed; the WAL keeps everything"); n > 0 {
		t.Fatalf("%d snapshots not written", n)
	}
	if n := logs.count("snapshot written"); n < 4 {
		t.Fatalf("%d snapshots written over 24,000 deducts every 3,000 events", n)
	}
	s2 := startAt(t, img, 1<<40)
	defer s2.Stop()
	sameState(t, "restart from a snapshot copied in steps", durable(t, s2), live)
}

// TestReadQuietSeesNoWriteInFlight: under load, with expiry events joining
// every batch, the WAL's last index inside readQuiet is always the state's
// (the committer does not dispatch the next batch before it ran; ReadState
// keeps the pipeline's overlap and promises no such thing).
func TestReadQuietSeesNoWriteInFlight(t *testing.T) {
	s, err := Start(Config{DataDir: t.TempDir(), ExpiryEvery: time.Millisecond, Logger: quietLogger(),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	op := NewOp()
	op.Kind, op.User, op.Reference, op.Amount = KindCredit, "u", "top", 1<<40
	s.Do(op)
	op.Release()
	seq, stop := deductsInBackground(s, 8, "p", func(int64) string { return "u" })
	// At least 1000 reads, and on until 100 deducts ran beside them: on a
	// busy machine the readers can finish 1000 before the writers start.
	mismatches, reads := 0, 0
	deadline := time.Now().Add(time.Minute)
	for ; reads < 1000 || seq.Load() < 100; reads++ {
		if time.Now().After(deadline) {
			break
		}
		s.readQuiet(func(st *engine.State) {
			if last := s.wal.LastIndex(); last != st.Index {
				mismatches++
			}
		})
	}
	stop()
	if mismatches > 0 || seq.Load() < 100 {
		t.Fatalf("%d of %d readQuiets saw the WAL ahead of the state (%d deducts ran)", mismatches, reads, seq.Load())
	}
}
