package engine

import (
	"iter"
	"maps"
	"math"
	"runtime"
)

// MapCopy is a SectionCopy of a map of entities a module changes in place
// (wallets, codes): it reads the live map a few entries per Step, and
// before an event changes one of its entities (the event's EntityOf, of
// the copy's kind) it keeps that entity's pre-image, so that what it
// copies is the map as it was when the copy started, however the map
// changes while it reads.
//
// An entity the iterator reaches after an event changed it is taken from
// the pre-image instead; one created after the start (absent in its
// pre-image) is left out; an event naming every entity of the kind
// (Entity.ID "") completes the copy first. Go's map iteration allows
// changes between steps: an entry removed before it is reached is not
// produced, one added may or may not be (and is left out by its pre-image).
type MapCopy[V any] struct {
	m     map[string]*V
	kind  EntityKind
	clone func(*V) V
	next  func() (string, *V, bool)
	stop  func()
	read  [][]MapEntry[V] // chunks of mapChunk: the copy never reallocates what it has read
	pre   map[string]*V   // entity id -> its value at the start (nil: absent)
	done  bool
}

// mapChunk is how many entries one chunk of a MapCopy holds.
const mapChunk = 4096

// MapEntry is one entity of a MapCopy's result.
type MapEntry[V any] struct {
	ID    string
	Value V
}

// NewMapCopy starts copying m, whose entities events of kind change;
// clone copies one deep enough that Apply may go on changing the original.
func NewMapCopy[V any](m map[string]*V, kind EntityKind, clone func(*V) V) *MapCopy[V] {
	c := &MapCopy[V]{m: m, kind: kind, clone: clone, pre: map[string]*V{}}
	if len(m) == 0 {
		c.done = true
		return c
	}
	c.next, c.stop = iter.Pull2(maps.All(m))
	return c
}

// Step reads up to n more entries.
func (c *MapCopy[V]) Step(_ *State, n int) bool {
	for ; !c.done && n > 0; n-- {
		id, v, ok := c.next()
		if !ok {
			c.finish()
			break
		}
		if _, changed := c.pre[id]; !changed {
			if len(c.read) == 0 || len(c.read[len(c.read)-1]) == mapChunk {
				c.read = append(c.read, make([]MapEntry[V], 0, min(mapChunk, len(c.m))))
			}
			last := &c.read[len(c.read)-1]
			*last = append(*last, MapEntry[V]{ID: id, Value: c.clone(v)})
		}
	}
	return c.done
}

// Before keeps the pre-image of the entity ev changes.
func (c *MapCopy[V]) Before(s *State, ev Event) {
	if c.done {
		return
	}
	e, ok := EntityOf(ev)
	if !ok || e.Kind != c.kind {
		return
	}
	if e.ID == "" {
		c.Step(s, math.MaxInt)
		return
	}
	c.Keep(e.ID, c.m[e.ID])
}

// Keep records id's pre-image unless it has one: v, the live entity (nil
// when it does not exist).
func (c *MapCopy[V]) Keep(id string, v *V) {
	if _, had := c.pre[id]; had || c.done {
		return
	}
	if v == nil {
		c.pre[id] = nil
		return
	}
	cp := c.clone(v)
	c.pre[id] = &cp
}

func (c *MapCopy[V]) finish() {
	c.done = true
	if c.stop != nil {
		c.stop()
		c.next, c.stop = nil, nil
	}
}

// Stop ends the copy without completing it (an abandoned capture).
func (c *MapCopy[V]) Stop() { c.finish() }

// Value is Entries: the map as it was at the start, in no order.
func (c *MapCopy[V]) Value() any { return c.Entries() }

// Entries merges what was read with the pre-images. Call it once the copy
// is complete; it may run on any goroutine.
func (c *MapCopy[V]) Entries() []MapEntry[V] {
	n := len(c.pre)
	for _, ch := range c.read {
		n += len(ch)
	}
	out := make([]MapEntry[V], 0, n)
	for _, ch := range c.read {
		for _, e := range ch {
			if _, changed := c.pre[e.ID]; !changed {
				out = append(out, e)
			}
		}
		runtime.Gosched() // a chunk at a time, beside the requests (sortkey.go)
	}
	c.read = nil
	for id, v := range c.pre {
		if v != nil {
			out = append(out, MapEntry[V]{ID: id, Value: *v})
		}
	}
	return out
}
