package engine

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"

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

// snapshot is a State copied out in snapshot form. Maps become slices
// sorted by key, and order-carrying lists keep their order, so the same
// state always encodes to the same bytes (tests compare them).
type snapshot struct {
	_msgpack struct{}          `msgpack:",as_array"`
	Version  int               // the container version it was read from or is written as
	Index    uint64            // last WAL index included
	Events   uint64            // events applied up to Index
	Partners []Partner         // sorted by ID
	Wallets  []walletEntry     // sorted by user
	Idem     []idemEntry       // references, then Idempotency-Keys, each in the order recorded (expiry order)
	Cards    []cardEntry       // sorted by code
	Attempts []attemptEntry    // sorted by partner, each oldest first
	Attempt  uint64            // last Attempt.Seq given
	Extra    map[string][]byte // room for later state without a version bump
}

type walletEntry struct {
	_msgpack   struct{} `msgpack:",as_array"`
	User       string
	Balance    int64
	Refundable []Refundable
}

type idemEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      IdemKey
	Record   IdemRecord
}

type cardEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Code     string
	Card     Card
}

type attemptEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Partner  string
	Items    []Attempt
}

// EncodeSnapshot returns the msgpack bytes of the whole state.
func (s *State) EncodeSnapshot() ([]byte, error) {
	return s.Capture().Encode()
}

// Capture is what a snapshot of a State holds at one index, copied out of
// the State so that the State may go on changing: Encode may run on any
// goroutine.
//
// The idempotency records, usually most of a state, may be copied in steps
// (CaptureStart, then CopyRecords between batches): a record never changes
// once made, and records made after the capture's index are not among the
// keys it copies. Only expiry removes records, so the copy must be
// finished before an expiry event is applied.
type Capture struct {
	snap   *snapshot
	order  []IdemKey      // keys alive at the capture's index, in expiry order
	next   int            // order[:next] have their records in snap.Idem
	copied bool           // all of them
	copies map[string]any // module sections' own copies (SnapshotSection.Copy)
}

// Errors of a capture copied in steps.
var (
	ErrCaptureIncomplete = errors.New("engine: capture's records not all copied")
	ErrCaptureRecordGone = errors.New("engine: a captured key's record was removed before it was copied")
)

// Capture copies the whole snapshot content of s at once.
func (s *State) Capture() *Capture {
	c := s.CaptureStart()
	if _, err := c.CopyRecords(s, len(c.order)); err != nil {
		panic(err) // every live key in the expiry order has its record
	}
	return c
}

// CaptureStart copies everything a snapshot of s holds but the
// idempotency records: a pass over the wallets, codes, partners and audit
// records, and a copy of the records' keys in expiry order.
func (s *State) CaptureStart() *Capture {
	c := &Capture{snap: s.toSnapshot(), order: s.IdemKeys(), copies: map[string]any{}}
	for _, sec := range snapshotSections {
		if sec.Copy != nil {
			c.copies[sec.Name] = sec.Copy(s)
		}
	}
	c.snap.Idem = make([]idemEntry, 0, len(c.order))
	c.CopyRecords(s, 0) // marks a capture without records as copied; cannot fail
	return c
}

// CopyRecords copies up to n more of the captured keys' records from s,
// the State the capture was started on, and reports whether all are
// copied. No record may have been removed from s since CaptureStart:
// ErrCaptureRecordGone says one was, and the capture is unusable.
func (c *Capture) CopyRecords(s *State, n int) (bool, error) {
	if c.copied {
		return true, nil
	}
	end := c.next + min(n, len(c.order)-c.next)
	for _, k := range c.order[c.next:end] {
		r, ok := s.Idem[k]
		if !ok {
			return false, fmt.Errorf("%w: %+v", ErrCaptureRecordGone, k)
		}
		c.snap.Idem = append(c.snap.Idem, idemEntry{Key: k, Record: r})
	}
	c.next = end
	if c.next == len(c.order) {
		c.order, c.copied = nil, true
	}
	return c.copied, nil
}

// Index is the last WAL index the capture includes.
func (c *Capture) Index() uint64 { return c.snap.Index }

// Encode lays the capture out in its deterministic order and returns its
// msgpack bytes: the same state always gives the same bytes. Call it once,
// after the records are copied.
func (c *Capture) Encode() ([]byte, error) {
	if !c.copied {
		return nil, ErrCaptureIncomplete
	}
	sortSnapshot(c.snap)
	return encodeContainer(c)
}

