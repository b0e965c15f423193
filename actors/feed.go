package actors

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/wal"
)

// The committed-event feed: the committer hands every durable, applied
// batch (its WAL index and a copy of its encoded payload) to the feed hub
// with a non-blocking call; each Subscription has its own goroutine that
// takes the batches from the hub's ring, or from the WAL when it is behind
// the ring, decodes them and hands them out in log order.
//
// Limits (see FeedSubscribersMax and friends):
//   - the ring holds at most Config.FeedBuffer entries and FeedBufferBytes
//     bytes of payload; the oldest are dropped first, never waited for;
//   - a Subscription decodes at most FeedAhead batches ahead of its reader;
//   - a batch is one WAL entry: at most Config.BatchMax events;
//   - at most FeedSubscribersMax subscriptions at a time.
const (
	FeedSubscribersMax = 64       // subscriptions open at once
	FeedAhead          = 4        // decoded batches waiting in a Subscription's channel
	FeedBufferDefault  = 1024     // Config.FeedBuffer when zero: WAL entries kept in memory
	FeedBufferBytes    = 64 << 20 // payload bytes kept in memory at most, whatever FeedBuffer says
)

var (
	// ErrFeedTruncated means the WAL no longer holds the index a
	// subscription asked for (a snapshot let it be cut): subscribe with
	// Hold to keep it, or rebuild the consumer from a snapshot.
	ErrFeedTruncated = errors.New("actors: feed index truncated")
	// ErrFeedAhead means the index asked for is beyond the log's end.
	ErrFeedAhead = errors.New("actors: feed index beyond the log")
	// ErrFeedFull means FeedSubscribersMax subscriptions are open.
	ErrFeedFull = errors.New("actors: too many feed subscribers")
	// ErrFeedClosed ends every subscription when the System stops.
	ErrFeedClosed = errors.New("actors: feed closed")
)

// FeedBatch is one committed WAL entry: its events in log order (only
// those of FeedOptions.Types when that is set). The events are the
// subscriber's own (decoded from a private copy of the entry's bytes).
type FeedBatch struct {
	Index  uint64
	Events []engine.Event
}

// decodeFeedBatch is the one place that turns an entry's bytes into what
// the feed hands out, so the event representation can change here alone.
// payload must not be used by anyone else afterwards.
// want, when not nil, keeps only the events of the types it accepts (the
// others are skipped undecoded: engine.DecodeBatchOf).
func decodeFeedBatch(index uint64, payload []byte, want func(engine.EventType) bool) (FeedBatch, error) {
	events, err := engine.DecodeBatchOf(payload, want)
	if err != nil {
		return FeedBatch{}, fmt.Errorf("actors: feed entry %d: %w", index, err)
	}
	return FeedBatch{Index: index, Events: events}, nil
}

// FeedOptions configures a subscription.
type FeedOptions struct {
	// From is the first WAL index to deliver: the index after the last one
	// the subscriber processed. 0 starts after the newest committed entry.
	From uint64
	// Hold keeps the WAL from being truncated past what the subscriber has
	// not acknowledged (Ack), so it can resume from there after a restart.
	// A held subscription that stops reading keeps the WAL growing: close it
	// when its consumer goes away.
	Hold bool
	// Types, when not empty, are the only event types the subscriber's
	// batches hold: the others are skipped without being decoded. A batch
	// still comes for every WAL entry, maybe with no events.
	Types []engine.EventType
}

// feedReader is what the feed needs of the WAL to catch up: wal.Log
// provides it. A Config.Log without it serves only the ring.
type feedReader interface {
	FirstIndex() uint64
	NextIndex() uint64
	Replay(from uint64, fn func(index uint64, payload []byte) error) error
}

type feedEntry struct {
	index   uint64
	payload []byte // owned by the ring; never changed after publish
}

// feedHub is the committer's side of the feed.
type feedHub struct {
	wal      feedReader // nil: no catch-up from the log
	capacity int

	mu        sync.Mutex // guards the fields below
	ring      []feedEntry
	start, n  int    // the ring's oldest slot and how many are used
	bytes     int    // payload bytes in the ring
	committed uint64 // newest index published (durable and applied)
	wake      chan struct{}
	subs      map[*Subscription]struct{}
	closed    bool

	truncMu sync.Mutex     // serializes WAL truncation with subscribing
	active  atomic.Int32   // subscriptions: publish copies nothing without them
	running sync.WaitGroup // subscription goroutines
}

func newFeedHub(wal feedReader, capacity int, committed uint64, reg prometheus.Registerer) *feedHub {
	h := &feedHub{wal: wal, capacity: capacity, ring: make([]feedEntry, capacity), committed: committed,
		wake: make(chan struct{}), subs: make(map[*Subscription]struct{})}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ledgerd_feed_subscribers", Help: "Committed-event feed subscriptions open now.",
		}, func() float64 { return float64(h.active.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ledgerd_feed_lag_entries", Help: "WAL entries the furthest-behind feed subscription has yet to hand out.",
		}, func() float64 { return float64(h.maxLag()) }),
	)
	return h
}

