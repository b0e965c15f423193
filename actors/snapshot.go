package actors

import (
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/wal"
)

// snapshotKeep is how many snapshots stay on disk. The WAL is truncated only
// up to the older one, so a corrupt newest snapshot can fall back to the
// previous one plus a longer log suffix.
const snapshotKeep = 2

type snapResult struct {
	index    uint64
	copyTime time.Duration // the committer's, copying the state (in steps between batches)
	longest  time.Duration // the longest of those steps: the committer's longest pause for it
	took     time.Duration // encoding, writing and fsyncing it
	err      error
}

// copyStep is how many idempotency records, and then how many entries of
// each stepped section, the committer copies for a snapshot between two
// batches (~0.25 ms on this machine: records and wallets cost 0.3–1 µs
// each, mostly cache misses in the maps they are read from).
const copyStep = 512

// ready is a closed channel: a select case on it is always ready.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// snapshotter writes snapshots for the committer. The state is copied on
// the committer's goroutine, which owns it: the small parts at once
// (engine.State.CaptureStart), the idempotency records and the stepped
// sections (wallets, codes, audit records) copyStep at a time between
// batches, with what each event changes kept first (beforeApply). Then a
// goroutine sorts, encodes, writes and fsyncs it, and the WAL is truncated
// back on the committer's goroutine.
type snapshotter struct {
	dir      string
	every    uint64
	fixed    bool   // ignore the state's size
	size     uint64 // entries in the newest snapshot (or the state at start-up)
	since    uint64
	last     uint64          // index of the newest snapshot on disk
	inflight bool            // a snapshot is being copied or written
	copying  *engine.Capture // records still to copy, or nil
	encoding *engine.Capture // being encoded and written in the background, or nil
	copyStep int             // records copied per step
	copyTime time.Duration   // committer time spent copying the current one
	longest  time.Duration   // its longest single step
	done     chan snapResult
	logger   *slog.Logger
	took     prometheus.Histogram
	verified map[uint64]bool // snapshot indexes read back and found valid
	feed     *feedHub        // held subscriptions keep the WAL they still need
	wrote    map[uint64]bool // snapshot indexes this process wrote
	spared   map[uint64]bool // snapshot indexes in an unknown format, never pruned
}

// maybeStart takes a snapshot once the events since the last one reach
// every, or the number of entries the last snapshot held if that is
// larger: a snapshot costs in proportion to the state, so this keeps its
// cost per event constant as the state grows, while the WAL to replay
// stays at most about as long as the last snapshot is large. (Comparing
// with the current state's size instead never fired when every event adds
// a reference: the state grows as fast as the count.)
func (s *snapshotter) maybeStart(state *engine.State, events int) {
	s.since += uint64(events)
	if s.every == 0 || s.inflight || s.since < s.every || (!s.fixed && s.since < s.size) {
		return
	}
	start := time.Now()
	s.copying = state.CaptureStart()
	s.copyTime = time.Since(start)
	s.longest = s.copyTime
	s.since, s.size, s.inflight = 0, stateSize(state), true
	s.step(state, s.copyStep)
}

// copyReady is ready while records are still to be copied: the
// committer's loop selects on it to copy a step when it has a moment.
func (s *snapshotter) copyReady() <-chan struct{} {
	if s.copying != nil {
		return ready
	}
	return nil
}

// step copies up to n more records of the snapshot being taken; once all
// are copied, the rest goes to the background.
func (s *snapshotter) step(state *engine.State, n int) {
	if s.copying == nil {
		return
	}
	start := time.Now()
	copied, err := s.copying.Step(state, n)
	took := time.Since(start)
	s.copyTime += took
	s.longest = max(s.longest, took)
	if err != nil { // a bug: the WAL keeps everything, the next one starts afresh
		s.logger.Error("snapshot abandoned", slog.Any("err", err))
		s.copying.Abandon()
		s.copying, s.inflight = nil, false
		return
	}
	if !copied {
		return
	}
	capture, copyTime, longest := s.copying, s.copyTime, s.longest
	s.copying, s.encoding = nil, capture
	go func() {
		start := time.Now()
		chunks, err := capture.EncodeChunksPaced() // beside the requests: half a core at most
		if err == nil {
			err = wal.WriteSnapshotChunks(s.dir, capture.Index(), chunks)
		}
		s.done <- snapResult{index: capture.Index(), copyTime: copyTime, longest: longest, took: time.Since(start), err: err}
	}()
}

