package engine

import (
	"fmt"
	"iter"
)

// State is the ledger's durable state: what the WAL and snapshots rebuild.
// It holds the core (partners, keys, idempotency records) and one section
// per registered module (RegisterState: the PayShards wallets, the
// PayPay.cards codes and audit), which each module reaches through its own
// accessor.
// One goroutine owns a State (the committer); it is not safe for concurrent
// use (package actors guards the idempotency records, which it shares, with
// a lock).
type State struct {
	Index    uint64 // last WAL index applied
	Partners map[string]*Partner
	Keys     map[[KeyHashLen]byte]string // every API key hash ever issued -> partner id
	Events   uint64                      // events applied since the beginning of the log

	// The idempotency records live in orders, one FIFO per retention
	// class in the order they were recorded (log order), so expiry pops
	// from the front and a snapshot copies them front to back; idem says
	// where each key's record is. Keeping the records out of the map makes
	// its slots 48 bytes instead of ~140, which its growth moves, and lets
	// a snapshot and expiry read the records in order instead of probing
	// the map for each (Record, IdemLen, IdemRecords).
	idem   map[IdemKey]idemPos
	orders [retentionClasses]fifo

	idemPeak int // most records since idem was last rebuilt

	modules []any // each registered module's section (RegisterState)

	// Expired holds the keys the last expiry event removed. Overwritten by
	// the next one.
	Expired []IdemKey
}

// fifoBlock is how many records one block of a fifo holds (~512 KiB).
const fifoBlock = 4096

// idemPos is where a key's record is: its retention class in the top
// byte, its number in that class's fifo below.
type idemPos uint64

func posOf(class int, n uint64) idemPos { return idemPos(uint64(class)<<56 | n) }
func (p idemPos) class() int            { return int(p >> 56) }
func (p idemPos) n() uint64             { return uint64(p) & (1<<56 - 1) }

// idemSlot is one record with its key.
type idemSlot struct {
	key IdemKey
	rec IdemRecord
}

// fifo is one retention class's records, with their keys, in the order
// they were made, oldest first. Every record has a number, for good: the
// first one pushed is 0, the next 1, and so on (a snapshot capture walks
// them by number; State.idem points at them by number). The records sit in
// blocks of fifoBlock, so a push never copies the records already there,
// and expiry frees whole blocks instead of compacting:
// one growing slice copied up to tens of MiB of pointers at each doubling,
// on the committer's goroutine, in one memmove nothing could preempt.
type fifo struct {
	blocks [][]idemSlot // blocks[0][0] is key number base; all but the last are full
	base   uint64       // number of blocks[0][0]
	head   uint64       // number of the oldest live key (base <= head < base+fifoBlock, or the fifo is empty)
}

// end is the number the next key pushed gets.
func (f *fifo) end() uint64 {
	n := len(f.blocks)
	if n == 0 {
		return f.base
	}
	return f.base + uint64(n-1)*fifoBlock + uint64(len(f.blocks[n-1]))
}

func (f *fifo) push(k IdemKey, rec IdemRecord) {
	if n := len(f.blocks); n == 0 || len(f.blocks[n-1]) == fifoBlock {
		f.blocks = append(f.blocks, make([]idemSlot, 0, fifoBlock))
	}
	last := &f.blocks[len(f.blocks)-1]
	*last = append(*last, idemSlot{k, rec})
}

// pop drops the oldest live key, and its block once every key of it is
// dropped. The fifo must not be empty.
func (f *fifo) pop() {
	f.blocks[0][f.head-f.base] = idemSlot{} // the GC need not keep its strings
	f.head++
	if f.head-f.base == fifoBlock {
		f.blocks[0] = nil
		f.blocks = f.blocks[1:]
		f.base += fifoBlock
	}
}

// at returns record number n and whether it is still live.
func (f *fifo) at(n uint64) (*idemSlot, bool) {
	if n < f.head || n >= f.end() {
		return nil, false
	}
	i := n - f.base
	return &f.blocks[i/fifoBlock][i%fifoBlock], true
}

// span is the numbers of the live keys: [from, to).
func (f *fifo) span() (from, to uint64) { return f.head, f.end() }

// live calls fn for each live record, oldest first, until fn returns false.
func (f *fifo) live(fn func(*idemSlot) bool) bool {
	for i, b := range f.blocks {
		if i == 0 {
			b = b[f.head-f.base:]
		}
		for j := range b {
			if !fn(&b[j]) {
				return false
			}
		}
	}
	return true
}

// appendLive appends the live keys, oldest first, to out.
func (f *fifo) appendLive(out []IdemKey) []IdemKey {
	f.live(func(sl *idemSlot) bool { out = append(out, sl.key); return true })
	return out
}

