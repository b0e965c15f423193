package actors

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// Log is what the committer needs of the write-ahead log: one call appends
// a batch with a single fsync and returns the index of its last entry;
// DropBefore lets go of what the snapshots cover (wal.Log.DropBefore).
type Log interface {
	Append(payloads ...[]byte) (uint64, error)
	DropBefore(index uint64) error
}

type itemKind uint8

const (
	itemEvent   itemKind = iota // make ev durable, apply it, then signal op/admin
	itemBarrier                 // signal op once everything before it is durable
	itemLoad                    // send an entity actor its durable state
	itemFunc                    // run fn against the durable state (tests, verify)
	itemDecide                  // decide op (an Inline kind's) against its entity's durable state
	itemStop                    // finish the batch, snapshot, stop
)

// item is one entry of the committer's queue.
type item struct {
	kind   itemKind
	ev     engine.Event
	op     *Op
	admin  *adminCmd
	wallet *entry        // pending-event counter of the emitting actor
	entity engine.Entity // what a load asks for
	pid    *actor.PID
	fn     func(*engine.State)
	quiet  bool // itemFunc: run with no batch being written (readQuiet)
	fresh  bool // itemEvent: decided on no state without an actor (Op.Fresh); refused if its entity has one
	// committed is closed once the event is durable and applied (Commit).
	committed chan struct{}
}

// noticesKeep is the capacity of a notices buffer kept between batches.
const noticesKeep = 4096

// notice tells an idempotency shard that a reference's outcome is durable.
type notice struct {
	key engine.IdemKey
	rec engine.IdemRecord
}

// loaded is the committer's answer to an entity actor's load request:
// a copy of the entity's durable state (nil: none), from its kind's loader.
type loaded struct{ state any }

// Loader copies one entity's durable state for its new actor (nil when the
// entity does not exist). It runs on the committer's goroutine.
type Loader func(st *engine.State, id string) any

// CommitStats are cumulative committer counters.
type CommitStats struct {
	Batches uint64 // WAL appends (one fsync each)
	Events  uint64 // events made durable
	Refused uint64 // Fresh events refused before the log: their entity had a state after all
}

// committer owns the engine's durable state and the WAL's write end.
//
// It is a two-stage pipeline. The committer's goroutine gathers a batch,
// encodes it and hands it to the writer goroutine, which appends it with
// one write and one fsync. While that fsync runs, the committer gathers the
// next batch and, when the write returns, dispatches that one at once and
// only then applies the finished batch to the engine state and answers
// everyone who waited on it. One batch is in flight at a time, so batches
// reach the log and the state in the same order, and nobody hears of an
// event before the fsync that holds it returned.
type committer struct {
	sys      *System
	in       chan item
	log      Log
	state    *engine.State
	maxBatch int
	notices  []notice                // references the batch being finished made durable
	busy     map[engine.Entity]int32 // events gathered and not yet applied, per entity (ID "": the whole kind)
	snaps    *snapshotter
	stopped  chan struct{}
	batches  atomic.Uint64
	applied  atomic.Uint64
	refused  atomic.Uint64
	redo     []item // decides that waited for a batch touching their entity (decide)

	toWrite chan *batch // committer -> writer
	written chan *batch // writer -> committer
}

// batch is a group of items committed together; two of them alternate.
type batch struct {
	items   []item
	events  []engine.Event
	enc     *engine.Encoder
	payload []byte
	index   uint64        // WAL index of the entry, set by the writer
	took    time.Duration // append + fsync
}

func (b *batch) hasEvents() bool {
	for i := range b.items {
		if b.items[i].kind == itemEvent {
			return true
		}
	}
	return false
}

// quiet reports whether b runs a function that must see no write in flight.
func (b *batch) quiet() bool {
	for i := range b.items {
		if b.items[i].kind == itemFunc && b.items[i].quiet {
			return true
		}
	}
	return false
}

