package engine

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// SnapshotVersion is the snapshot container format this binary writes.
// Never renumber. Version 1 (reflection-encoded) was never released;
// version 2 (one flat array, snapshot_v2.go) was, and stays readable for
// good; version 3 is the container of named, versioned sections
// (snapshot_sections.go).
const SnapshotVersion = 3

// snapshotVersion2 is the flat format released before the sections.
const snapshotVersion2 = 2

// snapshot is the core's part of a State copied out in snapshot form
// (the modules copy their own: SnapshotSection.Copy). Maps become slices
// sorted by key, and order-carrying lists keep their order, so the same
// state always encodes to the same bytes (tests compare them).
type snapshot struct {
	Version  int         // the container version it was read from or is written as
	Index    uint64      // last WAL index included
	Events   uint64      // events applied up to Index
	Partners []Partner   // sorted by ID
	Idem     []idemEntry // references, then Idempotency-Keys, each in the order recorded (expiry order)
}

type idemEntry struct {
	Key    IdemKey
	Record IdemRecord
}

// EncodeSnapshot returns the msgpack bytes of the whole state.
func (s *State) EncodeSnapshot() ([]byte, error) {
	return s.Capture().Encode()
}

// Capture is what a snapshot of a State holds at one index, copied out of
// the State so that the State may go on changing: Encode may run on any
// goroutine.
//
// Most of a large state is copied in steps (CaptureStart, then Step
// between batches), so that the committer never pauses for the whole
// state: the idempotency records, which never change once made (records
// made after the capture's index are past the end of the key order it
// reads, and only expiry removes records, so BeforeApply copies the rest
// before an expiry), and the sections registered as Stepped (wallets,
// codes, audit records), which keep a pre-image of whatever an event
// changes before they have copied it. BeforeApply must see every event
// applied while the capture is unfinished.
type Capture struct {
	snap    *snapshot
	spans   [retentionClasses][2]uint64 // per retention class, the numbers [from, to) of the keys alive at the capture's index (State.orders)
	class   int                         // key number spans[class][0] of that class is the next record to copy
	chunks  [][]idemEntry               // the records copied, in order; Encode writes them as one list
	copied  bool                        // the records are all copied
	copies  map[string]any              // module sections' own copies (SnapshotSection.Copy)
	steps   []sectionStep               // stepped sections not finished yet
	stepped map[string]SectionCopy
	entries int // State.Entries at the capture
	// hurry ends the pacing of an encoding under way (Hurry).
	hurry atomic.Bool
}

// Hurry makes an EncodeChunksPaced under way, on any goroutine, go on
// flat out: the system is stopping, and nothing is left to leave the
// cores to.
func (c *Capture) Hurry() { c.hurry.Store(true) }

type sectionStep struct {
	name string
	copy SectionCopy
}

// SectionCopy is a module section's copy in steps (SnapshotSection.Stepped),
// driven on the committer's goroutine.
type SectionCopy interface {
	// Step copies up to about n more entries and reports whether the copy
	// is complete. Step(s, 0) only reports.
	Step(s *State, n int) bool
	// Before runs before ev is applied to s while the copy is not
	// complete: the copy takes the pre-image of what ev changes and it has
	// not copied yet (or completes itself, e.g. before an event that
	// changes every entry or compacts what it has still to read).
	Before(s *State, ev Event)
	// Value is what EncodeCopy encodes; called once, after the copy is
	// complete, off the committer's goroutine.
	Value() any
}

// Errors of a capture copied in steps.
var (
	ErrCaptureIncomplete = errors.New("engine: capture's records not all copied")
	ErrCaptureRecordGone = errors.New("engine: a captured key's record was removed before it was copied")
)

// Capture copies the whole snapshot content of s at once.
func (s *State) Capture() *Capture {
	c := s.CaptureStart()
	if _, err := c.Step(s, math.MaxInt); err != nil {
		panic(err) // every live key in the expiry order has its record
	}
	return c
}

// CaptureStart copies what a snapshot of s holds that is small (the
// partners, the sections registered with Copy) and starts the rest: the
// idempotency records and the Stepped sections, which Step copies.
func (s *State) CaptureStart() *Capture {
	c := &Capture{snap: s.toSnapshot(), copies: map[string]any{}, stepped: map[string]SectionCopy{}, entries: s.Entries()}
	for i := range s.orders {
		c.spans[i][0], c.spans[i][1] = s.orders[i].span()
	}
	for _, sec := range snapshotSections {
		switch {
		case sec.Stepped != nil:
			sc := sec.Stepped(s)
			c.stepped[sec.Name] = sc
			c.steps = append(c.steps, sectionStep{sec.Name, sc})
		case sec.Copy != nil:
			c.copies[sec.Name] = sec.Copy(s)
		}
	}
	c.Step(s, 0) // marks what has nothing to copy as copied; cannot fail
	return c
}