// NewState returns an empty ledger.
func NewState() *State {
	s := &State{
		Partners: make(map[string]*Partner),
		Keys:     make(map[[KeyHashLen]byte]string),
		idem:     make(map[IdemKey]idemPos),
	}
	s.newModules()
	return s
}

// Apply makes one event true through its table row. It never fails: a
// violated invariant panics, and so does an event type without a row
// (the decoder refuses those before they get here).
func (s *State) Apply(ev Event) {
	sp := lookup(ev.EventType())
	s.Events++
	sp.apply(s, ev)
	if sp.idem != nil {
		if k, rec, ok := sp.idem(ev); ok {
			s.record(k, rec, ev)
		}
	}
}

// record stores the first outcome of a reference. A second event for the
// same key means an actor applied a command twice: a broken invariant.
func (s *State) record(k IdemKey, rec IdemRecord, ev Event) {
	if !s.addRecord(k, rec) {
		panic(Invariant("reference applied once", ev, 0))
	}
}

// addRecord stores rec under k at the end of its class's fifo. It reports
// false when k had a record already, and then s is broken (k's index entry
// points past its fifo's end): the caller must not use s again, as neither
// does (a panic, or a snapshot load that fails). One hash and probe: the
// map's size tells a duplicate.
func (s *State) addRecord(k IdemKey, rec IdemRecord) bool {
	class := int(RetentionOf(k.Scope))
	f := &s.orders[class]
	n := len(s.idem)
	s.idem[k] = posOf(class, f.end())
	if len(s.idem) == n {
		return false
	}
	f.push(k, rec)
	s.idemPeak = max(s.idemPeak, n+1)
	return true
}

// Record returns the record of k, if it has one.
func (s *State) Record(k IdemKey) (IdemRecord, bool) {
	p, ok := s.idem[k]
	if !ok {
		return IdemRecord{}, false
	}
	sl, live := s.orders[p.class()].at(p.n())
	if !live || sl.key != k {
		panic(fmt.Sprintf("engine: record of %q at %d of class %d is not there", k.Reference, p.n(), p.class()))
	}
	return sl.rec, true
}

// IdemLen is how many idempotency records s holds.
func (s *State) IdemLen() int { return len(s.idem) }

// IdemRecords yields every idempotency record, each retention class in the
// order its records were made (as IdemKeys).
func (s *State) IdemRecords() iter.Seq2[IdemKey, IdemRecord] {
	return func(yield func(IdemKey, IdemRecord) bool) {
		for i := range s.orders {
			if !s.orders[i].live(func(sl *idemSlot) bool { return yield(sl.key, sl.rec) }) {
				return
			}
		}
	}
}

// GrowIdem gives the records' index room for size keys (recovery sizes it
// for the WAL suffix it is about to replay).
func (s *State) GrowIdem(size int) { s.idem = GrowMap(s.idem, size) }

// expire forgets the records of one class older than cutoffMs, oldest first
// in log order; it stops at the first younger one, so a record stamped a
// little out of order waits for the next expiry. Deterministic: it depends
// only on the log. It returns out with the forgotten keys appended.
func (s *State) expire(f *fifo, cutoffMs int64, out []IdemKey) []IdemKey {
	for f.head < f.end() {
		sl, _ := f.at(f.head)
		if sl.rec.TimeMs >= cutoffMs {
			break
		}
		delete(s.idem, sl.key)
		out = append(out, sl.key)
		f.pop()
	}
	return out
}

// shrinkMin is the size below which the records map is not rebuilt.
const shrinkMin = 1024

// shrinkIdem rebuilds the idempotency map once expiry has emptied most of
// it: Go maps never return memory on delete. It changes no content.
func (s *State) shrinkIdem() {
	if s.idemPeak > shrinkMin && len(s.idem) < s.idemPeak/4 {
		s.idem = CompactMap(s.idem)
		s.idemPeak = len(s.idem)
	}
}

// GrowMap copies m into a map with room for size entries.
func GrowMap[K comparable, V any](m map[K]V, size int) map[K]V {
	c := make(map[K]V, size)
	for k, v := range m {
		c[k] = v
	}
	return c
}

// CompactMap copies m into a map sized for its current contents.
func CompactMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// IdemKeys returns the live idempotency keys, each retention class in the
// order its records were made (references first, then Idempotency-Keys).
func (s *State) IdemKeys() []IdemKey {
	var out []IdemKey
	for i := range s.orders {
		out = s.orders[i].appendLive(out)
	}
	return out
}