func (b *batch) reset() {
	clear(b.items)
	b.items, b.events, b.payload = b.items[:0], b.events[:0], nil
}

func newCommitter(sys *System, log Log, state *engine.State, snaps *snapshotter) *committer {
	return &committer{
		sys: sys, log: log, state: state, snaps: snaps,
		in:       make(chan item, sys.cfg.QueueMax),
		maxBatch: sys.cfg.BatchMax,
		busy:     make(map[engine.Entity]int32),
		stopped:  make(chan struct{}),
		toWrite:  make(chan *batch),
		written:  make(chan *batch),
	}
}

func (c *committer) run() {
	defer close(c.stopped)
	go c.writer()
	defer close(c.toWrite)
	expiry := time.NewTicker(c.sys.cfg.ExpiryEvery)
	defer expiry.Stop()
	cur, spare := &batch{enc: engine.NewEncoder()}, &batch{enc: engine.NewEncoder()}
	var flight *batch
	stopping := false
	for {
		c.redecide(cur)
		if flight == nil && len(cur.items) > 0 {
			if cur.hasEvents() {
				c.dispatch(cur)
				flight, cur, spare = cur, spare, nil
			} else {
				c.finish(cur) // loads, barriers, reads: everything before them is applied
				cur.reset()
				continue // it may have readied decides
			}
		}
		if stopping && flight == nil && len(cur.items) == 0 {
			c.shutdown()
			return
		}
		in := c.in
		if stopping || len(cur.items) >= c.maxBatch {
			in = nil // backpressure: the queue fills and the actors wait
		}
		select {
		case it := <-in:
			stopping = c.gather(cur, it)
		case b := <-c.written:
			flight = nil
			// Keep the disk busy: dispatch before applying, unless b runs
			// a quiet function (readQuiet): that one sees the log and the
			// state equal, with nothing written beyond what it applied.
			if cur.hasEvents() && !b.quiet() {
				c.dispatch(cur)
				flight, cur = cur, nil
			}
			c.finish(b)
			b.reset()
			if cur == nil {
				cur = b
			} else {
				spare = b
			}
		case res := <-c.snaps.done:
			c.snaps.finish(res, c.log)
		case <-c.snaps.copyReady():
			c.snaps.step(c.state, c.snaps.copyStep)
			// copyReady never blocks, so while a copy lasts the committer
			// would keep its P from step to batch to step, and the
			// handlers its answers readied would wait for the other P or
			// a preemption: in an execution trace of payshards-deduct it
			// ran 15.8 ms without a break during a 58-ms copy. Let them
			// run between steps.
			runtime.Gosched()
		case <-expiry.C:
			c.expire(cur)
		}
	}
}

// gather adds it and whatever else is queued (up to maxBatch) to b; it
// reports whether a stop item was reached (it and what follows stay out).
// A load for an entity with no event gathered or in flight is answered at
// once instead: the durable state already holds everything that entity's
// earlier actors emitted, and the batches ahead do not touch it.
func (c *committer) gather(b *batch, it item) bool {
	for {
		switch {
		case it.kind == itemStop:
			return true
		case c.loadNow(&it):
			c.answer(&it)
		case it.fresh && c.taken(it.ev):
			c.refuse(&it)
		case it.kind == itemDecide:
			c.decide(b, it)
		default:
			c.add(b, it)
		}
		if len(b.items) >= c.maxBatch {
			return false
		}
		select {
		case it = <-c.in:
		default:
			return false
		}
	}
}

// add appends it to b, counting an event in (track).
func (c *committer) add(b *batch, it item) {
	if it.kind == itemEvent {
		c.track(it.ev, 1)
	}
	b.items = append(b.items, it)
}