// publish makes a durable, applied entry visible to subscribers. It runs on
// the committer's goroutine and never blocks on a subscriber: the ring
// drops its oldest entries, which lagging subscriptions read from the WAL.
func (h *feedHub) publish(index uint64, payload []byte) {
	var cp []byte
	if h.active.Load() > 0 {
		cp = append([]byte(nil), payload...)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.committed = index
	if cp != nil && len(cp) <= FeedBufferBytes {
		for h.n > 0 && (h.n == h.capacity || h.bytes+len(cp) > FeedBufferBytes) {
			h.drop()
		}
		h.ring[(h.start+h.n)%h.capacity] = feedEntry{index: index, payload: cp}
		h.n++
		h.bytes += len(cp)
	}
	close(h.wake)
	h.wake = make(chan struct{})
}

func (h *feedHub) drop() {
	h.bytes -= len(h.ring[h.start].payload)
	h.ring[h.start] = feedEntry{}
	h.start = (h.start + 1) % h.capacity
	h.n--
}

// lookup returns the ring's copy of index, if it holds it, and the wait
// channel that is closed on the next publish.
func (h *feedHub) lookup(index uint64) (payload []byte, committed uint64, wake <-chan struct{}, closed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n > 0 {
		oldest := h.ring[h.start].index
		if index >= oldest && index-oldest < uint64(h.n) {
			// Entries are consecutive unless a publish found no subscriber;
			// the slot's own index says whether it is the one.
			if e := h.ring[(h.start+int(index-oldest))%h.capacity]; e.index == index {
				payload = e.payload
			}
		}
	}
	return payload, h.committed, h.wake, h.closed
}

// holdIndex is the first WAL index a held subscription still needs
// (math.MaxUint64 without one). Called with truncMu held.
func (h *feedHub) holdIndex() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	hold := uint64(math.MaxUint64)
	for s := range h.subs {
		if s.hold {
			hold = min(hold, s.acked.Load()+1)
		}
	}
	return hold
}

// truncateFront cuts the log before index, or before the first index a held
// subscription still needs if that is lower. A nil hub holds nothing.
func (h *feedHub) truncateFront(log Log, index uint64) error {
	if h == nil {
		return log.DropBefore(index)
	}
	h.truncMu.Lock()
	defer h.truncMu.Unlock()
	return log.DropBefore(min(index, h.holdIndex()))
}

func (h *feedHub) maxLag() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	var lag uint64
	for s := range h.subs {
		if next := s.next.Load(); next <= h.committed {
			lag = max(lag, h.committed-next+1)
		}
	}
	return lag
}

// close ends every subscription and waits for their goroutines.
func (h *feedHub) close() {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		for s := range h.subs {
			s.stop()
		}
		close(h.wake)
		h.wake = make(chan struct{})
	}
	h.mu.Unlock()
	h.running.Wait()
}

// Subscribe starts a subscription to the committed-event feed. Batches
// arrive on C in log order, each WAL entry exactly once, from opts.From on;
// a subscriber that reads slowly holds up only itself. Err tells why C was
// closed. A From the WAL no longer holds is ErrFeedTruncated; one beyond the
// newest committed entry + 1 is ErrFeedAhead.
func (s *System) Subscribe(opts FeedOptions) (*Subscription, error) {
	return s.feed.subscribe(opts)
}

func (h *feedHub) subscribe(opts FeedOptions) (*Subscription, error) {
	h.truncMu.Lock() // no truncation between the check of From and the hold taking effect
	defer h.truncMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrFeedClosed
	case len(h.subs) >= FeedSubscribersMax:
		return nil, fmt.Errorf("%w: %d open", ErrFeedFull, len(h.subs))
	}
	from := opts.From
	if from == 0 {
		from = h.committed + 1
	}
	if from > h.committed+1 {
		return nil, fmt.Errorf("%w: from %d, newest committed entry %d", ErrFeedAhead, from, h.committed)
	}
	if first := h.firstIndex(); from < first {
		return nil, fmt.Errorf("%w: from %d, the log starts at %d", ErrFeedTruncated, from, first)
	}
	sub := &Subscription{hub: h, hold: opts.Hold, c: make(chan FeedBatch, FeedAhead), done: make(chan struct{})}
	if types := slices.Clone(opts.Types); len(types) > 0 {
		sub.want = func(t engine.EventType) bool { return slices.Contains(types, t) }
	}
	sub.next.Store(from)
	sub.acked.Store(from - 1)
	h.subs[sub] = struct{}{}
	h.active.Add(1)
	h.running.Add(1)
	go sub.run()
	return sub, nil
}

