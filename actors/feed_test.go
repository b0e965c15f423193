package actors

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// feedWait bounds every wait of these tests for something the feed must do;
// reaching it is a hang, not a slow machine.
const feedWait = 60 * time.Second

func startFeed(t *testing.T, dir string, cfg Config) *System {
	t.Helper()
	cfg.DataDir, cfg.Logger = dir, quietLogger()
	if cfg.SnapshotEvery == 0 {
		cfg.SnapshotEvery = 1 << 40
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// credit commits one credit of 1 to user with reference ref.
func credit(t *testing.T, s *System, user, ref string) {
	t.Helper()
	if r := do(s, KindCredit, "", user, ref, 1); r.Status != StatusOK {
		t.Fatalf("credit %s: %+v", ref, r)
	}
}

// committedIndex is the newest durable, applied WAL index.
func committedIndex(s *System) uint64 {
	var index uint64
	s.ReadState(func(st *engine.State) { index = st.Index })
	return index
}

// receive reads the next batch from sub.
func receive(t *testing.T, sub *Subscription) FeedBatch {
	t.Helper()
	select {
	case b, ok := <-sub.C():
		if !ok {
			t.Fatalf("feed closed: %v", sub.Err())
		}
		return b
	case <-time.After(feedWait):
		t.Fatalf("no batch from the feed within %v", feedWait)
	}
	return FeedBatch{}
}

// collect reads batches from sub through index last, checking that the
// indexes are consecutive from want, and returns the credit references in
// order.
func collect(t *testing.T, sub *Subscription, want, last uint64) []string {
	t.Helper()
	var refs []string
	for want <= last {
		b := receive(t, sub)
		if b.Index != want {
			t.Fatalf("feed batch %d, want %d", b.Index, want)
		}
		for _, ev := range b.Events {
			if c, ok := ev.(*payshards.Credited); ok {
				refs = append(refs, c.Reference)
			}
		}
		want++
	}
	return refs
}

// walRefs reads the credit references of a closed data dir's WAL from
// index from on, in log order.
func walRefs(t *testing.T, dir string, from uint64) []string {
	t.Helper()
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{NoSync: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var refs []string
	err = l.Replay(from, func(index uint64, payload []byte) error {
		events, err := engine.DecodeBatch(payload)
		for _, ev := range events {
			if c, ok := ev.(*payshards.Credited); ok {
				refs = append(refs, c.Reference)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

func sameRefs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d references, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: reference %d is %q, want %q", what, i, got[i], want[i])
		}
	}
}

// Concurrent writers: the feed hands out every entry once, in log order,
// and its events are exactly the WAL's.
func TestFeedOrderCompleteNoDuplicates(t *testing.T) {
	dir := t.TempDir()
	s := startFeed(t, dir, Config{})
	sub, err := s.Subscribe(FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := committedIndex(s) + 1
	const writers, each = 8, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range each {
				credit(t, s, "u"+strconv.Itoa(w), fmt.Sprintf("w%d-%d", w, n))
			}
		}()
	}
	// Read while the writers run: the feed is live, not a replay afterwards.
	var refs []string
	var read sync.WaitGroup
	read.Add(1)
	go func() {
		defer read.Done()
		seen := 0
		for want := from; seen < writers*each; want++ {
			var b FeedBatch
			select {
			case b = <-sub.C():
			case <-time.After(feedWait):
				t.Errorf("no batch from the feed within %v (%v)", feedWait, sub.Err())
				return
			}
			if b.Index != want {
				t.Errorf("feed batch %d, want %d", b.Index, want)
				return
			}
			for _, ev := range b.Events {
				if c, ok := ev.(*payshards.Credited); ok {
					refs = append(refs, c.Reference)
					seen++
				}
			}
		}
	}()
	wg.Wait()
	read.Wait()
	if t.Failed() {
		t.FailNow()
	}
	seen := make(map[string]bool)
	for _, r := range refs {
		if seen[r] {
			t.Fatalf("reference %s handed out twice", r)
		}
		seen[r] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct references, want %d", len(seen), writers*each)
	}
	sub.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	sameRefs(t, "feed vs WAL", refs, walRefs(t, dir, from))
}

// A subscriber that reads nothing falls behind the ring while commits go
// on; it then catches up from the WAL and rejoins the ring.
func TestFeedSlowSubscriberCatchesUpFromWAL(t *testing.T) {
	dir := t.TempDir()
	const ring = 4
	s := startFeed(t, dir, Config{FeedBuffer: ring})
	defer s.Stop()
	sub, err := s.Subscribe(FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	from := committedIndex(s) + 1
	const n = 200
	for i := range n {
		credit(t, s, "slow", "s"+strconv.Itoa(i)) // one entry each: Do waits for the fsync
	}
	last := committedIndex(s)
	// The subscriber has read nothing: its goroutine holds at most FeedAhead
	// decoded batches and one in hand, yet every commit went through.
	if got := sub.next.Load(); got > from+FeedAhead+1 {
		t.Fatalf("stalled subscription at %d, want at most %d", got, from+FeedAhead+1)
	}
	if last-from+1 < n || last-from+1 <= ring+FeedAhead+1 {
		t.Fatalf("commits did not progress past the ring while the subscriber stalled: from %d to %d", from, last)
	}
	if lag := s.feed.maxLag(); lag < last-(from+FeedAhead+1) {
		t.Fatalf("lag %d, want at least %d", lag, last-(from+FeedAhead+1))
	}
	sameRefs(t, "caught up", collect(t, sub, from, last), walRefsTo(t, s, from, last))
	if sub.fromWAL.Load() == 0 {
		t.Fatal("no entry was read from the WAL")
	}
	// Back on the ring: a new entry arrives through it. The counters are
	// bumped after each hand-out, so wait until they account for every
	// entry handed out before reading them.
	counted := func(n uint64) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); sub.fromRing.Load()+sub.fromWAL.Load() != n; {
			if time.Now().After(deadline) {
				t.Fatalf("%d entries counted, %d handed out", sub.fromRing.Load()+sub.fromWAL.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	counted(last - from + 1)
	ringBefore := sub.fromRing.Load()
	credit(t, s, "slow", "after")
	b := receive(t, sub)
	if b.Index != last+1 || len(b.Events) != 1 || creditRef(b.Events[0]) != "after" {
		t.Fatalf("after catching up: %+v", b)
	}
	counted(last - from + 2)
	if sub.fromRing.Load() != ringBefore+1 {
		t.Fatalf("the live entry was not read from the ring (ring reads %d -> %d)", ringBefore, sub.fromRing.Load())
	}
}

// After a restart a subscriber resumes from the index after the last one it
// processed; older entries come from the WAL, newer ones live.
func TestFeedSubscribeFromOldIndexAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := startFeed(t, dir, Config{})
	for i := range 50 {
		credit(t, s, "old", "o"+strconv.Itoa(i))
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startFeed(t, dir, Config{})
	defer s.Stop()
	last := committedIndex(s)
	sub, err := s.Subscribe(FeedOptions{From: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sameRefs(t, "resumed", collect(t, sub, 10, last), walRefsTo(t, s, 10, last))
	credit(t, s, "old", "live")
	if b := receive(t, sub); b.Index != last+1 || creditRef(b.Events[0]) != "live" {
		t.Fatalf("live after resume: %+v", b)
	}
}

// walRefsTo reads a running System's WAL from index from through last.
func walRefsTo(t *testing.T, s *System, from, last uint64) []string {
	t.Helper()
	var refs []string
	err := s.wal.Replay(from, func(index uint64, payload []byte) error {
		if index > last {
			return errRejoin
		}
		events, err := engine.DecodeBatch(payload)
		for _, ev := range events {
			if c, ok := ev.(*payshards.Credited); ok {
				refs = append(refs, c.Reference)
			}
		}
		return err
	})
	if err != nil && !errors.Is(err, errRejoin) {
		t.Fatal(err)
	}
	return refs
}

// snapshotsWritten is the index of the newest snapshot on disk.
func snapshotsWritten(s *System) (last uint64, inflight bool) {
	s.ReadState(func(*engine.State) { last, inflight = s.committer.snaps.last, s.committer.snaps.inflight })
	return last, inflight
}

// writeThroughSnapshots commits credits until k more snapshots are on disk.
func writeThroughSnapshots(t *testing.T, s *System, k int, prefix string) {
	t.Helper()
	for i := 0; k > 0; i++ {
		before, _ := snapshotsWritten(s)
		credit(t, s, "snap", fmt.Sprintf("%s-%d", prefix, i))
		if after, _ := snapshotsWritten(s); after > before {
			k--
		}
		if i > 100_000 {
			t.Fatal("no snapshot after 100,000 entries")
		}
	}
	// Let the last snapshot's truncation happen: it runs when the snapshot
	// is done, and an in-flight one is waited for here.
	deadline := time.Now().Add(feedWait)
	for _, inflight := snapshotsWritten(s); inflight; _, inflight = snapshotsWritten(s) {
		if time.Now().After(deadline) {
			t.Fatal("snapshot still in flight")
		}
		time.Sleep(time.Millisecond)
	}
}

// Once snapshots let the WAL be cut, a subscription from before its start
// is ErrFeedTruncated, and so is one that stalls while its entry is cut.
func TestFeedTruncatedIndex(t *testing.T) {
	dir := t.TempDir()
	s := startFeed(t, dir, Config{SnapshotEvery: 10, SnapshotFixed: true, FeedBuffer: 2})
	defer s.Stop()
	credit(t, s, "snap", "first")
	stalled, err := s.Subscribe(FeedOptions{From: 1}) // not held: does not keep the WAL
	if err != nil {
		t.Fatal(err)
	}
	writeThroughSnapshots(t, s, 3, "t")
	first := s.wal.FirstIndex()
	if first <= 1+FeedAhead+1 {
		t.Fatalf("wal starts at %d after 3 snapshots: no truncation to test", first)
	}
	if _, err := s.Subscribe(FeedOptions{From: first - 1}); !errors.Is(err, ErrFeedTruncated) {
		t.Fatalf("subscribe before the log's start: %v, want ErrFeedTruncated", err)
	}
	for range stalled.C() { // the stalled subscription reads on until the cut
	}
	if err := stalled.Err(); !errors.Is(err, ErrFeedTruncated) {
		t.Fatalf("stalled subscription ended with %v, want ErrFeedTruncated", err)
	}
	sub, err := s.Subscribe(FeedOptions{From: first})
	if err != nil {
		t.Fatalf("subscribe at the log's start %d: %v", first, err)
	}
	sub.Close()
	if _, err := s.Subscribe(FeedOptions{From: committedIndex(s) + 2}); !errors.Is(err, ErrFeedAhead) {
		t.Fatalf("subscribe beyond the log: %v, want ErrFeedAhead", err)
	}
}

// A held subscription keeps the WAL from its first unacknowledged entry,
// however many snapshots pass; acknowledging lets truncation move up to
// it, and across a restart the subscriber resumes where it acknowledged.
func TestFeedHoldKeepsWALUntilAcked(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{SnapshotEvery: 10, SnapshotFixed: true, FeedBuffer: 2}
	s := startFeed(t, dir, cfg)
	credit(t, s, "snap", "first")
	sub, err := s.Subscribe(FeedOptions{From: 1, Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	writeThroughSnapshots(t, s, 3, "a")
	if first := s.wal.FirstIndex(); first != 1 {
		t.Fatalf("wal starts at %d with a held subscription at 1", first)
	}
	collect(t, sub, 1, 20)
	sub.Ack(20)
	writeThroughSnapshots(t, s, 3, "b")
	if first := s.wal.FirstIndex(); first != 21 {
		t.Fatalf("wal starts at %d after the held subscription acknowledged 20, want 21", first)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); !errors.Is(err, ErrFeedClosed) {
		t.Fatalf("after Stop: %v, want ErrFeedClosed", err)
	}

	s = startFeed(t, dir, cfg)
	defer s.Stop()
	sub, err = s.Subscribe(FeedOptions{From: 21, Hold: true})
	if err != nil {
		t.Fatalf("resume at the acknowledged index after a restart: %v", err)
	}
	last := committedIndex(s)
	sameRefs(t, "resumed", collect(t, sub, 21, last), walRefsTo(t, s, 21, last))
	// Closing the held subscription lets the WAL go.
	sub.Close()
	writeThroughSnapshots(t, s, 3, "c")
	if first := s.wal.FirstIndex(); first <= 21 {
		t.Fatalf("wal still starts at %d after the held subscription closed", first)
	}
}

func TestFeedSubscriberLimit(t *testing.T) {
	s := startFeed(t, t.TempDir(), Config{})
	defer s.Stop()
	var subs []*Subscription
	for range FeedSubscribersMax {
		sub, err := s.Subscribe(FeedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	if _, err := s.Subscribe(FeedOptions{}); !errors.Is(err, ErrFeedFull) {
		t.Fatalf("subscription %d: %v, want ErrFeedFull", FeedSubscribersMax+1, err)
	}
	subs[0].Close()
	if sub, err := s.Subscribe(FeedOptions{}); err != nil {
		t.Fatalf("after a Close: %v", err)
	} else {
		sub.Close()
	}
}

// Stop ends every subscription, whatever it was doing, and waits for their
// goroutines: stalled on a full channel, waiting for a commit, closed.
func TestFeedStopsWithSystem(t *testing.T) {
	s := startFeed(t, t.TempDir(), Config{FeedBuffer: 2})
	stalled, err := s.Subscribe(FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * FeedAhead {
		credit(t, s, "stop", "x"+strconv.Itoa(i))
	}
	waiting, err := s.Subscribe(FeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	closed, err := s.Subscribe(FeedOptions{From: 1})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// Stop returned after the subscriptions' goroutines did: none is left.
	if n := s.feed.active.Load(); n != 0 {
		t.Fatalf("%d subscriptions still active after Stop", n)
	}
	for name, sub := range map[string]*Subscription{"stalled": stalled, "waiting": waiting, "closed": closed} {
		for range sub.C() {
		}
		if err := sub.Err(); !errors.Is(err, ErrFeedClosed) {
			t.Errorf("%s: %v, want ErrFeedClosed", name, err)
		}
	}
	if _, err := s.Subscribe(FeedOptions{}); !errors.Is(err, ErrFeedClosed) {
		t.Fatalf("subscribe after Stop: %v, want ErrFeedClosed", err)
	}
}

// creditRef is a credit's reference ("" for any other event).
func creditRef(ev engine.Event) string {
	if c, ok := ev.(*payshards.Credited); ok {
		return c.Reference
	}
	return ""
}

// TestFeedTypes: a subscription with Types gets a batch for every WAL entry,
// the same indexes as one without, holding exactly the events of those
// types, in order; one whose types never occur gets empty batches.
func TestFeedTypes(t *testing.T) {
	s := startFeed(t, t.TempDir(), Config{})
	defer s.Stop()
	if _, err := s.CreatePartner("ptr_f", "payshards", "f", 1000, NewKey{ID: "key_f", Hash: engine.HashKey([]byte("k"))}); err != nil {
		t.Fatal(err)
	}
	subs := map[string]*Subscription{}
	for name, types := range map[string][]engine.EventType{"all": nil, "credits": {payshards.EvCredited}, "none": {255}} {
		sub, err := s.Subscribe(FeedOptions{Types: types})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		subs[name] = sub
	}
	for i := range 20 {
		credit(t, s, "u1", fmt.Sprintf("c%d", i))
		if r := do(s, KindDeduct, "ptr_f", "u1", fmt.Sprintf("d%d", i), 1); r.Status != StatusOK {
			t.Fatalf("deduct: %+v", r)
		}
	}
	last := committedIndex(s)
	for {
		all, credits, none := receive(t, subs["all"]), receive(t, subs["credits"]), receive(t, subs["none"])
		if all.Index != credits.Index || all.Index != none.Index {
			t.Fatalf("indexes %d, %d, %d", all.Index, credits.Index, none.Index)
		}
		var want []engine.Event
		for _, ev := range all.Events {
			if ev.EventType() == payshards.EvCredited {
				want = append(want, ev)
			}
		}
		if len(none.Events) != 0 || len(credits.Events) != len(want) || (len(want) > 0 && !reflect.DeepEqual(credits.Events, want)) {
			t.Fatalf("entry %d: credits %v, want %v; none %v", all.Index, credits.Events, want, none.Events)
		}
		if all.Index == last {
			return
		}
	}
}
