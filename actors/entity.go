package actors

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// EntityDef drives one kind of entity actor (a PayShards wallet, a
// PayPay.cards code): the committer loads its durable state with Load, and
// the actor runs Handle on every Op, one at a time, against its working
// state. A module registers its kinds with RegisterEntity; the actor, its
// registry, loading and retirement are shared.
type EntityDef struct {
	Kind engine.EntityKind
	// Ops are the Op kinds this entity kind owns; ID names the entity an
	// Op is for.
	Ops []Kind
	ID  func(op *Op) string
	// Load copies an entity's durable state for a new actor (nil when it
	// does not exist). It runs on the committer's goroutine.
	Load Loader
	// Handle decides op against e.State and answers it (Emit, ReadDurable,
	// Finish). It must not block.
	Handle func(e *Entity, op *Op)
	// Resident actors of existing entities stay until the sweeper finds
	// them idle (wallets: read and written often); the others retire as
	// soon as nothing is queued for them (codes: used once or twice).
	Resident bool
	// Inline kinds are decided by the committer, on its goroutine,
	// against the durable state, while the registry holds the id for the
	// Op (System.toOwner, committer.decide): no actor is spawned for an
	// entity used once or twice (codes), and no load crosses the queue.
	// Ops that arrive for the id meanwhile wait for an actor, as behind a
	// Fresh Op. Handle must then be cheap: it runs between batches.
	Inline bool
	// Clone copies a working state for inspection (nil stays nil).
	Clone func(state any) any
}

var entityDefs = map[engine.EntityKind]*EntityDef{}

// RegisterEntity adds an entity kind. Modules call it from init.
func RegisterEntity(d EntityDef) {
	if _, dup := entityDefs[d.Kind]; dup || d.Load == nil || d.Handle == nil || d.ID == nil {
		panic(fmt.Sprintf("actors: entity kind %v registered twice or incomplete", d.Kind))
	}
	entityDefs[d.Kind] = &d
}

// Entity is what a module's Handle sees: the entity's id and working
// state, and the ways to answer.
type Entity struct {
	sys   *System
	id    string
	entry *entry
	// State is the working state: the durable state plus every event this
	// actor emitted. nil while the entity does not exist.
	State  any
	reload func(op *Op) bool
	fresh  bool   // a Fresh Op decided without an actor (System.toOwner)
	batch  *batch // an Inline kind's Op decided by the committer into this batch (committer.decide)
}

// noReload is Reload where no actor holds the working state: Handle
// decides on the state it was given.
func noReload(*Op) bool { return false }

// ID is the entity's id (the user id, the code).
func (e *Entity) ID() string { return e.id }

// NowMs is the System clock in unix milliseconds.
func (e *Entity) NowMs() int64 { return e.sys.cfg.Now().UnixMilli() }

// Emit hands a decided event to the committer; op (which may be nil) is
// answered once the event is durable. The caller has already applied ev
// to State and set op's result fields.
func (e *Entity) Emit(ev engine.Event, op *Op) {
	e.entry.pending.Add(1)
	e.queue(item{kind: itemEvent, ev: ev, op: op, wallet: e.entry, fresh: e.fresh})
}

// queue hands it to the committer: into the batch being gathered when
// the committer itself decides (Inline), else through its queue.
func (e *Entity) queue(it item) {
	if e.batch != nil {
		e.sys.committer.add(e.batch, it)
		return
	}
	e.sys.committer.in <- it
}

// barrier answers op (its result fields already set) once everything
// queued before it is durable.
func (e *Entity) barrier(op *Op) { e.queue(item{kind: itemBarrier, op: op}) }

// ReadDurable answers op (its result fields already set) once every event
// this actor emitted is durable: at once when none is pending, else behind
// them in the committer's queue. Reads never see what a crash could undo.
func (e *Entity) ReadDurable(op *Op) {
	if e.entry.pending.Load() == 0 {
		op.reply()
		return
	}
	e.barrier(op)
}

// Reload hands op back to Handle once the entity's durable state has been
// loaded again, behind every event this actor emitted. It is for entities
// whose state other actors' events also change, only ever upwards (a
// PAYchat partner's balance, credited by payments its payers' actors
// decide): the working state is then a lower bound of the durable one, and
// a refusal is decided against the durable state. Ops that arrive meanwhile
// wait, in order, behind op. It reports false, and does nothing, when op
// was already reloaded once: Handle then decides on what it has.
func (e *Entity) Reload(op *Op) bool { return e.reload(op) }

// Release answers an Op whose command produced no event, freeing its
// reference for a later request.
func (e *Entity) Release(op *Op, st Status) { e.sys.releaseReference(op, st) }

// entityActor is the one actor type behind every entity kind.
type entityActor struct {
	def  *EntityDef
	reg  *registry
	self *actor.PID
	Entity
	loading
}

// inspect asks an entity actor for a copy of its working state.
type inspect struct{ reply chan any }

func (a *entityActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.self = ctx.Self()
		a.load()
	case *loaded:
		a.State = m.state
		for _, op := range a.release() {
			a.handle(op)
		}
		a.maybeRetire(ctx)
	case *Op:
		if a.hold(m) {
			return
		}
		a.handle(m)
		a.maybeRetire(ctx)
	case *passivate:
		if a.reg.retire(a.id, a.entry) {
			ctx.Stop(ctx.Self()) // the state lives on in the engine
		}
	case *inspect:
		if a.State == nil || a.def.Clone == nil {
			m.reply <- a.State
		} else {
			m.reply <- a.def.Clone(a.State)
		}
	}
}

func (a *entityActor) load() {
	a.sys.committer.in <- item{kind: itemLoad, entity: engine.Entity{Kind: a.def.Kind, ID: a.id}, pid: a.self}
}

// reloadOp is Entity.Reload: op is handled again (its inflight count with
// it) once the new load arrives, before anything queued after it.
func (a *entityActor) reloadOp(op *Op) bool {
	if op.reloaded {
		return false
	}
	op.reloaded = true
	a.entry.inflight.Add(1)
	a.loaded = false
	a.stash = append(a.stash, op)
	a.load()
	return true
}

func (a *entityActor) handle(op *Op) {
	defer a.entry.inflight.Add(-1)
	a.def.Handle(&a.Entity, op)
}

// maybeRetire stops the actor when its kind does not stay resident, or
// when its entity does not exist (requests for unknown users leave
// nothing behind).
func (a *entityActor) maybeRetire(ctx actor.Context) {
	if (!a.def.Resident || a.State == nil) && a.reg.retire(a.id, a.entry) {
		ctx.Stop(ctx.Self())
	}
}

// kindOf maps each Op kind to the entity kind that owns it.
func (s *System) initEntities() {
	s.entities = make(map[engine.EntityKind]*registry, len(entityDefs))
	s.owners = make(map[Kind]*EntityDef)
	for kind, def := range entityDefs {
		reg := &registry{}
		reg.init(s.cfg.InflightMax, func(id string, e *entry) *actor.PID {
			p := s.props(func() actor.Actor {
				a := &entityActor{def: def, reg: reg, Entity: Entity{sys: s, id: id, entry: e}}
				a.Entity.reload = a.reloadOp
				return a
			})
			return s.root.SpawnPrefix(p, kind.String()+"/"+id+"/")
		})
		s.entities[kind] = reg
		for _, k := range def.Ops {
			s.owners[k] = def
		}
	}
}
