package actors

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// Review tests of Inline kinds (codes decided by the committer): parked
// decides, stop with parked decides, the barrier path, Release on the
// committer's goroutine, and a stress of concurrent traffic on few codes.

// A test Inline kind whose Handle releases its reference on the
// committer's goroutine (Entity.Release -> idempotency shard), outside
// finish, while the shards admit concurrently.
var (
	releaseInline     = engine.RegisterEntityKind("test-review-release-inline")
	kindReleaseInline = NewKind("test-review-release-inline")
	reviewScope       = engine.Scope(251) // unregistered: no record ever exists under it
	releaseHandled    atomic.Int64
)

func init() {
	RegisterEntity(EntityDef{
		Kind: releaseInline, Ops: []Kind{kindReleaseInline}, Inline: true,
		ID:   func(op *Op) string { return op.User },
		Load: func(*engine.State, string) any { return nil },
		Handle: func(e *Entity, op *Op) {
			releaseHandled.Add(1)
			e.Release(op, StatusNotFound)
		},
	})
}

// inQueueEmpty waits until the committer has taken everything queued.
func inQueueEmpty(t *testing.T, s *System) {
	t.Helper()
	waitFor(t, "the committer's queue to drain", func() bool { return len(s.committer.in) == 0 })
	time.Sleep(5 * time.Millisecond) // and gathered it (it may be mid-gather)
}

// registryEmpty reports the ids still in reg (claimed or live).
func registryLeft(reg *registry) []string {
	var left []string
	for i := range reg.stripes {
		st := &reg.stripes[i]
		st.mu.Lock()
		for id := range st.m {
			left = append(left, id)
		}
		st.mu.Unlock()
	}
	return left
}

// checkNothingLeft: no registry entry, no live code actor, no pending
// reference, no busy entity, no decide waiting for a batch.
func checkNothingLeft(t *testing.T, s *System) {
	t.Helper()
	waitFor(t, "the code registry to empty", func() bool { return len(registryLeft(s.codes)) == 0 })
	if n := s.codes.count.Load(); n != 0 {
		t.Errorf("codes.count = %d, want 0", n)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if n := len(sh.pending); n != 0 {
			t.Errorf("shard %d: %d references pending", i, n)
		}
		sh.mu.Unlock()
	}
	var busy map[engine.Entity]int32
	var redo int
	s.ReadState(func(*engine.State) { // on the committer's goroutine
		busy = make(map[engine.Entity]int32, len(s.committer.busy))
		for k, v := range s.committer.busy {
			busy[k] = v
		}
		redo = len(s.committer.redo)
	})
	if len(busy) != 0 || redo != 0 {
		t.Errorf("committer: busy %v, %d decides to redo", busy, redo)
	}
	if n := s.inflight.Load(); n != 0 {
		t.Errorf("%d Ops still inside Do", n)
	}
}

// holdIssue issues code N1 (an event of the whole code kind) and returns
// once its batch is held in the log; the channel gets IssueCodes' error.
func holdIssue(s *System, log *gatedLog, clock *cardsClock) chan error {
	log.holdNext()
	issued := make(chan error, 1)
	go func() {
		_, err := s.IssueCodes("pa", []string{"N1"}, "gold", "new", clock.ms()+3600_000)
		issued <- err
	}()
	<-log.entered
	return issued
}

func notYet[T any](t *testing.T, what string, c chan T) {
	t.Helper()
	select {
	case r := <-c:
		t.Fatalf("%s answered before the batch it waits for was durable: %+v", what, r)
	case <-time.After(20 * time.Millisecond):
	}
}

func within[T any](t *testing.T, what string, c chan T) T {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("%s never answered", what)
	}
	panic("unreachable")
}