// toSnapshot copies the state into snapshot form, unsorted and without the
// idempotency records (Capture copies those). Everything the
// State mutates in place later (refundable amounts, partner keys, audit
// records) is copied, not shared; idempotency details and strings are
// never mutated once made.
func (s *State) toSnapshot() *snapshot {
	snap := &snapshot{Version: SnapshotVersion, Index: s.Index, Events: s.Events, Attempt: s.Attempt}
	for _, p := range s.Partners {
		cp := *p
		cp.Keys = slices.Clone(p.Keys)
		snap.Partners = append(snap.Partners, cp)
	}
	snap.Wallets = make([]walletEntry, 0, len(s.Wallets))
	for u, w := range s.Wallets {
		snap.Wallets = append(snap.Wallets, walletEntry{User: u, Balance: w.Balance, Refundable: slices.Clone(w.Refundable)})
	}
	snap.Cards = make([]cardEntry, 0, len(s.Cards))
	for c, card := range s.Cards {
		snap.Cards = append(snap.Cards, cardEntry{Code: c, Card: *card})
	}
	for p, log := range s.Attempts {
		snap.Attempts = append(snap.Attempts, attemptEntry{Partner: p, Items: slices.Clone(log.Items())})
	}
	return snap
}

// sortSnapshot puts the lists that came from maps in key order.
func sortSnapshot(snap *snapshot) {
	slices.SortFunc(snap.Partners, func(a, b Partner) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(snap.Wallets, func(a, b walletEntry) int { return cmp.Compare(a.User, b.User) })
	slices.SortFunc(snap.Cards, func(a, b cardEntry) int { return cmp.Compare(a.Code, b.Code) })
	slices.SortFunc(snap.Attempts, func(a, b attemptEntry) int { return cmp.Compare(a.Partner, b.Partner) })
}

func (w *Writer) uint(v uint64) {
	if w.err == nil {
		w.err = w.enc.EncodeUint(v)
	}
}

func (w *Writer) wallets(ws []walletEntry) {
	w.len(len(ws))
	for _, e := range ws {
		w.len(3)
		w.str(e.User)
		w.int(e.Balance)
		w.len(len(e.Refundable))
		for _, r := range e.Refundable {
			w.len(2)
			w.str(r.Partner)
			w.int(r.Amount)
		}
	}
}

func (w *Writer) idem(es []idemEntry) {
	w.len(len(es))
	for _, e := range es {
		w.len(9)
		w.str(e.Key.Partner)
		w.int(int64(e.Key.Scope))
		w.str(e.Key.Reference)
		r := e.Record
		w.str(r.Fingerprint)
		w.int(r.Amount)
		w.int(int64(r.Code))
		w.int(r.Value)
		w.int(r.TimeMs)
		if r.Detail == nil {
			if w.err == nil {
				w.err = w.enc.EncodeNil()
			}
			continue
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
}

func (w *Writer) cards(cs []cardEntry) {
	w.len(len(cs))
	for _, e := range cs {
		c := e.Card
		w.len(9)
		w.str(e.Code)
		w.str(c.Partner)
		w.str(c.Tier)
		w.str(c.Label)
		w.int(c.IssuedMs)
		w.int(c.ExpiresMs)
		w.int(c.RevokedMs)
		w.int(c.RedeemedMs)
		w.str(c.RedemptionID)
	}
}

func (w *Writer) attempts(as []attemptEntry) {
	w.len(len(as))
	for _, e := range as {
		w.len(2)
		w.str(e.Partner)
		w.len(len(e.Items))
		for _, a := range e.Items {
			w.len(6)
			w.uint(a.Seq)
			w.int(a.TimeMs)
			w.str(a.Card)
			w.int(int64(a.Action))
			w.int(int64(a.Outcome))
			w.str(a.RequestID)
		}
	}
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

func (r *Reader) wallets() []walletEntry {
	out := make([]walletEntry, r.count(-1, 4))
	for i := range out {
		if r.count(3, 1); r.err != nil {
			return nil
		}
		e := &out[i]
		e.User, e.Balance = r.str(), r.int()
		if n := r.count(-1, 3); n > 0 && r.err == nil {
			e.Refundable = make([]Refundable, n)
			for j := range e.Refundable {
				r.count(2, 1)
				e.Refundable[j] = Refundable{Partner: r.str(), Amount: r.int()}
			}
		}
	}
	return out
}

func (r *Reader) idem() []idemEntry {
	out := make([]idemEntry, r.count(-1, 10))
	for i := range out {
		if r.count(9, 1); r.err != nil {
			return nil
		}
		e := &out[i]
		e.Key.Partner, e.Key.Scope, e.Key.Reference = r.str(), Scope(r.small(255)), r.str()
		e.Record.Fingerprint, e.Record.Amount, e.Record.Code = r.str(), r.int(), Code(r.small(255))
		e.Record.Value, e.Record.TimeMs = r.int(), r.int()
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

func (r *Reader) cards() []cardEntry {
	out := make([]cardEntry, r.count(-1, 10))
	for i := range out {
		if r.count(9, 1); r.err != nil {
			return nil
		}
		e := &out[i]
		e.Code, e.Card.Partner, e.Card.Tier, e.Card.Label = r.str(), r.str(), r.str(), r.str()
		e.Card.IssuedMs, e.Card.ExpiresMs, e.Card.RevokedMs, e.Card.RedeemedMs = r.int(), r.int(), r.int(), r.int()
		e.Card.RedemptionID = r.str()
	}
	return out
}

func (r *Reader) attempts() []attemptEntry {
	out := make([]attemptEntry, r.count(-1, 3))
	for i := range out {
		if r.count(2, 1); r.err != nil {
			return nil
		}
		out[i].Partner = r.str()
		items := make([]Attempt, r.count(-1, 7))
		for j := range items {
			if r.count(6, 1); r.err != nil {
				return nil
			}
			items[j] = Attempt{Seq: r.uint(), TimeMs: r.int(), Card: r.str(), Action: uint8(r.small(255)),
				Outcome: Code(r.small(255)), RequestID: r.str()}
		}
		out[i].Items = items
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

func loadWallets(s *State, wallets []walletEntry) error {
	if len(s.Wallets) == 0 {
		s.Wallets = make(map[string]*Wallet, len(wallets))
	}
	for _, e := range wallets {
		if err := checkWallet(e); err != nil || s.Wallets[e.User] != nil {
			return fmt.Errorf("wallet %q", e.User)
		}
		s.Wallets[e.User] = &Wallet{Balance: e.Balance, Refundable: e.Refundable}
	}
	return nil
}

func loadIdem(s *State, records []idemEntry) error {
	if len(s.Idem) == 0 {
		s.Idem = make(map[IdemKey]IdemRecord, len(records))
	}
	for _, e := range records {
		if _, dup := s.Idem[e.Key]; dup {
			return fmt.Errorf("duplicate reference %q", e.Key.Reference)
		}
		if !ScopeKnown(e.Key.Scope) {
			return fmt.Errorf("reference %q with scope %d", e.Key.Reference, e.Key.Scope)
		}
		s.Idem[e.Key] = e.Record
		s.order(e.Key.Scope).keys = append(s.order(e.Key.Scope).keys, e.Key)
	}
	return nil
}

func loadCards(s *State, cards []cardEntry) error {
	if len(s.Cards) == 0 {
		s.Cards = make(map[string]*Card, len(cards))
	}
	for i := range cards {
		e := &cards[i]
		if e.Code == "" || s.Cards[e.Code] != nil || s.Partners[e.Card.Partner] == nil {
			return fmt.Errorf("code %q", e.Code)
		}
		s.Cards[e.Code] = &e.Card
	}
	return nil
}

func loadAttempts(s *State, logs []attemptEntry) error {
	for _, e := range logs {
		if e.Partner == "" || s.Attempts[e.Partner] != nil || len(e.Items) == 0 {
			return fmt.Errorf("attempts of %q", e.Partner)
		}
		for i, a := range e.Items {
			if a.Seq > s.Attempt || (i > 0 && a.Seq <= e.Items[i-1].Seq) {
				return fmt.Errorf("attempts of %q out of order", e.Partner)
			}
		}
		s.Attempts[e.Partner] = &AttemptLog{items: e.Items}
	}
	return nil
}

func checkWallet(e walletEntry) error {
	if e.Balance < 0 || e.Balance > MaxBalance {
		return fmt.Errorf("balance %d", e.Balance)
	}
	for _, r := range e.Refundable {
		if r.Amount <= 0 || r.Amount > MaxBalance {
			return fmt.Errorf("refundable %d", r.Amount)
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