// decide runs an Inline kind's Handle on op here, against its entity's
// durable state, with what it emits added to b. The registry holds the
// id for op (claim), so no actor decides on it meanwhile. When events
// that change the entity are gathered or in flight, the durable state is
// not yet the one to decide on: op waits in b and is decided again once
// b is applied (answer, redecide), as an actor's load would wait.
func (c *committer) decide(b *batch, it item) {
	if c.unapplied(it.entity) {
		b.items = append(b.items, it)
		return
	}
	def := entityDefs[it.entity.Kind]
	e := Entity{sys: c.sys, id: it.entity.ID, entry: it.wallet, State: def.Load(c.state, it.entity.ID), reload: noReload, batch: b}
	c.sys.handleOutside(def, &e, it.op)
}

// redecide decides, into b, the Ops whose batch was applied.
func (c *committer) redecide(b *batch) {
	if len(c.redo) == 0 {
		return
	}
	redo := c.redo
	c.redo = nil
	for _, it := range redo {
		c.decide(b, it)
	}
}

// dispatch encodes b and hands it to the writer.
func (c *committer) dispatch(b *batch) {
	for i := range b.items {
		if b.items[i].kind == itemEvent {
			b.events = append(b.events, b.items[i].ev)
		}
	}
	payload, err := b.enc.EncodeBatch(b.events)
	if err != nil {
		c.sys.fatal(fmt.Errorf("actors: encode batch: %w", err))
	}
	b.payload = payload
	c.toWrite <- b
}

// writer appends each batch with one write and one fsync. A failed write
// stops the process: the batch's waiters are never answered.
func (c *committer) writer() {
	for b := range c.toWrite {
		start := time.Now()
		index, err := c.log.Append(b.payload)
		if err != nil {
			c.sys.fatal(fmt.Errorf("actors: wal append: %w", err))
		}
		b.index, b.took = index, time.Since(start)
		c.written <- b
	}
}

// expire adds the events that forget records older than their retention
// windows. The committer stamps the time; Apply does not.
func (c *committer) expire(b *batch) {
	now := c.sys.cfg.Now()
	for _, e := range engine.Expiries() {
		cutoff := max(now.Add(-c.sys.cfg.retention(e)).UnixMilli(), 0)
		b.items = append(b.items, item{kind: itemEvent, ev: e.Event(now.UnixMilli(), cutoff)})
	}
}

// finish applies a durable batch in log order, and only then answers
// everyone who waits on it.
func (c *committer) finish(b *batch) {
	if len(b.events) > 0 {
		c.state.Index = b.index
		c.sys.metrics.observeAppend(b.took, len(b.events))
		c.batches.Add(1)
		c.applied.Add(uint64(len(b.events)))
	}
	partnersChanged := false
	for i := 0; i < len(b.items); i += applyChunk {
		// One write lock per chunk of events, not per event: every
		// unlock wakes the shards' readers that queued behind it. A chunk
		// bounds how long a shard's lookup can wait (~applyChunk applies).
		chunk := b.items[i:min(i+applyChunk, len(b.items))]
		c.sys.idem.mu.Lock() // the shards read the records (State.Record)
		for j := range chunk {
			partnersChanged = c.apply(&chunk[j]) || partnersChanged
		}
		c.sys.idem.mu.Unlock()
	}
	if partnersChanged {
		c.sys.publishAuth(c.state)
	}
	c.sendNotices()
	for i := range b.items {
		c.answer(&b.items[i])
	}
	if len(b.events) > 0 {
		c.sys.feed.publish(c.state.Index, b.payload)
		c.snaps.maybeStart(c.state, len(b.events))
	}
}

// applyChunk is how many items finish applies under one hold of the
// idempotency records' write lock.
const applyChunk = 64