// TestInlineDecidesParkedInEventlessBatch: a kind-wide event (issuing
// codes) is being written; decides of codes that come meanwhile are parked
// in a batch that has no events of its own (a validate, a revoke of an
// already-revoked code, which takes the barrier path, and a revoke of an
// unknown code). Each is answered once that batch is applied, correctly,
// and nothing is left behind.
func TestInlineDecidesParkedInEventlessBatch(t *testing.T) {
	s, log, clock := startGated(t, 3)
	defer s.Stop()
	if st, _ := s.RevokeCode("A2"); st != StatusOK {
		t.Fatalf("revoke A2: %d", st)
	}
	spawned := countSpawns(s.codes)

	issued := holdIssue(s, log, clock)
	release := log.releaser()
	defer release()

	validate := make(chan cardResult, 1)
	go func() { validate <- cardDo(s, KindValidate, "pa", "A1", "") }()
	again := make(chan Status, 1)
	go func() { st, _ := s.RevokeCode("A2"); again <- st }()
	unknown := make(chan Status, 1)
	go func() { st, _ := s.RevokeCode("NOPE"); unknown <- st }()
	newCode := make(chan cardResult, 1)
	go func() { newCode <- cardDo(s, KindRedeem, "pa", "N1", "") }() // must see the issue
	waitFor(t, "four claims", func() bool {
		n := 0
		for _, id := range []string{"A1", "A2", "NOPE", "N1"} {
			if reg, h := codeEntry(s, id); reg && h == 0 {
				n++
			}
		}
		return n == 4
	})
	inQueueEmpty(t, s)
	notYet(t, "validate parked behind the issue", validate)
	notYet(t, "revoke parked behind the issue", again)
	release()
	if err := <-issued; err != nil {
		t.Fatal(err)
	}
	if r := within(t, "validate", validate); r.Status != StatusOK {
		t.Fatalf("validate A1: %+v", r)
	}
	if st := within(t, "revoke again", again); st != StatusOK {
		t.Fatalf("revoke of a revoked code: %d", st)
	}
	if st := within(t, "revoke unknown", unknown); st != StatusNotFound {
		t.Fatalf("revoke NOPE: %d", st)
	}
	if r := within(t, "redeem N1", newCode); r.Status != StatusOK {
		t.Fatalf("redeem of the code being issued: %+v", r)
	}
	if n := spawned.Load(); n != 0 {
		t.Fatalf("%d actors started", n)
	}
	checkNothingLeft(t, s)
}

// TestInlineStopWithParkedDecide: Stop arrives while a decide is parked
// behind a batch being written and carried into the next batch (which has
// another event of its own, also held). Stop must let the decide run and
// answer it before the final snapshot, and return.
func TestInlineStopWithParkedDecide(t *testing.T) {
	s, log, clock := startGated(t, 2)
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()

	issued := holdIssue(s, log, clock)
	release1 := log.releaser()
	defer release1()

	redeem := make(chan cardResult, 1)
	go func() { redeem <- cardDo(s, KindRedeem, "pa", "A1", "stop-key") }()
	waitFor(t, "A1's claim", func() bool { reg, h := codeEntry(s, "A1"); return reg && h == 0 })
	inQueueEmpty(t, s) // parked in the batch being gathered

	credit := make(chan Status, 1)
	go func() {
		op := NewOp()
		op.Kind, op.User, op.Reference, op.Amount = KindCredit, "u1", "c1", 5
		s.Do(op)
		credit <- op.Status
		op.Release()
	}()
	waitFor(t, "u1's credit to be emitted", func() bool {
		st := s.wallets.stripe("u1")
		st.mu.Lock()
		defer st.mu.Unlock()
		e := st.m["u1"]
		return e != nil && e.pending.Load() == 1
	})
	inQueueEmpty(t, s)
	log.holdNext() // the batch with the credit and the parked decide

	stop := make(chan error, 1)
	go func() { stop <- s.Stop() }()
	inQueueEmpty(t, s)
	release1()
	<-log.entered
	release2 := log.releaser()
	defer release2()
	notYet(t, "redeem parked behind the issue", redeem)
	release2()
	if err := <-issued; err != nil {
		t.Fatal(err)
	}
	if st := within(t, "credit", credit); st != StatusOK {
		t.Fatalf("credit: %d", st)
	}
	if r := within(t, "parked redeem at stop", redeem); r.Status != StatusOK {
		t.Fatalf("redeem: %+v", r)
	}
	if err := within(t, "Stop", stop); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if n := s.committer.redo; len(n) != 0 {
		t.Fatalf("stopped with %d decides to redo", len(n))
	}
	if n := len(s.committer.in); n != 0 {
		t.Fatalf("stopped with %d items queued", n)
	}
}

