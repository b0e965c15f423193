package actors

import (
	"errors"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

func TestCommit(t *testing.T) {
	s := startFeed(t, t.TempDir(), Config{})
	sub, err := s.Subscribe(FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var before uint64
	s.ReadState(func(st *engine.State) { before = st.Index })
	if err := s.Commit(&engine.KeysExpired{Stamp: engine.Stamp{TimeMs: 1}, CutoffMs: 0}); err != nil {
		t.Fatal(err)
	}
	var after uint64
	s.ReadState(func(st *engine.State) { after = st.Index })
	if after <= before {
		t.Fatalf("index %d after commit, %d before", after, before)
	}
	// The feed hands it out like any other committed event.
	for found := false; !found; {
		b := <-sub.C()
		for _, ev := range b.Events {
			_, found = ev.(*engine.KeysExpired)
		}
	}
	sub.Close()
	// Refused: out of range, owned by an entity actor, changing partners.
	if err := s.Commit(&engine.KeysExpired{CutoffMs: -1}); !errors.Is(err, ErrInvalidCommand) {
		t.Fatalf("invalid: %v", err)
	}
	if err := s.Commit(&payshards.Credited{Stamp: engine.Stamp{TimeMs: 1}, User: "u", Reference: "r", Amount: 1, BalanceAfter: 1}); !errors.Is(err, ErrOwnedEvent) {
		t.Fatalf("entity event: %v", err)
	}
	if err := s.Commit(&engine.PartnerStatusChanged{Stamp: engine.Stamp{TimeMs: 1}, Partner: "p", Status: engine.StatusInactive}); !errors.Is(err, ErrOwnedEvent) {
		t.Fatalf("partner event: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(&engine.KeysExpired{Stamp: engine.Stamp{TimeMs: 2}}); !errors.Is(err, ErrStopped) {
		t.Fatalf("after stop: %v", err)
	}
}
