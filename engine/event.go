package engine

import (
	"errors"
	"fmt"
)

// EventType identifies the kind of an event. Wire format: stored in the
// WAL and in snapshots. Never renumber; a module claims its numbers when it
// registers them (see the table in doc.go).
type EventType uint8

// Event is one fact in the log. Each event type is its own struct, owned
// by the module that registered its type; the engine reaches it through
// its table row (Register).
type Event interface {
	EventType() EventType
	Time() int64 // unix milliseconds, stamped by the actor that decided it
}

// Stamp is the part every event shares: when it was decided. Embed it.
type Stamp struct {
	TimeMs int64
}

// Time returns the event's time in unix milliseconds.
func (s Stamp) Time() int64 { return s.TimeMs }

// EntityKind names a kind of entity owned by one actor at a time
// (a PayShards wallet, a PayPay.cards code). Values are process-local:
// they are handed out by RegisterEntityKind and never stored.
type EntityKind uint8

// Entity names the one entity an event changes. An empty ID means every
// entity of the kind (an event that creates many at once).
type Entity struct {
	Kind EntityKind
	ID   string
}

// EventDef is a module's table row for one event type. Every function
// receives the module's own struct type E.
type EventDef[E Event] struct {
	Type   EventType
	Name   string // "payshards.deducted": module and event, for logs and errors
	Fields int    // fields after type and time, in the wire array
	// Encode writes the fields after type and time; Decode reads them.
	Encode func(w *Writer, ev E)
	Decode func(r *Reader, timeMs int64) E
	// Validate checks field ranges so that Apply's arithmetic stays in
	// bounds whatever bytes reached the decoder; the encoder runs it too.
	Validate func(ev E) error
	// Apply makes the event true in the durable state. It never fails: a
	// violated invariant panics.
	Apply func(s *State, ev E)
	// Entity names what the event changes, for the committer's load
	// protocol (nil: nothing an entity actor owns).
	Entity func(ev E) (Entity, bool)
	// Idem is the idempotency record the event leaves, if any (nil: none).
	Idem func(ev E) (IdemKey, IdemRecord, bool)
	// Auth marks events that change partners or keys: the committer
	// republishes the key table after them.
	Auth bool
}

// spec is a registered row with its functions lifted to Event.
type spec struct {
	typ      EventType
	name     string
	fields   int
	encode   func(w *Writer, ev Event)
	decode   func(r *Reader, timeMs int64) Event
	validate func(ev Event) error
	apply    func(s *State, ev Event)
	entity   func(ev Event) (Entity, bool)
	idem     func(ev Event) (IdemKey, IdemRecord, bool)
	auth     bool
}

var (
	specs       [256]*spec
	entityKinds []string
)

// ErrUnknownEventType: an event type this binary has no table row for (a
// newer binary wrote it). It is a format this binary does not know, not
// corruption: not to be skipped, cut or moved aside.
var ErrUnknownEventType = errors.New("engine: unknown event type")

// Register adds an event type to the table. Modules call it from init; a
// type registered twice, or a row without its functions, panics at start.
func Register[E Event](d EventDef[E]) {
	if specs[d.Type] != nil || d.Type == 0 {
		panic(fmt.Sprintf("engine: event type %d (%s) registered twice or zero", d.Type, d.Name))
	}
	if d.Encode == nil || d.Decode == nil || d.Validate == nil || d.Apply == nil || d.Name == "" {
		panic(fmt.Sprintf("engine: event type %d (%s) lacks a function", d.Type, d.Name))
	}
	s := &spec{typ: d.Type, name: d.Name, fields: d.Fields + 2, auth: d.Auth,
		encode:   func(w *Writer, ev Event) { d.Encode(w, ev.(E)) },
		decode:   func(r *Reader, t int64) Event { return d.Decode(r, t) },
		validate: func(ev Event) error { return d.Validate(ev.(E)) },
		apply:    func(s *State, ev Event) { d.Apply(s, ev.(E)) },
	}
	if d.Entity != nil {
		s.entity = func(ev Event) (Entity, bool) { return d.Entity(ev.(E)) }
	}
	if d.Idem != nil {
		s.idem = func(ev Event) (IdemKey, IdemRecord, bool) { return d.Idem(ev.(E)) }
	}
	specs[d.Type] = s
}

// RegisterEntityKind hands out the EntityKind for a named kind of entity
// ("wallet/payshards").
func RegisterEntityKind(name string) EntityKind {
	entityKinds = append(entityKinds, name)
	if len(entityKinds) > 255 {
		panic("engine: too many entity kinds")
	}
	return EntityKind(len(entityKinds))
}

// String is the kind's registered name.
func (k EntityKind) String() string {
	if k == 0 || int(k) > len(entityKinds) {
		return fmt.Sprintf("kind(%d)", k)
	}
	return entityKinds[k-1]
}

func lookup(t EventType) *spec {
	s := specs[t]
	if s == nil {
		panic(fmt.Sprintf("%v %d", ErrUnknownEventType, t))
	}
	return s
}

// Known reports whether t has a table row in this binary.
func Known(t EventType) bool { return specs[t] != nil }

// Name is the registered name of t ("" when unknown).
func Name(t EventType) string {
	if s := specs[t]; s != nil {
		return s.name
	}
	return ""
}

// Validate checks an event's field ranges (its table row's Validate).
func Validate(ev Event) error {
	s := specs[ev.EventType()]
	if s == nil {
		return fmt.Errorf("%w %d", ErrUnknownEventType, ev.EventType())
	}
	return s.validate(ev)
}

// EntityOf names the one entity ev changes, if it changes one.
func EntityOf(ev Event) (Entity, bool) {
	if s := lookup(ev.EventType()); s.entity != nil {
		return s.entity(ev)
	}
	return Entity{}, false
}

// ChangesAuth reports whether ev changes partners or keys.
func ChangesAuth(ev Event) bool { return lookup(ev.EventType()).auth }

// IdemOf is the idempotency record ev leaves behind, if any.
func IdemOf(ev Event) (IdemKey, IdemRecord, bool) {
	if s := lookup(ev.EventType()); s.idem != nil {
		return s.idem(ev)
	}
	return IdemKey{}, IdemRecord{}, false
}

// Invariant is the panic text of a broken invariant: what held, which
// event broke it, and a value that shows how.
func Invariant(what string, ev Event, got int64) string {
	return fmt.Sprintf("engine: invariant %q violated by %s %#v (value %d)", what, Name(ev.EventType()), ev, got)
}

// SetTime stamps an event that is decided outside an actor's Decide (an
// operator command, stamped when the directory admits it).
func (s *Stamp) SetTime(ms int64) { s.TimeMs = ms }
