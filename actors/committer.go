package actors

import (
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// Log is what the committer needs of the write-ahead log: one call appends
// a batch with a single fsync and returns the index of its last entry.
type Log interface {
	Append(payloads ...[]byte) (uint64, error)
	TruncateFront(index uint64) error
}

type itemKind uint8

const (
	itemEvent    itemKind = iota // make ev durable, apply it, then signal op/admin
	itemBarrier                  // signal op once everything before it is durable
	itemLoad                     // send a wallet actor its durable state
	itemLoadCard                 // send a code actor its durable state
	itemFunc                     // run fn against the durable state (tests, verify)
	itemStop                     // finish the batch, snapshot, stop
)

// item is one entry of the committer's queue.
type item struct {
	kind   itemKind
	ev     engine.Event
	op     *Op
	admin  *adminCmd
	wallet *entry // pending-event counter of the emitting actor
	user   string // entity id of a load
	pid    *actor.PID
	fn     func(*engine.State)
}

// notice tells an idempotency shard that a reference's outcome is durable.
type notice struct {
	key     engine.IdemKey
	rec     engine.IdemRecord
	expired bool // the record left the retention window: forget it
}

type shardCommitted struct{ notices []notice }

// walletState is the committer's answer to a wallet actor's load request.
type walletState struct{ w *engine.Wallet }

// CommitStats are cumulative committer counters.
type CommitStats struct {
	Batches uint64 // WAL appends (one fsync each)
	Events  uint64 // events made durable
}

// committer owns the engine's durable state and the WAL's write end.
type committer struct {
	sys      *System
	in       chan item
	log      Log
	state    *engine.State
	enc      *engine.Encoder
	maxBatch int
	batch    []item
	events   []*engine.Event
	notices  [][]notice
	snaps    *snapshotter
	stopped  chan struct{}
	batches  atomic.Uint64
	applied  atomic.Uint64
	onCommit []func(index uint64, events []*engine.Event)
}

func newCommitter(sys *System, log Log, state *engine.State, snaps *snapshotter) *committer {
	return &committer{
		sys: sys, log: log, state: state, snaps: snaps,
		in:       make(chan item, sys.cfg.QueueMax),
		enc:      engine.NewEncoder(),
		maxBatch: sys.cfg.BatchMax,
		notices:  make([][]notice, len(sys.shards)),
		stopped:  make(chan struct{}),
	}
}

func (c *committer) run() {
	defer close(c.stopped)
	expiry := time.NewTicker(c.sys.cfg.ExpiryEvery)
	defer expiry.Stop()
	for {
		select {
		case it := <-c.in:
			if stop := c.collect(it); stop {
				c.shutdown()
				return
			}
		case res := <-c.snaps.done:
			c.snaps.finish(res, c.log)
		case <-expiry.C:
			c.expire()
		}
	}
}

// expire commits the event that forgets idempotency records older than
// the retention window. The committer stamps the time; Apply does not.
func (c *committer) expire() {
	now := c.sys.cfg.Now()
	c.batch = c.batch[:0]
	for _, e := range []struct {
		typ    engine.EventType
		window time.Duration
	}{
		{engine.EvIdemExpired, c.sys.cfg.IdemRetention},
		{engine.EvKeysExpired, c.sys.cfg.KeyRetention},
		{engine.EvAttemptsExpired, c.sys.cfg.AttemptRetention},
	} {
		cutoff := max(now.Add(-e.window).UnixMilli(), 0)
		c.batch = append(c.batch, item{kind: itemEvent, ev: engine.Event{Type: e.typ, TimeMs: now.UnixMilli(), Amount: cutoff}})
	}
	c.commit()
}

// collect drains what is queued (up to maxBatch) behind first and commits
// it; it reports whether a stop item was reached.
func (c *committer) collect(first item) bool {
	c.batch = append(c.batch[:0], first)
	stop := first.kind == itemStop
	for !stop && len(c.batch) < c.maxBatch {
		select {
		case it := <-c.in:
			c.batch = append(c.batch, it)
			stop = it.kind == itemStop
		default:
			c.commit()
			return false
		}
	}
	c.commit()
	return stop
}

// commit writes the batch's events with one append, applies them in log
// order, and only then answers everyone who waits on the batch.
func (c *committer) commit() {
	c.events = c.events[:0]
	for i := range c.batch {
		if c.batch[i].kind == itemEvent {
			c.events = append(c.events, &c.batch[i].ev)
		}
	}
	if len(c.events) > 0 {
		c.write()
	}
	partnersChanged := false
	for i := range c.batch {
		partnersChanged = c.apply(&c.batch[i]) || partnersChanged
	}
	if partnersChanged {
		c.sys.publishAuth(c.state)
	}
	c.sendNotices()
	for i := range c.batch {
		c.answer(&c.batch[i])
		c.batch[i] = item{}
	}
	if len(c.events) > 0 {
		for _, fn := range c.onCommit {
			fn(c.state.Index, c.events)
		}
		c.snaps.maybeStart(c.state, len(c.events))
	}
}

func (c *committer) write() {
	payload, err := c.enc.EncodeBatch(c.events)
	if err != nil {
		c.sys.fatal(fmt.Errorf("actors: encode batch: %w", err))
	}
	start := time.Now()
	index, err := c.log.Append(payload)
	if err != nil {
		c.sys.fatal(fmt.Errorf("actors: wal append: %w", err))
	}
	c.sys.metrics.observeAppend(time.Since(start), len(c.events))
	c.state.Index = index
	c.batches.Add(1)
	c.applied.Add(uint64(len(c.events)))
}

// apply makes a durable event part of the engine state; it reports whether
// the partner table changed.
func (c *committer) apply(it *item) bool {
	if it.kind != itemEvent {
		return false
	}
	ev := &it.ev
	c.state.Apply(ev)
	if it.wallet != nil {
		it.wallet.pending.Add(-1)
	}
	if k := engine.KeyOf(ev); k.Op != 0 {
		s := c.sys.shardIndex(k)
		c.notices[s] = append(c.notices[s], notice{key: k, rec: engine.RecordOf(ev)})
	}
	if ev.Type == engine.EvIdemExpired || ev.Type == engine.EvKeysExpired {
		for _, k := range c.state.Expired {
			s := c.sys.shardIndex(k)
			c.notices[s] = append(c.notices[s], notice{key: k, expired: true})
		}
	}
	switch ev.Type {
	case engine.EvPartnerCreated, engine.EvPartnerStatus, engine.EvKeyAdded, engine.EvKeyRevoked, engine.EvPartnerRateLimit:
		return true
	}
	return false
}

func (c *committer) sendNotices() {
	for s, ns := range c.notices {
		if len(ns) == 0 {
			continue
		}
		// the shard keeps the message: hand it an exact-size copy and
		// reuse the committer's buffer
		c.sys.root.Send(c.sys.shards[s], &shardCommitted{notices: append([]notice(nil), ns...)})
		c.notices[s] = ns[:0]
	}
}

// answer signals whoever waits on a committed item.
func (c *committer) answer(it *item) {
	switch it.kind {
	case itemEvent, itemBarrier:
		if it.op != nil {
			it.op.reply()
		}
		if it.admin != nil {
			it.admin.finish(c.state)
		}
	case itemLoad:
		var w *engine.Wallet
		if d := c.state.Wallets[it.user]; d != nil {
			w = d.Clone()
		}
		c.sys.root.Send(it.pid, &walletState{w: w})
	case itemLoadCard:
		var card *engine.Card
		if d := c.state.Cards[it.user]; d != nil {
			cp := *d
			card = &cp
		}
		c.sys.root.Send(it.pid, &cardState{card: card})
	case itemFunc:
		it.fn(c.state)
	}
}

func (c *committer) shutdown() {
	c.snaps.wait(c.log)
	if err := c.snaps.write(c.state, c.log); err != nil {
		c.sys.logger.Error("final snapshot failed", slog.Any("err", err))
	}
}

// stats returns the committer's counters.
func (c *committer) stats() CommitStats {
	return CommitStats{Batches: c.batches.Load(), Events: c.applied.Load()}
}