// TestInlineReleaseOnCommitter: an Inline Handle that releases its
// reference runs on the committer's goroutine, outside finish, taking a
// shard's lock, while shards admit (shard lock, then the records' read
// lock) and the committer applies (records' write lock) redeems with
// Idempotency-Keys. Nothing deadlocks, retries waiting on a released
// reference get its status, and nothing is left pending.
func TestInlineReleaseOnCommitter(t *testing.T) {
	clock := newCardsClock()
	s, err := Start(Config{DataDir: t.TempDir(), NoSync: true, BatchMax: 3, Logger: quietLogger(), Now: clock.now,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	cardsFixture(t, s, clock, 40)
	releaseHandled.Store(0)
	var wg sync.WaitGroup
	var bad atomic.Int64
	done := make(chan struct{})
	for g := range 24 {
		wg.Go(func() {
			for i := range 150 {
				if g%3 == 0 {
					r := cardDo(s, KindRedeem, "pa", fmt.Sprintf("A%d", 1+(g+i)%40), fmt.Sprintf("rk-%d-%d", (g+i)%40, i%3))
					if r.Status != StatusOK && r.Status != StatusAlreadyRedeemed && r.Status != StatusConflict {
						bad.Add(1)
					}
					continue
				}
				op := NewOp()
				op.Kind, op.Partner, op.User, op.Scope = kindReleaseInline, "pa", fmt.Sprintf("e%d", i%5), reviewScope
				op.Reference, op.Fingerprint = fmt.Sprintf("ref-%d", i%7), "fp"
				s.Do(op)
				if op.Status != StatusNotFound {
					bad.Add(1)
				}
				op.Release()
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("deadlock: Ops not answered")
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d unexpected statuses", n)
	}
	if releaseHandled.Load() == 0 {
		t.Fatal("the release kind was never decided")
	}
	checkNothingLeft(t, s)
	if left := registryLeft(s.entities[releaseInline]); len(left) != 0 {
		t.Fatalf("release kind registry: %v", left)
	}
}

// stressOp is one request of the stress test and its answer.
type stressOp struct {
	kind       Kind
	partner    string
	code       string
	key        string
	requestID  string
	redemption string
	limited    bool
	r          cardResult
}

// TestInlineCodeStress hammers a few codes from many goroutines with
// validates, redeems (with and without Idempotency-Keys, retried), revokes,
// other partners' redeems and rate-limited requests, then checks the
// durable state: each code redeemed at most once and as its answers say,
// the audit holds exactly one record per request that reached the code,
// with the outcome it was answered, in an order a one-at-a-time decision
// explains; every key answered alike; nothing left in the registry, the
// shards or the committer; and a restart recovers the same codes.
func TestInlineCodeStress(t *testing.T) {
	for _, batchMax := range []int{0, 2} {
		for _, slow := range []bool{false, true} {
			t.Run(fmt.Sprintf("batch%d-slow%v", batchMax, slow), func(t *testing.T) { inlineStress(t, batchMax, 0, slow) })
		}
	}
	// A queue of one and batches of one: the committer would deadlock if
	// a decide ever sent to its own queue instead of into the batch.
	t.Run("queue1-batch1-slow", func(t *testing.T) { inlineStress(t, 1, 1, true) })
}

// slowLog is an in-memory Log whose appends take a random while, so that
// batches overlap with the gathering of the next (decides park).
type slowLog struct {
	mu  sync.Mutex
	n   uint64
	rng *rand.Rand
}

func (l *slowLog) Append(payloads ...[]byte) (uint64, error) {
	l.mu.Lock()
	d := time.Duration(l.rng.IntN(400)) * time.Microsecond
	l.mu.Unlock()
	time.Sleep(d)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += uint64(len(payloads))
	return l.n, nil
}

func (l *slowLog) DropBefore(uint64) error { return nil }

func inlineStress(t *testing.T, batchMax, queueMax int, slow bool) {
	clock := newCardsClock()
	dir := t.TempDir()
	cfg := Config{DataDir: dir, NoSync: true, BatchMax: batchMax, QueueMax: queueMax, Logger: quietLogger(), Now: clock.now,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }}
	if slow {
		cfg.Log = &slowLog{rng: rand.New(rand.NewPCG(7, 9))}
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const codes = 4
	cardsFixture(t, s, clock, codes)
	spawned := countSpawns(s.codes)
	var seq atomic.Int64
	const goroutines, per = 32, 120
	ops := make([][]stressOp, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), uint64(batchMax)))
			for range per {
				n := seq.Add(1)
				o := stressOp{partner: "pa", code: fmt.Sprintf("A%d", 1+rng.IntN(codes)),
					requestID: fmt.Sprintf("sreq_%d", n), redemption: fmt.Sprintf("srdm_%d", n)}
				switch p := rng.IntN(20); {
				case p < 6:
					o.kind = KindValidate
				case p < 9:
					o.kind = KindRedeem
				case p < 14:
					o.kind = KindRedeem
					o.key = fmt.Sprintf("key-%s-%d", o.code, rng.IntN(3)) // retried by many
				case p < 15:
					o.kind, o.partner = KindRedeem, "pb"
				case p < 16:
					o.kind, o.partner = KindValidate, "pb"
				case p < 17:
					o.kind = KindRevokeCode
				default:
					o.kind, o.limited = KindValidate, true
					if p == 19 {
						o.kind = KindRedeem
					}
				}
				if o.kind == KindRevokeCode {
					op := NewOp()
					op.Kind, op.Card, op.RequestID = KindRevokeCode, o.code, o.requestID
					s.Do(op)
					o.r = cardResult{op.Status, op.Idempotent, op.Detail}
					op.Release()
				} else {
					op := NewOp()
					op.Kind, op.Partner, op.Card, op.Reference = o.kind, o.partner, o.code, o.key
					op.RequestID, op.RedemptionID = o.requestID, o.redemption
					if o.limited {
						op.KeyHash, op.RateLimit = engine.HashKey([]byte("stress-"+o.partner)), 1<<40
					}
					s.Do(op)
					o.r = cardResult{op.Status, op.Idempotent, op.Detail}
					op.Release()
				}
				ops[g] = append(ops[g], o)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(90 * time.Second):
		t.Fatal("stress: Ops not answered (deadlock?)")
	}
	waitQuiet(t, s)
	checkNothingLeft(t, s)

	var all []stressOp
	for _, l := range ops {
		all = append(all, l...)
	}
	// Answers.
	redeemedBy := map[string]*stressOp{}
	revokedOK := map[string]bool{}
	byKey := map[string][]*stressOp{}
	reached := map[string]*stressOp{} // request id -> a request that reached its code
	for i := range all {
		o := &all[i]
		switch st := o.r.Status; {
		case st == StatusOverloaded || st == StatusRateLimited || st == StatusConflict:
			t.Errorf("%+v: unexpected status %d", o, st)
			continue
		case o.kind == KindRevokeCode:
			if st == StatusOK {
				revokedOK[o.code] = true
			}
			continue
		}
		if o.partner == "pb" && o.r.Status != StatusNotFound {
			t.Errorf("pb on %s: %+v", o.code, o.r)
		}
		if o.key != "" {
			byKey[o.key] = append(byKey[o.key], o)
		}
		if !o.r.Idempotent {
			reached[o.requestID] = o
		} else if o.key == "" {
			t.Errorf("idempotent without a key: %+v", o)
		}
		if o.kind == KindRedeem && o.r.Status == StatusOK && !o.r.Idempotent {
			if prev := redeemedBy[o.code]; prev != nil {
				t.Errorf("%s redeemed twice: %s and %s", o.code, prev.requestID, o.requestID)
			}
			redeemedBy[o.code] = o
		}
	}
	for key, l := range byKey {
		var first *stressOp
		for _, o := range l {
			if !o.r.Idempotent {
				if first != nil {
					t.Errorf("key %s reached the code twice: %s, %s", key, first.requestID, o.requestID)
				}
				first = o
			}
		}
		if first == nil {
			t.Errorf("key %s: every answer a replay", key)
			continue
		}
		for _, o := range l {
			if o.r.Status != first.r.Status || o.r.Detail != first.r.Detail {
				t.Errorf("key %s: %+v, first %+v", key, o.r, first.r)
			}
		}
	}
	// Durable codes and audit.
	s.ReadState(func(st *engine.State) {
		cards := paypay.Cards(st)
		for i := range codes {
			code := fmt.Sprintf("A%d", i+1)
			c := cards[code]
			w := redeemedBy[code]
			switch {
			case c == nil:
				t.Errorf("%s gone", code)
			case w != nil && (c.RedemptionID != w.redemption || c.RedeemedMs != w.r.Detail.RedeemedMs || c.RevokedMs != 0):
				t.Errorf("%s: durable %+v, redeemed by %+v", code, c, w)
			case w == nil && c.RedeemedMs != 0:
				t.Errorf("%s: durable %+v redeemed, no answer said so", code, c)
			case w == nil && (c.RevokedMs != 0) != revokedOK[code]:
				t.Errorf("%s: durable %+v, revoke answered OK: %v", code, c, revokedOK[code])
			}
		}
		seen := map[string]bool{}
		var atts []paypay.Attempt
		for _, p := range []string{"pa", "pb"} {
			if l := paypay.Attempts(st)[p]; l != nil {
				atts = append(atts, l.Items()...)
			}
		}
		sort.Slice(atts, func(i, j int) bool { return atts[i].Seq < atts[j].Seq })
		state := map[string]string{} // code -> "", "redeemed", "revoked"
		for _, a := range atts {
			if seen[a.RequestID] {
				t.Errorf("two audit records for %s", a.RequestID)
			}
			seen[a.RequestID] = true
			o := reached[a.RequestID]
			if o == nil {
				t.Errorf("audit record %+v for no request that reached a code", a)
				continue
			}
			want := paypay.ActionValidate
			if o.kind == KindRedeem {
				want = paypay.ActionRedeem
			}
			if a.Card != o.code || a.Action != want || statusOf(a.Outcome) != o.r.Status {
				t.Errorf("audit %+v for %+v", a, o)
			}
			if o.partner == "pb" {
				continue
			}
			// One decision at a time, in log order: fresh -> redeemed | revoked.
			cur := state[a.Card]
			switch a.Outcome {
			case engine.CodeOK:
				if cur != "" {
					t.Errorf("%s: OK %v after %s (seq %d)", a.Card, a.Action, cur, a.Seq)
				}
				if a.Action == paypay.ActionRedeem {
					state[a.Card] = "redeemed"
				}
			case paypay.ResultAlreadyRedeemed:
				if cur != "redeemed" {
					t.Errorf("%s: already redeemed while %q (seq %d)", a.Card, cur, a.Seq)
				}
			case paypay.ResultRevoked:
				if cur == "redeemed" {
					t.Errorf("%s: revoked after redeemed (seq %d)", a.Card, a.Seq)
				}
				state[a.Card] = "revoked"
			default:
				t.Errorf("%s: outcome %v", a.Card, a.Outcome)
			}
		}
		for id, o := range reached {
			if !seen[id] {
				t.Errorf("no audit record for %+v", o)
			}
		}
	})
	var before map[string]paypay.Card
	snap := func(s *System) map[string]paypay.Card {
		m := map[string]paypay.Card{}
		s.ReadState(func(st *engine.State) {
			for k, v := range paypay.Cards(st) {
				m[k] = *v
			}
		})
		return m
	}
	before = snap(s)
	t.Logf("batch %d slow %v: %d requests, %d reached codes, redeemed %d, %d code actors", batchMax, slow, len(all), len(reached), len(redeemedBy), spawned.Load())
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if slow { // in memory: nothing to recover
		return
	}
	s2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Stop()
	after := snap(s2)
	if len(after) != len(before) {
		t.Fatalf("%d cards after restart, %d before", len(after), len(before))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s after restart %+v, before %+v", k, after[k], v)
		}
	}
}
