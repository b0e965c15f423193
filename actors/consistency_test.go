package actors

import (
	"bytes"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// Consistency tests: concurrent traffic through the actors, then (when
// quiet) working state == durable state, a model of the traffic == durable
// state, and every way of rebuilding the state from disk (restart after
// Stop, crash image = snapshot + WAL suffix, full WAL replay) gives the
// same bytes.

func testSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("LEDGERD_TEST_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	return uint64(time.Now().UnixNano())
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func startAt(t *testing.T, dir string, every uint64) *System {
	t.Helper()
	s, err := Start(Config{DataDir: dir, SnapshotEvery: every, SnapshotFixed: true, Logger: quietLogger(), WALSegmentSize: 8 << 10})
	if err != nil {
		t.Fatalf("start on %s: %v", dir, err)
	}
	return s
}

// result is a copy of an Op after Do returned.
type result struct {
	Kind      Kind
	Partner   string
	User      string
	Reference string
	Amount    int64
	Status    Status
	Balance   int64
	Idem      bool
}

func do(s *System, k Kind, partner, user, ref string, amount int64) result {
	op := NewOp()
	op.Kind, op.Partner, op.User, op.Reference, op.Amount = k, partner, user, ref, amount
	s.Do(op)
	r := result{k, partner, user, ref, amount, op.Status, op.Balance, op.Idempotent}
	op.Release()
	return r
}

// model is what the traffic should have left in the durable state.
type model struct {
	mu         sync.Mutex
	balance    map[string]int64
	exists     map[string]bool
	refundable map[[2]string]int64 // user, partner
	records    int                 // idempotency records expected
}

func newModel() *model {
	return &model{balance: map[string]int64{}, exists: map[string]bool{}, refundable: map[[2]string]int64{}}
}

// add accounts for a first (non-replayed) result.
func (m *model) add(r result) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.Status {
	case StatusOverloaded, StatusBalanceLimit, StatusConflict, StatusRateLimited:
		return // no event
	}
	m.records++
	if r.Status != StatusOK {
		return // a rejection: recorded, no balance change
	}
	switch r.Kind {
	case KindCredit:
		m.balance[r.User] += r.Amount
		m.exists[r.User] = true
	case KindDeduct:
		m.balance[r.User] -= r.Amount
		m.refundable[[2]string{r.User, r.Partner}] += r.Amount
	case KindRefund:
		m.balance[r.User] += r.Amount
		m.refundable[[2]string{r.User, r.Partner}] -= r.Amount
	}
}

// check compares the model with a durable state.
func (m *model) check(t *testing.T, st *engine.State) {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(payshards.Wallets(st)) != len(m.exists) {
		t.Errorf("durable state has %d wallets, model %d", len(payshards.Wallets(st)), len(m.exists))
	}
	for u := range m.exists {
		w := payshards.Wallets(st)[u]
		if w == nil {
			t.Errorf("wallet %s missing", u)
			continue
		}
		if w.Balance != m.balance[u] {
			t.Errorf("wallet %s: durable balance %d, model %d", u, w.Balance, m.balance[u])
		}
		for _, r := range w.Refundable {
			if want := m.refundable[[2]string{u, r.Partner}]; r.Amount != want {
				t.Errorf("wallet %s partner %s: refundable %d, model %d", u, r.Partner, r.Amount, want)
			}
		}
	}
	for k, v := range m.refundable {
		if w := payshards.Wallets(st)[k[0]]; v != 0 && (w == nil || w.RefundableFor(k[1]) != v) {
			t.Errorf("wallet %s partner %s: model refundable %d not in durable state", k[0], k[1], v)
		}
	}
	if st.IdemLen() != m.records {
		t.Errorf("durable state has %d idempotency records, model %d", st.IdemLen(), m.records)
	}
}

type loadConfig struct {
	seed       uint64
	phase      string // reference prefix, unique per load on a ledger
	partners   int
	users      int
	goroutines int
	ops        int // per goroutine
}

func partnerID(i int) string { return "ptr_" + strconv.Itoa(i) }
func userID(i int) string    { return "u" + strconv.Itoa(i) }

// seedLedger creates the partners and credits the users (a fifth of them
// with a small balance, so that deducts get refused too).
func seedLedger(t *testing.T, s *System, m *model, c loadConfig) {
	t.Helper()
	for p := range c.partners {
		if _, err := s.CreatePartner(partnerID(p), "payshards", "P"+strconv.Itoa(p), 600, NewKey{ID: "key_1", Hash: engine.HashKey([]byte("key-" + strconv.Itoa(p)))}); err != nil {
			t.Fatal(err)
		}
	}
	for u := range c.users {
		amount := int64(1_000_000)
		if u%5 == 0 {
			amount = 60
		}
		r := do(s, KindCredit, "", userID(u), "seed-"+userID(u), amount)
		if r.Status != StatusOK || r.Balance != amount {
			t.Fatalf("seed credit %s: %+v", userID(u), r)
		}
		m.add(r)
	}
}

// runLoad sends a random mix of deducts, refunds, credits, balance reads,
// retries and conflicting reuses from many goroutines. It checks each retry
// against the first result of its reference and feeds first results to m.
func runLoad(t *testing.T, s *System, m *model, c loadConfig) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range c.goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(c.seed, uint64(g)))
			var mine []result
			report := func(format string, a ...any) {
				select {
				case errs <- fmt.Sprintf(format, a...):
				default:
				}
			}
			for n := range c.ops {
				ref := fmt.Sprintf("%s-g%d-%d", c.phase, g, n)
				partner := partnerID(rng.IntN(c.partners))
				user := userID(rng.IntN(c.users))
				var r result
				switch x := rng.IntN(100); {
				case x < 40:
					r = do(s, KindDeduct, partner, user, ref, 1+rng.Int64N(50))
				case x < 43: // a user nobody credited (yet)
					r = do(s, KindDeduct, partner, "ghost"+strconv.Itoa(rng.IntN(5)), ref, 1+rng.Int64N(5))
				case x < 58:
					r = do(s, KindRefund, partner, user, ref, 1+rng.Int64N(30))
				case x < 66:
					r = do(s, KindCredit, "", user, ref, 1+rng.Int64N(100))
				case x < 67: // credits create ghosts now and then
					r = do(s, KindCredit, "", "ghost"+strconv.Itoa(rng.IntN(5)), ref, 1+rng.Int64N(100))
				case x < 85:
					b := do(s, KindBalance, partner, user, "", 0)
					if b.Status != StatusOK {
						report("balance %s: %+v", user, b)
					}
					continue
				case x < 97: // retry an earlier reference with the same parameters
					if len(mine) == 0 {
						continue
					}
					o := mine[rng.IntN(len(mine))]
					got := do(s, o.Kind, o.Partner, o.User, o.Reference, o.Amount)
					if got.Status != o.Status || got.Balance != o.Balance || got.Idem != (o.Status == StatusOK) {
						report("retry of %s %+v: got %+v", o.Reference, o, got)
					}
					continue
				default: // reuse an earlier reference with another amount
					if len(mine) == 0 {
						continue
					}
					o := mine[rng.IntN(len(mine))]
					got := do(s, o.Kind, o.Partner, o.User, o.Reference, o.Amount+1)
					if got.Status != StatusConflict {
						report("reuse of %s with another amount: got %+v, want conflict", o.Reference, got)
					}
					continue
				}
				if r.Idem {
					report("fresh reference %s answered as a replay: %+v", ref, r)
				}
				m.add(r)
				switch r.Status {
				case StatusOK, StatusInsufficient, StatusUnknownUser, StatusRefundExceeds:
					mine = append(mine, r)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// durable returns the snapshot encoding of s's durable state.
func durable(t *testing.T, s *System) []byte {
	t.Helper()
	var b []byte
	var err error
	s.ReadState(func(st *engine.State) { b, err = st.EncodeSnapshot() })
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) *engine.State {
	t.Helper()
	st, err := engine.DecodeSnapshot(b)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// crashImage copies s's data directory while the committer is parked (no
// WAL append or truncation can run), as a kill -9 would leave it, and
// returns the copy with the durable state at that moment. A snapshot being
// written in the background is either complete (renamed) or a temp file
// that recovery ignores. withSnapshots=false leaves the snapshots out.
func crashImage(t *testing.T, s *System, withSnapshots bool) (string, []byte) {
	t.Helper()
	dst := t.TempDir()
	var state []byte
	var err error
	s.readQuiet(func(st *engine.State) { // the WAL copied is the state's
		if state, err = st.EncodeSnapshot(); err != nil {
			return
		}
		err = copyTree(filepath.Join(s.cfg.DataDir, "wal"), filepath.Join(dst, "wal"))
		if err == nil && withSnapshots {
			err = copyTree(filepath.Join(s.cfg.DataDir, "snapshots"), filepath.Join(dst, "snapshots"))
		}
	})
	if err != nil {
		t.Fatalf("crash image: %v", err)
	}
	return dst, state
}

func copyTree(src, dst string) error {
	ents, err := os.ReadDir(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o750); err != nil {
		return err
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if os.IsNotExist(err) {
			continue // a snapshot pruned meanwhile
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o640); err != nil {
			return err
		}
	}
	return nil
}

// newestSnapshotIndex returns the index of the newest snapshot in dir, or 0.
func newestSnapshotIndex(t *testing.T, dir string) uint64 {
	t.Helper()
	infos, err := wal.NewestSnapshots(filepath.Join(dir, "snapshots"))
	if err != nil || len(infos) == 0 {
		return 0
	}
	return infos[0].Index
}

func sameState(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	g, w := decode(t, got), decode(t, want)
	t.Errorf("%s: state differs: index %d/%d events %d/%d wallets %d/%d idem %d/%d partners %d/%d",
		what, g.Index, w.Index, g.Events, w.Events, len(payshards.Wallets(g)), len(payshards.Wallets(w)), g.IdemLen(), w.IdemLen(), len(g.Partners), len(w.Partners))
	n := 0
	for u, ww := range payshards.Wallets(w) {
		if gw := payshards.Wallets(g)[u]; gw == nil || !gw.Equal(ww) {
			if n++; n <= 10 {
				t.Errorf("%s: wallet %s: got %+v want %+v", what, u, gw, ww)
			}
		}
	}
	for k, wr := range w.IdemRecords() {
		if gr, ok := g.Record(k); !ok || gr != wr {
			if n++; n <= 20 {
				t.Errorf("%s: idem %+v: got %+v (%v) want %+v", what, k, gr, ok, wr)
			}
		}
	}
}

// touchAll spawns a wallet actor for every user so that CheckConsistency
// compares all of them.
func touchAll(s *System, c loadConfig) {
	for u := range c.users {
		do(s, KindBalance, partnerID(0), userID(u), "", 0)
	}
	for g := range 5 {
		do(s, KindBalance, partnerID(0), "ghost"+strconv.Itoa(g), "", 0)
	}
}

func TestConsistencyUnderLoadWithSnapshots(t *testing.T) {
	seed := testSeed(t)
	t.Logf("seed %d (LEDGERD_TEST_SEED)", seed)
	c := loadConfig{seed: seed, phase: "a", partners: 4, users: 40, goroutines: 32, ops: 400}
	if testing.Short() {
		c.ops = 150
	}
	dir := t.TempDir()
	s := startAt(t, dir, 50)
	m := newModel()
	seedLedger(t, s, m, c)
	start := time.Now()
	runLoad(t, s, m, c)
	t.Logf("load: %d goroutines x %d ops in %v, %+v", c.goroutines, c.ops, time.Since(start).Round(time.Millisecond), s.Stats())

	touchAll(s, c)
	if err := s.CheckConsistency(); err != nil {
		t.Errorf("working state != durable state after load: %v", err)
	}
	s.ReadState(func(st *engine.State) { m.check(t, st) })

	// A crash image: newest snapshot + WAL suffix.
	img, imgState := crashImage(t, s, true)
	before := durable(t, s)
	sameState(t, "crash image taken while quiet", imgState, before)

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	infos, err := wal.NewestSnapshots(filepath.Join(dir, "snapshots"))
	if err != nil || len(infos) < 2 {
		t.Fatalf("snapshots after Stop: %v %v (want at least 2)", infos, err)
	}

	// Restart after a clean stop.
	s2 := startAt(t, dir, 50)
	if s2.wal.FirstIndex() <= 1 {
		t.Errorf("WAL was never truncated (first index %d) although snapshots every 50 events", s2.wal.FirstIndex())
	}
	sameState(t, "restart after Stop", durable(t, s2), before)
	touchAll(s2, c)
	if err := s2.CheckConsistency(); err != nil {
		t.Errorf("after restart: %v", err)
	}
	// More traffic on the recovered ledger, then the same checks.
	c2 := c
	c2.phase, c2.seed, c2.ops = "b", seed+1, c.ops/2
	runLoad(t, s2, m, c2)
	touchAll(s2, c)
	if err := s2.CheckConsistency(); err != nil {
		t.Errorf("after restart and more load: %v", err)
	}
	s2.ReadState(func(st *engine.State) { m.check(t, st) })
	after := durable(t, s2)
	if err := s2.Stop(); err != nil {
		t.Fatal(err)
	}
	s3 := startAt(t, dir, 50)
	sameState(t, "second restart", durable(t, s3), after)
	s3.Stop()

	// Recover the crash image: snapshot + suffix replay.
	snapIdx := newestSnapshotIndex(t, img)
	s4 := startAt(t, img, 50)
	t.Logf("crash image: snapshot at %d, WAL %d..%d, state index %d", snapIdx, s4.wal.FirstIndex(), s4.wal.LastIndex(), decode(t, imgState).Index)
	sameState(t, "crash image (snapshot + WAL suffix)", durable(t, s4), imgState)
	touchAll(s4, c)
	if err := s4.CheckConsistency(); err != nil {
		t.Errorf("crash image: %v", err)
	}
	s4.Stop()
}

func TestSnapshotPlusSuffixEqualsFullReplay(t *testing.T) {
	seed := testSeed(t)
	t.Logf("seed %d (LEDGERD_TEST_SEED)", seed)
	c := loadConfig{seed: seed, phase: "a", partners: 3, users: 30, goroutines: 24, ops: 300}
	if testing.Short() {
		c.ops = 100
	}
	const never = 1 << 40 // no periodic snapshot: the WAL is never truncated
	dir := t.TempDir()
	s := startAt(t, dir, never)
	m := newModel()
	seedLedger(t, s, m, c)
	runLoad(t, s, m, c)
	phase1 := durable(t, s)
	if err := s.Stop(); err != nil { // writes the one snapshot, at the end of phase 1
		t.Fatal(err)
	}
	snapIdx := newestSnapshotIndex(t, dir)
	if snapIdx != decode(t, phase1).Index {
		t.Fatalf("shutdown snapshot at %d, state index %d", snapIdx, decode(t, phase1).Index)
	}

	s2 := startAt(t, dir, never)
	if s2.wal.FirstIndex() != 1 {
		t.Fatalf("WAL truncated to %d with a single snapshot", s2.wal.FirstIndex())
	}
	sameState(t, "restart from the shutdown snapshot", durable(t, s2), phase1)
	c2 := c
	c2.phase, c2.seed = "b", seed+1
	runLoad(t, s2, m, c2)
	touchAll(s2, c)
	if err := s2.CheckConsistency(); err != nil {
		t.Error(err)
	}
	s2.ReadState(func(st *engine.State) { m.check(t, st) })

	withSnap, live := crashImage(t, s2, true)
	noSnap, live2 := crashImage(t, s2, false)
	sameState(t, "two quiet images", live2, live)
	s2.Stop()

	a := startAt(t, withSnap, never)
	b := startAt(t, noSnap, never)
	defer a.Stop()
	defer b.Stop()
	if newestSnapshotIndex(t, withSnap) != snapIdx || newestSnapshotIndex(t, noSnap) != 0 {
		t.Fatalf("images: snapshot %d and %d", newestSnapshotIndex(t, withSnap), newestSnapshotIndex(t, noSnap))
	}
	sa, sb := durable(t, a), durable(t, b)
	t.Logf("snapshot at %d + suffix to %d vs full replay of %d entries", snapIdx, decode(t, sa).Index, decode(t, sb).Index)
	sameState(t, "snapshot + suffix replay vs live state", sa, live)
	sameState(t, "full replay vs snapshot + suffix replay", sb, sa)
}

func TestOneReferenceManyConcurrentDeducts(t *testing.T) {
	s := startAt(t, t.TempDir(), 50)
	defer s.Stop()
	for _, p := range []string{"ptr_a", "ptr_b"} {
		if _, err := s.CreatePartner(p, "payshards", p, 600, NewKey{ID: "key_1", Hash: engine.HashKey([]byte(p))}); err != nil {
			t.Fatal(err)
		}
	}
	if r := do(s, KindCredit, "", "u1", "top", 10_000); r.Status != StatusOK {
		t.Fatal(r)
	}
	const n = 100
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = do(s, KindDeduct, "ptr_a", "u1", "same-ref", 250)
		}()
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if r.Status != StatusOK || r.Balance != 9_750 {
			t.Errorf("request %d: %+v", i, r)
		}
		if !r.Idem {
			fresh++
		}
	}
	if fresh != 1 {
		t.Errorf("%d requests were answered as the first, want exactly 1", fresh)
	}
	// Concurrent reuses with another amount are conflicts and change nothing.
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = do(s, KindDeduct, "ptr_a", "u1", "same-ref", 250+int64(i%2))
		}()
	}
	wg.Wait()
	for i, r := range results {
		want := StatusOK
		if i%2 == 1 {
			want = StatusConflict
		}
		if r.Status != want || (want == StatusOK && (!r.Idem || r.Balance != 9_750)) {
			t.Errorf("reuse %d: %+v, want status %d", i, r, want)
		}
	}
	// The same reference at another partner is another deduct.
	if r := do(s, KindDeduct, "ptr_b", "u1", "same-ref", 250); r.Status != StatusOK || r.Idem || r.Balance != 9_500 {
		t.Errorf("other partner: %+v", r)
	}
	if r := do(s, KindBalance, "ptr_a", "u1", "", 0); r.Balance != 9_500 {
		t.Errorf("balance %+v, want 9500", r)
	}
	s.ReadState(func(st *engine.State) {
		if w := payshards.Wallets(st)["u1"]; w.Balance != 9_500 || w.RefundableFor("ptr_a") != 250 || w.RefundableFor("ptr_b") != 250 {
			t.Errorf("durable wallet %+v", w)
		}
		if st.IdemLen() != 3 {
			t.Errorf("%d idempotency records, want 3 (top-up and two deducts)", st.IdemLen())
		}
	})
	if err := s.CheckConsistency(); err != nil {
		t.Error(err)
	}
}

