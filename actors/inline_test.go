package actors

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Inline kinds (EntityDef.Inline, codes) are decided by the committer
// against the durable state while the registry holds their id.

// countSpawns wraps reg's spawn so that a test sees how many actors start.
func countSpawns(reg *registry) *atomic.Int64 {
	var n atomic.Int64
	spawn := reg.spawn
	reg.spawn = func(id string, e *entry) *actor.PID {
		n.Add(1)
		return spawn(id, e)
	}
	return &n
}

// codeEntry reports whether the code registry has an entry for id, and
// how many messages wait on its claim (-1: not claimed).
func codeEntry(s *System, id string) (registered bool, held int) {
	st := s.codes.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	e := st.m[id]
	if e == nil || !e.claimed {
		return e != nil, -1
	}
	return true, len(e.held)
}

// startGated starts a System on a gated in-memory log with the cards fixture.
func startGated(t *testing.T, n int) (*System, *gatedLog, *cardsClock) {
	t.Helper()
	log := newGatedLog()
	clock := newCardsClock()
	s, err := Start(Config{DataDir: t.TempDir(), Log: log, Logger: quietLogger(), Now: clock.now,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	cardsFixture(t, s, clock, n)
	return s, log, clock
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCodeDecidedWithoutActor: validates, redeems and revokes of codes
// nobody else is using start no actor and leave nothing in the registry,
// and decide exactly as an actor would (one redeem wins, a revoke of a
// redeemed code is refused with nothing changed).
func TestCodeDecidedWithoutActor(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	cardsFixture(t, s, clock, 3)
	spawned := countSpawns(s.codes)

	if r := cardDo(s, KindValidate, "pa", "A1", ""); r.Status != StatusOK {
		t.Fatalf("validate: %+v", r)
	}
	if r := cardDo(s, KindRedeem, "pa", "A1", ""); r.Status != StatusOK {
		t.Fatalf("redeem: %+v", r)
	}
	redeemed := durableCard(s, "A1")
	if redeemed.RedeemedMs == 0 {
		t.Fatalf("durable after the redeem: %+v", redeemed)
	}
	if r := cardDo(s, KindRedeem, "pa", "A1", ""); r.Status != StatusAlreadyRedeemed || r.Detail.RedeemedMs != redeemed.RedeemedMs {
		t.Fatalf("second redeem: %+v", r)
	}
	if r := cardDo(s, KindRedeem, "pb", "A1", ""); r.Status != StatusNotFound {
		t.Fatalf("another partner's redeem: %+v", r)
	}
	if st, _ := s.RevokeCode("A1"); st != StatusAlreadyRedeemed {
		t.Fatalf("revoke of a redeemed code: %d", st)
	}
	if c := durableCard(s, "A1"); *c != *redeemed {
		t.Fatalf("after refusals: %+v, was %+v", c, redeemed)
	}
	for range 2 { // the second finds it revoked: answered once that is durable
		if st, _ := s.RevokeCode("A2"); st != StatusOK {
			t.Fatalf("revoke: %d", st)
		}
	}
	if r := cardDo(s, KindRedeem, "pa", "A2", ""); r.Status != StatusRevoked {
		t.Fatalf("redeem of a revoked code: %+v", r)
	}
	if st, _ := s.RevokeCode("NOPE"); st != StatusNotFound {
		t.Fatalf("revoke of an unknown code: %d", st)
	}
	if n := spawned.Load(); n != 0 {
		t.Fatalf("%d code actors started, want none", n)
	}
	for _, id := range []string{"A1", "A2", "NOPE"} {
		if reg, _ := codeEntry(s, id); reg {
			t.Fatalf("%s still in the registry", id)
		}
	}
	if n := s.codes.count.Load(); n != 0 {
		t.Fatalf("%d live code actors", n)
	}
}

// TestCodeDecideWaitsForActorsEvent: an actor decides what arrived for a
// code while the committer decided on it, and retires before its event is
// durable. A redeem that comes then is decided by the committer, which
// must wait for that event: the durable state alone would show the code
// unredeemed and let it be redeemed twice.
func TestCodeDecideWaitsForActorsEvent(t *testing.T) {
	s, log, _ := startGated(t, 1)
	defer s.Stop()
	spawned := countSpawns(s.codes)

	log.holdNext()
	validate := make(chan cardResult, 1)
	go func() { validate <- cardDo(s, KindValidate, "pa", "A1", "") }()
	<-log.entered // the validate, decided by the committer, is being written
	release := log.releaser()
	defer release()
	first := make(chan cardResult, 1)
	go func() { first <- cardDo(s, KindRedeem, "pa", "A1", "") }()
	waitFor(t, "the redeem to wait on A1's claim", func() bool { _, h := codeEntry(s, "A1"); return h == 1 })

	log.holdNext() // the next batch holds the redeem its actor decides
	release()
	if r := <-validate; r.Status != StatusOK {
		t.Fatalf("validate: %+v", r)
	}
	<-log.entered
	releaseRedeem := log.releaser()
	defer releaseRedeem()
	waitFor(t, "A1's actor to retire", func() bool { reg, _ := codeEntry(s, "A1"); return !reg })
	if n := spawned.Load(); n != 1 {
		t.Fatalf("%d actors started, want 1 for the redeem that waited", n)
	}

	second := make(chan cardResult, 1)
	go func() { second <- cardDo(s, KindRedeem, "pa", "A1", "") }()
	waitFor(t, "the second redeem to claim A1", func() bool { reg, h := codeEntry(s, "A1"); return reg && h == 0 })
	time.Sleep(20 * time.Millisecond) // let the committer gather it (either order passes)
	releaseRedeem()
	if r := <-first; r.Status != StatusOK {
		t.Fatalf("first redeem: %+v", r)
	}
	r := <-second
	if r.Status != StatusAlreadyRedeemed {
		t.Fatalf("second redeem of A1: %+v, want already redeemed", r)
	}
	if c := durableCard(s, "A1"); c.RedeemedMs == 0 || r.Detail.RedeemedMs != c.RedeemedMs {
		t.Fatalf("durable %+v, second redeem saw %+v", c, r.Detail)
	}
}
