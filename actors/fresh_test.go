package actors

import (
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

// Fresh Ops (Op.Fresh) are decided without an actor while the registry
// holds their id. Operator credits stand in for a module's create here:
// the wallet kind is built in and a credit creates its wallet.

func startFresh(t *testing.T, log Log) *System {
	t.Helper()
	s, err := Start(Config{DataDir: t.TempDir(), Log: log, Logger: quietLogger(), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

func doOp(s *System, k Kind, user, ref string, amount int64, fresh bool, taken Status) Op {
	op := NewOp()
	op.Kind, op.User, op.Reference, op.Amount, op.Fresh, op.Taken = k, user, ref, amount, fresh, taken
	if k != KindCredit {
		op.Partner = "p"
	}
	s.Do(op)
	r := *op
	op.Release()
	return r
}

func durableBalance(s *System, user string) (int64, bool) {
	var bal int64
	var ok bool
	s.ReadState(func(st *engine.State) {
		if w := payshards.Wallets(st)[user]; w != nil {
			bal, ok = w.Balance, true
		}
	})
	return bal, ok
}

// registered reports whether the wallet registry has an entry for id.
func registered(s *System, id string) bool {
	st := s.wallets.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.m[id] != nil
}

// held is the number of messages waiting on id's claim (-1: not claimed).
func held(s *System, id string) int {
	st := s.wallets.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if e := st.m[id]; e != nil && e.claimed {
		return len(e.held)
	}
	return -1
}

// TestFreshNeedsNoActor: a Fresh Op is decided and made durable without
// an actor, and leaves nothing in the registry; the entity's next Op
// starts an actor that loads the state the Fresh one made. An Op without
// Fresh spawns the (resident) wallet actor as before.
func TestFreshNeedsNoActor(t *testing.T) {
	s := startFresh(t, nil)
	if r := doOp(s, KindCredit, "plain", "c1", 100, false, 0); r.Status != StatusOK || r.Balance != 100 {
		t.Fatalf("credit: %+v", r)
	}
	if n := s.LiveWallets(); n != 1 || !registered(s, "plain") {
		t.Fatalf("after a plain credit: %d live wallets, registered %v; want its actor", n, registered(s, "plain"))
	}
	if r := doOp(s, KindCredit, "fresh", "c2", 100, true, 0); r.Status != StatusOK || r.Balance != 100 {
		t.Fatalf("fresh credit: %+v", r)
	}
	if n := s.LiveWallets(); n != 1 || registered(s, "fresh") {
		t.Fatalf("after a fresh credit: %d live wallets, registered %v; want no new actor", n, registered(s, "fresh"))
	}
	if bal, ok := durableBalance(s, "fresh"); !ok || bal != 100 {
		t.Fatalf("durable balance %d %v, want 100", bal, ok)
	}
	if r := doOp(s, KindDeduct, "fresh", "d1", 30, false, 0); r.Status != StatusOK || r.Balance != 70 {
		t.Fatalf("deduct after the fresh credit: %+v", r)
	}
	if r := doOp(s, KindCredit, "fresh", "c2", 100, false, 0); r.Status != StatusOK || !r.Idempotent || r.Balance != 100 {
		t.Fatalf("the fresh credit's reference again: %+v, want its first answer", r)
	}
	if n := s.LiveWallets(); n != 2 {
		t.Fatalf("%d live wallets, want 2", n)
	}
	if st := s.Stats(); st.Refused != 0 {
		t.Fatalf("refused %d", st.Refused)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
}

// TestFreshTaken: a Fresh Op for an entity with a durable state and no
// actor is refused with its Taken status (StatusOverloaded when unset)
// before anything is written, its reference is free again, and the
// entity is as it was. One for an entity with a live actor goes to it.
func TestFreshTaken(t *testing.T) {
	s := startFresh(t, nil)
	if r := doOp(s, KindCredit, "a", "c1", 100, true, 0); r.Status != StatusOK {
		t.Fatalf("credit: %+v", r)
	}
	events := s.Stats().Events
	if r := doOp(s, KindCredit, "a", "c2", 7, true, 0); r.Status != StatusOverloaded {
		t.Fatalf("fresh credit of an existing wallet: %+v, want StatusOverloaded", r)
	}
	if r := doOp(s, KindCredit, "a", "c3", 7, true, StatusAlreadyRedeemed); r.Status != StatusAlreadyRedeemed {
		t.Fatalf("with Taken set: %+v, want StatusAlreadyRedeemed", r)
	}
	if st := s.Stats(); st.Refused != 2 || st.Events != events {
		t.Fatalf("refused %d, events %d → %d: want 2 refused and nothing written", st.Refused, events, st.Events)
	}
	if bal, _ := durableBalance(s, "a"); bal != 100 {
		t.Fatalf("durable balance %d, want 100", bal)
	}
	if registered(s, "a") {
		t.Fatal("a refused claim left its entry")
	}
	// The refused reference is new again: a plain credit with it applies.
	if r := doOp(s, KindCredit, "a", "c2", 7, false, 0); r.Status != StatusOK || r.Idempotent || r.Balance != 107 {
		t.Fatalf("the refused reference again: %+v, want a new credit to 107", r)
	}
	// a has an actor now: a Fresh Op goes to it, which decides on the
	// state it has (a credit to an existing wallet is a credit).
	if r := doOp(s, KindCredit, "a", "c4", 3, true, 0); r.Status != StatusOK || r.Balance != 110 {
		t.Fatalf("fresh credit with a live actor: %+v, want 110", r)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
}

// TestFreshHoldsWhatFollows: while a Fresh Op's event waits for the log,
// an Op for the same id reaches no actor; it waits in the claim and, once
// the Fresh Op is answered, an actor starts and decides it on the state
// that holds the Fresh event.
func TestFreshHoldsWhatFollows(t *testing.T) {
	log := newGatedLog()
	s := startFresh(t, log)
	release := log.releaser()
	defer release()
	log.holdNext()
	credit := make(chan Op, 1)
	go func() { credit <- doOp(s, KindCredit, "u", "c1", 100, true, 0) }()
	<-log.entered
	deduct := make(chan Op, 1)
	go func() { deduct <- doOp(s, KindDeduct, "u", "d1", 30, false, 0) }()
	deadline := time.Now().Add(10 * time.Second)
	for held(s, "u") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the deduct is not held by the claim (held %d)", held(s, "u"))
		}
		time.Sleep(time.Millisecond)
	}
	if n := s.LiveWallets(); n != 0 {
		t.Fatalf("%d live wallets while the claim holds, want 0", n)
	}
	release()
	if r := <-credit; r.Status != StatusOK || r.Balance != 100 {
		t.Fatalf("credit: %+v", r)
	}
	if r := <-deduct; r.Status != StatusOK || r.Balance != 70 {
		t.Fatalf("deduct held behind the credit: %+v, want balance 70", r)
	}
	if bal, _ := durableBalance(s, "u"); bal != 70 {
		t.Fatalf("durable balance %d, want 70", bal)
	}
	if n := s.LiveWallets(); n != 1 {
		t.Fatalf("%d live wallets, want the one the held deduct started", n)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
}

// TestFreshTakenWhileInFlight: a Fresh event whose entity has an event
// gathered and not yet applied is refused at once, without waiting for
// that one, and nothing of it is written.
func TestFreshTakenWhileInFlight(t *testing.T) {
	log := newGatedLog()
	s := startFresh(t, log)
	release := log.releaser()
	defer release()
	inject := func(ref string, fresh bool) *Op {
		ev, ok := payshards.DecideCredit(nil, "b", ref, 5, time.Now().UnixMilli())
		if !ok {
			t.Fatal("credit not decided")
		}
		op := NewOp()
		op.Kind, op.User, op.Reference = KindCredit, "b", ref
		s.committer.in <- item{kind: itemEvent, ev: ev, op: op, fresh: fresh}
		return op
	}
	log.holdNext()
	first := inject("x1", false)
	<-log.entered
	second := inject("x2", true)
	<-second.done
	if second.Status != StatusOverloaded || s.Stats().Refused != 1 {
		t.Fatalf("fresh event behind one in flight: %v, refused %d", second.Status, s.Stats().Refused)
	}
	release()
	<-first.done
	if bal, _ := durableBalance(s, "b"); bal != 5 {
		t.Fatalf("durable balance %d, want 5 (only the first credit)", bal)
	}
	first.Release()
	second.Release()
}