// firstIndex is the oldest index the feed can still serve. Called with mu
// held.
func (h *feedHub) firstIndex() uint64 {
	if h.wal == nil {
		if h.n > 0 {
			return h.ring[h.start].index
		}
		return h.committed + 1
	}
	if first := h.wal.FirstIndex(); first != 0 {
		return first
	}
	return h.wal.NextIndex() // an empty log: everything before was cut
}

// Subscription is one subscriber's view of the feed. C and Err may be used
// from any goroutine; Ack and Close too.
type Subscription struct {
	hub   *feedHub
	hold  bool
	want  func(engine.EventType) bool // FeedOptions.Types; nil: every event
	c     chan FeedBatch
	done  chan struct{}
	once  sync.Once
	next  atomic.Uint64 // next index to hand out
	acked atomic.Uint64 // newest index the subscriber acknowledged

	fromRing, fromWAL atomic.Uint64 // entries handed out from each source
	err               atomic.Pointer[error]
}

// C delivers the batches. It is closed when the subscription ends.
func (s *Subscription) C() <-chan FeedBatch { return s.c }

// Err is why C was closed: ErrFeedClosed after Close or System.Stop,
// ErrFeedTruncated if the WAL was cut before the subscription read it, or a
// decode error. nil while C is open.
func (s *Subscription) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Ack records that every entry up to and including index is processed. A
// held subscription lets the WAL be truncated up to index + 1.
func (s *Subscription) Ack(index uint64) {
	for {
		old := s.acked.Load()
		if index <= old || s.acked.CompareAndSwap(old, index) {
			return
		}
	}
}

// Close ends the subscription and waits until its goroutine has stopped.
func (s *Subscription) Close() {
	s.stop()
	for range s.c { // run closes c when it exits
	}
}

func (s *Subscription) stop() { s.once.Do(func() { close(s.done) }) }

func (s *Subscription) run() {
	h := s.hub
	err := s.deliver()
	s.err.Store(&err)
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	h.active.Add(-1)
	close(s.c)
	h.running.Done()
}

// deliver hands out entries from s.next on, from the ring when it holds
// them and from the WAL when not, until the subscription stops.
func (s *Subscription) deliver() error {
	for {
		next := s.next.Load()
		payload, committed, wake, closed := s.hub.lookup(next)
		switch {
		case closed:
			return ErrFeedClosed
		case next > committed:
			select {
			case <-wake:
			case <-s.done:
				return ErrFeedClosed
			}
		case payload != nil:
			if err := s.send(next, payload); err != nil {
				return err
			}
			s.fromRing.Add(1)
		default:
			if err := s.catchUp(next, committed); err != nil {
				return err
			}
		}
	}
}

// errRejoin stops a WAL catch-up once the ring holds the next entry.
var errRejoin = errors.New("actors: feed back on the ring")

// catchUp reads entries from the WAL, from index through at most
// committed, until the ring holds the next one.
func (s *Subscription) catchUp(from, committed uint64) error {
	w := s.hub.wal
	if w == nil {
		return fmt.Errorf("%w: entry %d is no longer buffered and the log cannot be read", ErrFeedTruncated, from)
	}
	err := w.Replay(from, func(index uint64, payload []byte) error {
		if index > committed {
			return errRejoin
		}
		if err := s.send(index, append([]byte(nil), payload...)); err != nil {
			return err
		}
		s.fromWAL.Add(1)
		if p, _, _, _ := s.hub.lookup(index + 1); p != nil {
			return errRejoin
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errRejoin):
		return nil
	case errors.Is(err, ErrFeedClosed):
		return err
	}
	if s.next.Load() < s.hub.oldest() {
		return fmt.Errorf("%w: entry %d: %w", ErrFeedTruncated, s.next.Load(), err)
	}
	return fmt.Errorf("actors: feed read at %d: %w", s.next.Load(), err)
}

// oldest is firstIndex, taking mu.
func (h *feedHub) oldest() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.firstIndex()
}

// send decodes one entry and hands it to the subscriber.
func (s *Subscription) send(index uint64, payload []byte) error {
	batch, err := decodeFeedBatch(index, payload, s.want)
	if err != nil {
		return err
	}
	select {
	case s.c <- batch:
		s.next.Store(index + 1)
		return nil
	case <-s.done:
		return ErrFeedClosed
	}
}

// feedSource is the WAL the feed catches up from: the System's own, or a
// Config.Log that can be read back.
func feedSource(own *wal.Log, log Log) feedReader {
	if own != nil {
		return own
	}
	if r, ok := log.(feedReader); ok {
		return r
	}
	return nil
}