// Step copies up to n more of the captured records and then up to n
// entries of the stepped sections from s, the State the capture was
// started on, and reports whether the capture is complete. No record may
// have been removed from s since CaptureStart: ErrCaptureRecordGone says
// one was, and the capture is unusable.
func (c *Capture) Step(s *State, n int) (bool, error) {
	if err := c.copyRecords(s, n); err != nil {
		return false, err
	}
	for len(c.steps) > 0 && c.steps[0].copy.Step(s, n) {
		c.steps = c.steps[1:]
	}
	return c.complete(), nil
}

func (c *Capture) complete() bool { return c.copied && len(c.steps) == 0 }

// recordChunk is how many records one chunk of the copy holds: the copy
// grows a chunk at a time, never by reallocating what it has.
const recordChunk = 4096

func (c *Capture) copyRecords(s *State, n int) error {
	for !c.copied && n > 0 {
		if c.class == len(c.spans) {
			c.copied = true
			break
		}
		sp := &c.spans[c.class]
		if sp[0] == sp[1] {
			c.class++
			continue
		}
		if len(c.chunks) == 0 || len(c.chunks[len(c.chunks)-1]) == recordChunk {
			c.chunks = append(c.chunks, make([]idemEntry, 0, min(recordChunk, c.remaining())))
		}
		chunk := &c.chunks[len(c.chunks)-1]
		f := &s.orders[c.class]
		m := min(n, int(min(sp[1]-sp[0], uint64(recordChunk-len(*chunk)))))
		for range m {
			sl, live := f.at(sp[0])
			if !live {
				return fmt.Errorf("%w: key %d of class %d", ErrCaptureRecordGone, sp[0], c.class)
			}
			*chunk = append(*chunk, idemEntry{Key: sl.key, Record: sl.rec})
			sp[0]++
		}
		n -= m
	}
	if !c.copied && c.remaining() == 0 {
		c.copied = true
	}
	return nil
}

// remaining is how many records are still to copy.
func (c *Capture) remaining() int {
	n := 0
	for _, sp := range c.spans {
		n += int(sp[1] - sp[0])
	}
	return n
}

// BeforeApply runs before ev is applied to the State while the capture is
// unfinished: before an expiry that would remove a record not copied yet
// (expiry removes the oldest of a class, up to the first younger than its
// cutoff) it copies the rest of that class, and each stepped section keeps
// the pre-images of what ev changes.
func (c *Capture) BeforeApply(s *State, ev Event) error {
	if class, cutoff, ok := expiryOf(ev); ok && !c.copied {
		sp := &c.spans[class]
		if sl, live := s.orders[class].at(sp[0]); sp[0] < sp[1] && (!live || sl.rec.TimeMs < cutoff) {
			// The records before this class's are copied first (the copy's order).
			if err := c.copyRecords(s, c.remainingUpTo(class)); err != nil {
				return err
			}
		}
	}
	for _, st := range c.steps {
		st.copy.Before(s, ev)
	}
	return nil
}

// remainingUpTo is how many records are still to copy in classes up to
// and including class.
func (c *Capture) remainingUpTo(class int) int {
	n := 0
	for i := 0; i <= class; i++ {
		n += int(c.spans[i][1] - c.spans[i][0])
	}
	return n
}

// Abandon ends a capture that will not be completed: stepped copies
// release what they hold (a MapCopy's iterator).
func (c *Capture) Abandon() {
	for _, st := range c.steps {
		if s, ok := st.copy.(interface{ Stop() }); ok {
			s.Stop()
		}
	}
	c.steps = nil
}

// copyOf is a module section's copy: Copy's, or a stepped section's Value.
func (c *Capture) copyOf(name string) any {
	if sc, ok := c.stepped[name]; ok {
		return sc.Value()
	}
	return c.copies[name]
}

// Index is the last WAL index the capture includes.
func (c *Capture) Index() uint64 { return c.snap.Index }

// Encode lays the capture out in its deterministic order and returns its
// msgpack bytes: the same state always gives the same bytes. Call it once,
// after the capture is complete. EncodeChunks gives the same bytes without
// joining them.
func (c *Capture) Encode() ([]byte, error) {
	chunks, err := c.EncodeChunks()
	if err != nil {
		return nil, err
	}
	return bytes.Join(chunks, nil), nil
}