// beforeApply runs before the committer applies ev to state: a copy in
// progress keeps what ev changes that it has not copied yet (the records an
// expiry removes, the pre-images of wallets and codes; engine.Capture's
// BeforeApply), and hands itself to the encoder when that completes it.
func (s *snapshotter) beforeApply(state *engine.State, ev engine.Event) {
	if s.copying == nil {
		return
	}
	start := time.Now()
	err := s.copying.BeforeApply(state, ev)
	took := time.Since(start)
	s.copyTime += took
	s.longest = max(s.longest, took)
	if err != nil {
		s.logger.Error("snapshot abandoned", slog.Any("err", err))
		s.copying.Abandon()
		s.copying, s.inflight = nil, false
		return
	}
	s.step(state, 0)
}

// finishCopy copies all that is still to copy (at shutdown).
func (s *snapshotter) finishCopy(state *engine.State) {
	if s.copying != nil {
		s.step(state, math.MaxInt)
	}
}

func (s *snapshotter) finish(res snapResult, log Log) {
	s.inflight, s.encoding = false, nil
	if res.err != nil {
		s.logger.Error("snapshot failed; the WAL keeps everything", slog.Any("err", res.err))
		return
	}
	s.last = res.index
	if s.wrote == nil {
		s.wrote = make(map[uint64]bool)
	}
	s.wrote[res.index] = true
	s.took.Observe(res.took.Seconds())
	s.logger.Info("snapshot written", slog.Uint64("index", res.index), slog.Duration("took", res.took),
		slog.Duration("copy_time", res.copyTime), slog.Duration("longest_step", res.longest))
	if err := s.truncate(log); err != nil {
		s.logger.Error("wal truncation after snapshot failed", slog.Any("err", err))
	}
}

// truncate keeps the newest snapshotKeep snapshots and the WAL entries the
// oldest of them needs, and those a held feed subscription still needs.
func (s *snapshotter) truncate(log Log) error {
	if err := wal.PruneSnapshotsExcept(s.dir, snapshotKeep, s.unreadable); err != nil {
		return err
	}
	infos, err := wal.NewestSnapshots(s.dir)
	if err != nil || len(infos) < snapshotKeep {
		return err
	}
	older := infos[snapshotKeep-1]
	if !s.usable(older) {
		s.logger.Error("older snapshot unreadable: keeping the whole WAL", slog.String("path", older.Path))
		return nil
	}
	return s.feed.truncateFront(log, older.Index+1)
}

// unreadable reports whether a snapshot about to be pruned is in a format
// this binary does not know (a newer one's, left in the data dir): it is
// spared, since it may be the only copy of a state this binary cannot
// judge. Snapshots this process wrote or read back are known.
func (s *snapshotter) unreadable(info wal.SnapshotInfo) bool {
	if s.verified[info.Index] || s.wrote[info.Index] {
		return false
	}
	if s.spared[info.Index] {
		return true
	}
	snap, err := wal.ReadSnapshot(info.Path)
	if err == nil {
		err = engine.CheckSnapshotFormat(snap.Payload)
	}
	if !unknownFormat(err) {
		return false // readable, or corrupt: prune as before
	}
	if s.spared == nil {
		s.spared = make(map[uint64]bool)
	}
	s.spared[info.Index] = true
	s.logger.Warn("snapshot in an unknown format kept, not pruned", slog.String("path", info.Path), slog.Any("err", err))
	return true
}

// usable reads a snapshot back before the WAL is cut to it: the log is
// only given up for a snapshot known to load (its checksum, and a format
// this binary knows).
func (s *snapshotter) usable(info wal.SnapshotInfo) bool {
	if s.verified[info.Index] {
		return true
	}
	snap, err := wal.ReadSnapshot(info.Path)
	if err == nil {
		err = engine.CheckSnapshotFormat(snap.Payload)
	}
	if err != nil {
		return false
	}
	if s.verified == nil {
		s.verified = make(map[uint64]bool)
	}
	s.verified[info.Index] = true
	return true
}

// wait finishes a background snapshot, if one is running.
func (s *snapshotter) wait(log Log) {
	if s.encoding != nil {
		s.encoding.Hurry() // stopping: no requests to pace it for
	}
	if s.inflight {
		s.finish(<-s.done, log)
	}
}

// write takes a snapshot synchronously (clean shutdown).
func (s *snapshotter) write(state *engine.State, log Log) error {
	if state.Index == s.last {
		return nil
	}
	chunks, err := state.Capture().EncodeChunks()
	if err != nil {
		return err
	}
	start := time.Now()
	if err := wal.WriteSnapshotChunks(s.dir, state.Index, chunks); err != nil {
		return fmt.Errorf("actors: snapshot: %w", err)
	}
	s.finish(snapResult{index: state.Index, took: time.Since(start)}, log)
	return nil
}

// stateSize counts the entries a snapshot encodes: the idempotency
// records and each module's (wallets, codes: engine.State.Entries).
func stateSize(st *engine.State) uint64 {
	return uint64(st.Entries())
}