func TestReadYourWrites(t *testing.T) {
	seed := testSeed(t)
	t.Logf("seed %d", seed)
	s := startAt(t, t.TempDir(), 50)
	defer s.Stop()
	if _, err := s.CreatePartner("ptr_r", "payshards", "r", 600, NewKey{ID: "key_1", Hash: engine.HashKey([]byte("r"))}); err != nil {
		t.Fatal(err)
	}
	const goroutines, rounds = 16, 150
	for g := range goroutines {
		if r := do(s, KindCredit, "", userID(g), "top"+strconv.Itoa(g), 1_000_000); r.Status != StatusOK {
			t.Fatal(r)
		}
	}
	do(s, KindCredit, "", "shared", "top-shared", 1_000_000)
	var wg sync.WaitGroup
	errs := make(chan string, 32)
	report := func(format string, a ...any) {
		select {
		case errs <- fmt.Sprintf(format, a...):
		default:
		}
	}
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			own := userID(g)
			for n := range rounds {
				ref := fmt.Sprintf("g%d-%d", g, n)
				var r result
				switch rng.IntN(3) {
				case 0:
					r = do(s, KindDeduct, "ptr_r", own, ref, 1+rng.Int64N(20))
				case 1:
					r = do(s, KindRefund, "ptr_r", own, ref, 1+rng.Int64N(10))
				default:
					r = do(s, KindCredit, "", own, ref, 1+rng.Int64N(20))
				}
				// Only this goroutine writes its own user: the read must
				// return exactly the balance the write acknowledged.
				if r.Status == StatusOK {
					if b := do(s, KindBalance, "ptr_r", own, "", 0); b.Status != StatusOK || b.Balance != r.Balance {
						report("%s: read after %+v got %+v", own, r, b)
					}
				}
				// A shared user: a read after an acknowledged deduct never
				// shows more than that deduct left.
				d := do(s, KindDeduct, "ptr_r", "shared", "s"+ref, 1+rng.Int64N(5))
				if d.Status != StatusOK {
					report("shared deduct: %+v", d)
					continue
				}
				if b := do(s, KindBalance, "ptr_r", "shared", "", 0); b.Balance > d.Balance {
					report("shared: read %d after acknowledged newBalance %d", b.Balance, d.Balance)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Error(err)
	}
}