// EncodeChunks is Encode's bytes as a list of chunks of at most 1 MiB, in
// order, for a writer that takes them one by one (wal.WriteSnapshotChunks).
func (c *Capture) EncodeChunks() ([][]byte, error) { return c.encodeChunks(false) }

// EncodeChunksPaced is EncodeChunks for a snapshot encoded beside the
// requests: after each 256 KiB of a section it sleeps as long as the
// encoding since its last sleep took, so it holds about half a core
// instead of one whole of the two, and takes about twice as long or more.
// Encoded flat out, a snapshot's encoding was what lifted a deduct run's
// p99.9 and max (README, Performance).
func (c *Capture) EncodeChunksPaced() ([][]byte, error) { return c.encodeChunks(true) }

func (c *Capture) encodeChunks(pace bool) ([][]byte, error) {
	if !c.complete() {
		return nil, ErrCaptureIncomplete
	}
	// The records are written from the chunks they were copied into:
	// joining them was one allocation of the whole list (zeroed, with
	// pointers) and a copy into it, 150 ms in an execution trace during
	// which the other P was the GC's and no request ran.
	sortSnapshot(c.snap)
	return encodeContainer(c, pace)
}

// toSnapshot copies the core's part of the state into snapshot form,
// unsorted and without the idempotency records (Capture copies those).
// Partner keys, which the State mutates in place later (revocations), are
// copied, not shared; idempotency details and strings are never mutated
// once made.
func (s *State) toSnapshot() *snapshot {
	snap := &snapshot{Version: SnapshotVersion, Index: s.Index, Events: s.Events}
	for _, p := range s.Partners {
		cp := *p
		cp.Keys = slices.Clone(p.Keys)
		snap.Partners = append(snap.Partners, cp)
	}
	return snap
}

// sortSnapshot puts the lists that came from maps in key order.
func sortSnapshot(snap *snapshot) {
	slices.SortFunc(snap.Partners, func(a, b Partner) int { return cmp.Compare(a.ID, b.ID) })
}

func (w *Writer) uint(v uint64) {
	if w.err == nil {
		w.err = w.enc.EncodeUint(v)
	}
}

// idem writes records in the idem section's version 2 layout, or with
// withResponse false in the released layout of the v2 snapshot and of idem
// version 1 (the first nine fields).
func (w *Writer) idem(es []idemEntry, withResponse bool) {
	w.idemChunks([][]idemEntry{es}, withResponse)
}

// idemChunks writes the records of all chunks, in order, as one list (the
// bytes of idem on their concatenation, without making it).
func (w *Writer) idemChunks(chunks [][]idemEntry, withResponse bool) {
	n := 0
	for _, ch := range chunks {
		n += len(ch)
	}
	w.len(n)
	for _, ch := range chunks {
		for i := range ch {
			w.idemEntry(&ch[i], withResponse)
		}
	}
}

func (w *Writer) idemEntry(e *idemEntry, withResponse bool) {
	if withResponse {
		w.len(idemFieldsV2)
	} else {
		w.len(idemFieldsV1)
	}
	w.str(e.Key.Partner)
	w.int(int64(e.Key.Scope))
	w.str(e.Key.Reference)
	r := e.Record
	w.str(r.Fingerprint)
	w.int(r.Amount)
	w.int(int64(r.Code))
	w.int(r.Value)
	w.int(r.TimeMs)
	if withResponse {
		w.int(int64(r.Status))
		w.str(r.Response)
	}
	if r.Detail == nil {
		if w.err == nil {
			w.err = w.enc.EncodeNil()
		}
		return
	}
	d := r.Detail
	w.len(6)
	w.str(d.RequestID)
	w.str(d.RedemptionID)
	w.str(d.Tier)
	w.str(d.Label)
	w.int(d.ExpiresMs)
	w.int(d.RedeemedMs)
}

// DecodeSnapshot rebuilds a State from a snapshot payload of any released
// format (2, or 3 as EncodeSnapshot writes it) and checks the invariants a
// snapshot must satisfy. A format this binary does not know (a container
// version, a section, or a section version) is an error wrapping
// ErrUnknownSnapshotFormat and not ErrBadRecord: the bytes may be perfectly
// good, for a newer binary. Broken structure or content is ErrBadRecord.
func DecodeSnapshot(data []byte) (*State, error) {
	version, err := containerVersion(data)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrBadRecord, err)
	}
	switch version {
	case snapshotVersion2:
		return decodeSnapshotV2(data)
	case SnapshotVersion:
		return decodeContainer(data)
	}
	return nil, fmt.Errorf("%w: container version %d (this binary reads %d and %d)",
		ErrUnknownSnapshotFormat, version, snapshotVersion2, SnapshotVersion)
}