// apply makes a durable event part of the engine state; it reports whether
// the partner table changed. The caller holds c.sys.idem.mu for writing;
// apply takes no shard's lock (that would invert the shards' order).
func (c *committer) apply(it *item) bool {
	if it.kind != itemEvent {
		return false
	}
	ev := it.ev
	c.snaps.beforeApply(c.state, ev) // a snapshot's copy must not lose the records ev removes
	c.state.Apply(ev)
	c.track(ev, -1)
	if it.wallet != nil {
		it.wallet.pending.Add(-1)
	}
	if k, rec, ok := engine.IdemOf(ev); ok {
		c.notices = append(c.notices, notice{key: k, rec: rec})
	}
	if cap(c.state.Expired) > noticesKeep { // an expiry's list: do not hold its memory
		c.state.Expired = nil
	}
	return engine.ChangesAuth(ev)
}

// track counts ev in (d = 1, when gathered) or out (d = -1, when applied)
// of the events not yet in the durable state, per entity it changes. An
// event of a whole kind (ID "", e.g. issuing codes) holds back every load
// of that kind.
func (c *committer) track(ev engine.Event, d int32) {
	k, ok := engine.EntityOf(ev)
	if !ok {
		return
	}
	if n := c.busy[k] + d; n == 0 {
		delete(c.busy, k)
	} else {
		c.busy[k] = n
	}
}

// loadNow reports whether a load can be answered from the durable state as
// soon as it is gathered: nothing that changes its entity is waiting to be
// applied. Every event an entity's earlier actors emitted was queued before
// the new actor's load, so it has been gathered (and counted) already.
func (c *committer) loadNow(it *item) bool {
	if it.kind != itemLoad {
		return false
	}
	return !c.unapplied(it.entity)
}

// unapplied reports whether events that change entity k, or its whole
// kind, are gathered or in flight and not yet in the durable state.
func (c *committer) unapplied(k engine.Entity) bool {
	return c.busy[engine.Entity{Kind: k.Kind}] != 0 || c.busy[k] != 0
}

// taken reports whether a Fresh event's entity has a state: a durable
// one, or events gathered and not yet applied (a collision of random ids,
// or an actor that decided on the id meanwhile). Gathered after them, the
// event would apply to a state it was not decided on.
func (c *committer) taken(ev engine.Event) bool {
	k, ok := engine.EntityOf(ev)
	if !ok {
		return false
	}
	if c.unapplied(k) {
		return true
	}
	def := entityDefs[k.Kind]
	return def != nil && def.Load(c.state, k.ID) != nil
}

// refuse answers a taken Fresh event's Op with its Taken status; nothing
// is written and its reference is free again.
func (c *committer) refuse(it *item) {
	c.refused.Add(1)
	if it.wallet != nil {
		it.wallet.pending.Add(-1)
	}
	if it.op == nil {
		return
	}
	st := it.op.Taken
	if st == StatusOK {
		st = StatusOverloaded
	}
	c.sys.releaseReference(it.op, st)
}

// sendNotices tells the idempotency shards which references are durable,
// answering the retries that waited on them.
func (c *committer) sendNotices() {
	for _, n := range c.notices {
		c.sys.shard(n.key).committed(n.key, n.rec)
	}
	clear(c.notices)
	c.notices = c.notices[:0]
	if cap(c.notices) > noticesKeep { // a burst: do not hold its memory
		c.notices = nil
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
		if it.committed != nil {
			close(it.committed)
		}
	case itemLoad:
		c.sys.out.post(it.pid, &loaded{state: entityDefs[it.entity.Kind].Load(c.state, it.entity.ID)})
	case itemFunc:
		it.fn(c.state)
	case itemDecide: // it waited for this batch (decide)
		c.redo = append(c.redo, *it)
	}
}

func (c *committer) shutdown() {
	c.snaps.finishCopy(c.state)
	c.snaps.wait(c.log)
	if err := c.snaps.write(c.state, c.log); err != nil {
		c.sys.logger.Error("final snapshot failed", slog.Any("err", err))
	}
}

// stats returns the committer's counters.
func (c *committer) stats() CommitStats {
	return CommitStats{Batches: c.batches.Load(), Events: c.applied.Load(), Refused: c.refused.Load()}
}
