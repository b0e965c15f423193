package actors

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// entry is the registry's handle on a live entity actor. inflight
// counts Ops sent and not yet processed (bounded: admission control);
// pending counts events the actor emitted that are not yet durable.
type entry struct {
	pid   *actor.PID
	ready chan struct{} // closed once pid is set
	// claimed: a Fresh Op holds the id and no actor exists yet; held are
	// the messages sent meanwhile, for the actor that starts when the Op
	// is answered (claim.settle). Both under the stripe lock.
	claimed  bool
	held     []any
	inflight atomic.Int32
	pending  atomic.Int64
	lastUsed atomic.Int64 // registry clock (unix seconds) of the last send
}

const registryStripes = 256

// registry maps entity ids (user ids, redeem codes) to live actors,
// spawning on first use.
// Its mutexes guard the map of PIDs, never ledger state: sends happen under
// the stripe lock so that a retiring actor can know nothing is on its way.
type registry struct {
	count       atomic.Int64 // live actors
	clock       atomic.Int64 // unix seconds, advanced by the sweeper: no clock read per send
	seed        maphash.Seed
	inflightMax int32
	spawn       func(user string, e *entry) *actor.PID
	stripes     [registryStripes]stripe
}

type stripe = struct {
	mu   sync.Mutex
	m    map[string]*entry
	peak int // most entries since m was last rebuilt
}

// stripe is the part of the registry that holds id.
func (r *registry) stripe(id string) *stripe {
	return &r.stripes[maphash.String(r.seed, id)%registryStripes]
}

func (r *registry) init(inflightMax int32, spawn func(string, *entry) *actor.PID) {
	r.seed, r.inflightMax, r.spawn = maphash.MakeSeed(), inflightMax, spawn
	for i := range r.stripes {
		r.stripes[i].m = make(map[string]*entry)
	}
}

// send delivers msg to the entity's actor; false means too many messages
// are already queued for it.
func (r *registry) send(root *actor.RootContext, id string, msg any) bool {
	st := r.stripe(id)
	st.mu.Lock()
	e := st.m[id]
	spawn := e == nil
	if spawn {
		e = &entry{ready: make(chan struct{})}
		st.m[id] = e
		st.peak = max(st.peak, len(st.m))
		r.count.Add(1)
	}
	if e.inflight.Load() >= r.inflightMax {
		st.mu.Unlock()
		return false
	}
	e.inflight.Add(1)
	e.lastUsed.Store(r.clock.Load())
	if e.claimed { // an id being created: its actor starts once that is answered
		e.held = append(e.held, msg)
		st.mu.Unlock()
		return true
	}
	st.mu.Unlock()
	// Spawned and sent outside the lock: with inline dispatch the actor
	// may run on this goroutine and retire, which takes the lock. inflight,
	// raised under the lock, keeps it from retiring before this message is
	// processed; other senders wait until the actor exists.
	if spawn {
		e.pid = r.spawn(id, e)
		close(e.ready)
	}
	<-e.ready
	root.Send(e.pid, msg)
	return true
}

// claim is a Fresh Op's hold on its id (Op.Fresh, System.toOwner).
type claim struct {
	reg *registry
	id  string
	e   *entry
}

// claim holds id for a Fresh Op, decided without an actor; nil when the id
// has an actor (or a claim) already: the Op then goes to it as any other.
// Messages sent to id while it is held wait in the entry (send).
func (r *registry) claim(id string) *claim {
	st := r.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m[id] != nil {
		return nil
	}
	e := &entry{ready: make(chan struct{}), claimed: true}
	e.inflight.Store(1) // the Fresh Op: nothing retires or passivates the entry meanwhile
	e.lastUsed.Store(r.clock.Load())
	st.m[id] = e
	st.peak = max(st.peak, len(st.m))
	return &claim{reg: r, id: id, e: e}
}

// settle gives back a claim once its Op is answered (durable, or refused
// before the log). With nothing sent to the id meanwhile the entry goes;
// else an actor starts and gets what was held, in order. It loads through
// the committer's queue, behind the Op's event, so it starts from a state
// that holds it.
func (c *claim) settle(root *actor.RootContext) {
	r, e := c.reg, c.e
	st := r.stripe(c.id)
	st.mu.Lock()
	e.claimed = false
	held := e.held
	e.held = nil
	e.inflight.Add(-1)
	if len(held) == 0 {
		delete(st.m, c.id)
		st.mu.Unlock()
		return
	}
	r.count.Add(1)
	st.mu.Unlock()
	// As in send: spawned and sent outside the lock. Senders that come
	// now wait for ready, so they queue behind what was held.
	e.pid = r.spawn(c.id, e)
	for _, msg := range held {
		root.Send(e.pid, msg)
	}
	close(e.ready)
}

// retire removes e if nothing is on its way to it; the caller then stops.
// A new actor for the same id may start at once: it asks the committer for
// its state through the committer's queue, behind every event the retired
// one emitted, so it starts from a state that includes them.
func (r *registry) retire(id string, e *entry) bool {
	st := r.stripe(id)
	st.mu.Lock()
	defer st.mu.Unlock()
	if e.inflight.Load() != 0 || st.m[id] != e {
		return false
	}
	delete(st.m, id)
	r.count.Add(-1)
	return true
}

// live calls fn for every live actor (tests and diagnostics), outside the
// stripe locks: fn may send to the actor, which may run inline.
func (r *registry) live(fn func(id string, e *entry)) {
	type liveEntry struct {
		id string
		e  *entry
	}
	var all []liveEntry
	for i := range r.stripes {
		st := &r.stripes[i]
		st.mu.Lock()
		for id, e := range st.m {
			if !e.claimed { // no actor yet
				all = append(all, liveEntry{id, e})
			}
		}
		st.mu.Unlock()
	}
	for _, l := range all {
		fn(l.id, l.e)
	}
}

// passivate asks an idle actor to retire; it does so only if nothing was
// sent to it since (retire checks that under the stripe lock).
type passivate struct{}

// shrinkMin is the size below which a map is not rebuilt to give memory back.
const shrinkMin = 1024

// sweep sends passivate to every actor that has nothing queued and was
// last sent a message before idleBefore (registry clock seconds).
func (r *registry) sweep(root *actor.RootContext, idleBefore int64) (asked int) {
	var idle []*actor.PID
	for i := range r.stripes {
		st := &r.stripes[i]
		st.mu.Lock()
		for _, e := range st.m {
			if e.inflight.Load() == 0 && e.lastUsed.Load() < idleBefore {
				idle = append(idle, e.pid)
			}
		}
		if st.peak > shrinkMin && len(st.m) < st.peak/4 { // Go maps keep their size after deletes
			st.m, st.peak = engine.CompactMap(st.m), len(st.m)
		}
		st.mu.Unlock()
		for _, pid := range idle { // outside the lock: retiring takes it
			root.Send(pid, &passivate{})
		}
		asked += len(idle)
		idle = idle[:0]
	}
	return asked
}

// loading holds an entity actor's Ops until its durable state arrives from
// the committer (the first message after Started).
type loading struct {
	loaded bool
	stash  []*Op
}

// hold keeps op for later and reports true while the state is not loaded.
func (l *loading) hold(op *Op) bool {
	if l.loaded {
		return false
	}
	l.stash = append(l.stash, op)
	return true
}

// release marks the state loaded and returns the Ops that waited, in order.
func (l *loading) release() []*Op {
	l.loaded = true
	held := l.stash
	l.stash = nil
	return held
}
