package engine

// State is the ledger's durable state: what the WAL and snapshots rebuild.
// It holds the core (partners, keys, idempotency records) and one section
// per registered module (RegisterState: the PayShards wallets, the
// PayPay.cards codes and audit), which each module reaches through its own
// accessor.
// One goroutine owns a State (the committer); it is not safe for concurrent
// use (package actors guards the one map it shares, Idem, with a lock).
type State struct {
	Index    uint64 // last WAL index applied
	Partners map[string]*Partner
	Keys     map[[KeyHashLen]byte]string // every API key hash ever issued -> partner id
	Idem     map[IdemKey]IdemRecord
	Events   uint64 // events applied since the beginning of the log

	// Idem's keys in the order they were recorded (log order), one FIFO
	// per retention class, so expiry pops from the front.
	orders [retentionClasses]fifo

	idemPeak int // most records since Idem was last rebuilt

	modules []any // each registered module's section (RegisterState)

	// Expired holds the keys the last expiry event removed. Overwritten by
	// the next one.
	Expired []IdemKey
}

// fifoBlock is how many keys one block of a fifo holds (160 KiB).
const fifoBlock = 4096

// fifo is one retention class's keys in the order their records were
// made, oldest first. Every key has a number, for good: the first one
// pushed is 0, the next 1, and so on (a snapshot capture walks them by
// number). The keys sit in blocks of fifoBlock, so a push never copies the
// keys already there, and expiry frees whole blocks instead of compacting:
// one growing slice copied up to tens of MiB of pointers at each doubling,
// on the committer's goroutine, in one memmove nothing could preempt.
type fifo struct {
	blocks [][]IdemKey // blocks[0][0] is key number base; all but the last are full
	base   uint64      // number of blocks[0][0]
	head   uint64      // number of the oldest live key (base <= head < base+fifoBlock, or the fifo is empty)
}

// end is the number the next key pushed gets.
func (f *fifo) end() uint64 {
	n := len(f.blocks)
	if n == 0 {
		return f.base
	}
	return f.base + uint64(n-1)*fifoBlock + uint64(len(f.blocks[n-1]))
}

func (f *fifo) push(k IdemKey) {
	if n := len(f.blocks); n == 0 || len(f.blocks[n-1]) == fifoBlock {
		f.blocks = append(f.blocks, make([]IdemKey, 0, fifoBlock))
	}
	last := &f.blocks[len(f.blocks)-1]
	*last = append(*last, k)
}

// pop drops the oldest live key, and its block once every key of it is
// dropped. The fifo must not be empty.
func (f *fifo) pop() {
	f.blocks[0][f.head-f.base] = IdemKey{} // the GC need not keep its strings
	f.head++
	if f.head-f.base == fifoBlock {
		f.blocks[0] = nil
		f.blocks = f.blocks[1:]
		f.base += fifoBlock
	}
}

// at returns key number n and whether it is still live.
func (f *fifo) at(n uint64) (IdemKey, bool) {
	if n < f.head || n >= f.end() {
		return IdemKey{}, false
	}
	i := n - f.base
	return f.blocks[i/fifoBlock][i%fifoBlock], true
}

// span is the numbers of the live keys: [from, to).
func (f *fifo) span() (from, to uint64) { return f.head, f.end() }

// appendLive appends the live keys, oldest first, to out.
func (f *fifo) appendLive(out []IdemKey) []IdemKey {
	for i, b := range f.blocks {
		if i == 0 {
			b = b[f.head-f.base:]
		}
		out = append(out, b...)
	}
	return out
}

// NewState returns an empty ledger.
func NewState() *State {
	s := &State{
		Partners: make(map[string]*Partner),
		Keys:     make(map[[KeyHashLen]byte]string),
		Idem:     make(map[IdemKey]IdemRecord),
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
	n := len(s.Idem)
	s.Idem[k] = rec // one hash and probe: the size tells a duplicate
	if len(s.Idem) == n {
		panic(Invariant("reference applied once", ev, 0))
	}
	s.idemPeak = max(s.idemPeak, n+1)
	s.order(k.Scope).push(k)
}

func (s *State) order(sc Scope) *fifo { return &s.orders[RetentionOf(sc)] }

// expire forgets the records of one class older than cutoffMs, oldest first
// in log order; it stops at the first younger one, so a record stamped a
// little out of order waits for the next expiry. Deterministic: it depends
// only on the log. It returns out with the forgotten keys appended.
func (s *State) expire(f *fifo, cutoffMs int64, out []IdemKey) []IdemKey {
	for f.head < f.end() {
		k, _ := f.at(f.head)
		if r, ok := s.Idem[k]; ok && r.TimeMs >= cutoffMs {
			break
		}
		delete(s.Idem, k)
		out = append(out, k)
		f.pop()
	}
	return out
}

// shrinkMin is the size below which the records map is not rebuilt.
const shrinkMin = 1024

// shrinkIdem rebuilds the idempotency map once expiry has emptied most of
// it: Go maps never return memory on delete. It changes no content.
func (s *State) shrinkIdem() {
	if s.idemPeak > shrinkMin && len(s.Idem) < s.idemPeak/4 {
		s.Idem = CompactMap(s.Idem)
		s.idemPeak = len(s.Idem)
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