// containerVersion reads what every snapshot format ever released begins
// with, and every later one must: a msgpack array whose first element is
// the container version, an integer.
func containerVersion(data []byte) (int64, error) {
	rd := bytes.NewReader(data)
	r := &Reader{dec: msgpack.NewDecoder(rd), rd: rd}
	if n := r.len(); r.err == nil && n < 1 {
		return 0, fmt.Errorf("array of %d", n)
	}
	v := r.int()
	return v, r.err
}

// count reads an array header whose every element takes at least minBytes.
func (r *Reader) count(want, minBytes int) int {
	n := r.len()
	if r.err == nil && want >= 0 && n != want {
		r.err = fmt.Errorf("array of %d, want %d", n, want)
	}
	if r.err == nil && (n < 0 || n > r.rd.Len()/minBytes) {
		r.err = fmt.Errorf("array of %d does not fit in %d bytes", n, r.rd.Len())
	}
	if r.err != nil {
		return 0
	}
	return n
}

func (r *Reader) uint() uint64 {
	if r.err != nil {
		return 0
	}
	var v uint64
	v, r.err = r.dec.DecodeUint64()
	return v
}

// Record layouts: idem section version 1 and the v2 snapshot have nine
// fields; idem version 2 adds status and response after the time.
const (
	idemFieldsV1 = 9
	idemFieldsV2 = 11
)

func (r *Reader) idem(fields int) []idemEntry {
	out := make([]idemEntry, r.count(-1, fields+1))
	for i := range out {
		if r.count(fields, 1); r.err != nil {
			return nil
		}
		e := &out[i]
		e.Key.Partner, e.Key.Scope, e.Key.Reference = r.str(), Scope(r.small(255)), r.str()
		e.Record.Fingerprint, e.Record.Amount, e.Record.Code = r.str(), r.int(), Code(r.small(255))
		e.Record.Value, e.Record.TimeMs = r.int(), r.int()
		if fields == idemFieldsV2 {
			e.Record.Status, e.Record.Response = uint16(r.small(999)), r.longStr(MaxResponseLen)
		}
		if r.err != nil {
			return nil
		}
		if c, err := r.dec.PeekCode(); err == nil && c == msgpcode.Nil {
			r.err = r.dec.DecodeNil()
			continue
		}
		r.count(6, 1)
		e.Record.Detail = &RedeemDetail{RequestID: r.str(), RedemptionID: r.str(), Tier: r.str(), Label: r.str(),
			ExpiresMs: r.int(), RedeemedMs: r.int()}
	}
	return out
}

func loadPartners(s *State, partners []Partner) error {
	for i := range partners {
		p := partners[i]
		if p.ID == "" || s.Partners[p.ID] != nil {
			return fmt.Errorf("partner %q", p.ID)
		}
		for _, k := range p.Keys {
			var h [KeyHashLen]byte
			if len(k.Hash) != KeyHashLen || k.ID == "" {
				return fmt.Errorf("partner %q key %q", p.ID, k.ID)
			}
			copy(h[:], k.Hash)
			if _, dup := s.Keys[h]; dup {
				return fmt.Errorf("partner %q: key hash used twice", p.ID)
			}
			s.Keys[h] = p.ID
		}
		s.Partners[p.ID] = &p
	}
	return nil
}

func loadIdem(s *State, records []idemEntry) error {
	if len(s.idem) == 0 {
		s.idem = make(map[IdemKey]idemPos, len(records))
	}
	for _, e := range records {
		if !ScopeKnown(e.Key.Scope) {
			return fmt.Errorf("reference %q with scope %d", e.Key.Reference, e.Key.Scope)
		}
		if !s.addRecord(e.Key, e.Record) {
			return fmt.Errorf("duplicate reference %q", e.Key.Reference)
		}
	}
	return nil
}

// checkShape walks one msgpack value at the start of data without
// allocating, so that a length that announces more elements than the bytes
// can hold fails here instead of making the reflecting decoder allocate for
// it; unless prefix, nothing may follow it.
func checkShape(data []byte, prefix bool) error {
	rd := bytes.NewReader(data)
	if err := msgpack.NewDecoder(rd).Skip(); err != nil {
		return err
	}
	if !prefix && rd.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", rd.Len())
	}
	return nil
}
