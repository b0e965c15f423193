package engine

import "fmt"

// State is the ledger's durable state: what the WAL and snapshots rebuild.
// One goroutine owns a State (the committer); it is not safe for concurrent
// use (package actors guards the one map it shares, Idem, with a lock).
type State struct {
	Index    uint64 // last WAL index applied
	Partners map[string]*Partner
	Keys     map[[KeyHashLen]byte]string // every API key hash ever issued -> partner id
	Wallets  map[string]*Wallet
	Idem     map[IdemKey]IdemRecord
	Cards    map[string]*Card       // PayPay.cards redeem codes
	Attempts map[string]*AttemptLog // partner id -> audit of validate and redeem calls
	Events   uint64                 // events applied since the beginning of the log
	Attempt  uint64                 // last Attempt.Seq given

	// Idem's keys in the order they were recorded (log order), one FIFO
	// per retention class, so expiry pops from the front.
	refOrder fifo // deduct, refund, credit references
	keyOrder fifo // Idempotency-Keys

	idemPeak int // most records since Idem was last rebuilt

	// Expired holds the keys the last EvIdemExpired or EvKeysExpired
	// removed. Overwritten by the next one.
	Expired []IdemKey
}

// AttemptLog is one partner's audit records, oldest first.
type AttemptLog struct {
	items []Attempt
	head  int
}

// Items returns the live records, oldest first. Callers must not modify it.
func (l *AttemptLog) Items() []Attempt { return l.items[l.head:] }

type fifo struct {
	keys []IdemKey
	head int
}

func (f *fifo) live() []IdemKey { return f.keys[f.head:] }

// NewState returns an empty ledger.
func NewState() *State {
	return &State{
		Partners: make(map[string]*Partner),
		Keys:     make(map[[KeyHashLen]byte]string),
		Wallets:  make(map[string]*Wallet),
		Idem:     make(map[IdemKey]IdemRecord),
		Cards:    make(map[string]*Card),
		Attempts: make(map[string]*AttemptLog),
	}
}

// Apply makes one event true. It never fails: a violated invariant panics.
func (s *State) Apply(ev *Event) {
	s.Events++
	switch ev.Type {
	case EvPartnerCreated, EvPartnerStatus, EvKeyAdded, EvKeyRevoked, EvPartnerRateLimit:
		s.applyPartner(ev)
	case EvCredited:
		s.Wallets[ev.User] = ApplyWallet(s.Wallets[ev.User], ev)
		s.record(KeyOf(ev), ev)
	case EvDeducted, EvDeductRejected, EvRefunded, EvRefundRejected:
		s.applyWallet(ev)
		s.record(KeyOf(ev), ev)
	case EvCodesIssued, EvCodeRevoked, EvCodeAttempt:
		s.applyCards(ev)
	case EvIdemExpired:
		s.Expired = s.expire(&s.refOrder, ev.Amount, s.Expired[:0])
		s.shrinkIdem()
	case EvKeysExpired:
		s.Expired = s.expire(&s.keyOrder, ev.Amount, s.Expired[:0])
		s.shrinkIdem()
	case EvAttemptsExpired:
		s.expireAttempts(ev.Amount)
	default:
		panic(fmt.Sprintf("engine: unknown event type %d", ev.Type))
	}
}

func (s *State) applyWallet(ev *Event) {
	w := s.Wallets[ev.User]
	if w == nil {
		if ev.Code != CodeUnknownUser {
			panic(invariant("wallet exists", ev, 0))
		}
		return
	}
	ApplyWallet(w, ev)
}

func (s *State) applyPartner(ev *Event) {
	if ev.Type == EvPartnerCreated {
		if _, dup := s.Partners[ev.Partner]; dup {
			panic(invariant("partner id unique", ev, 0))
		}
		s.Partners[ev.Partner] = &Partner{ID: ev.Partner, API: ev.API, Name: ev.Name, Status: StatusActive,
			RateLimit: ev.RateLimit, CreatedMs: ev.TimeMs}
	}
	p := s.Partners[ev.Partner]
	if p == nil {
		panic(invariant("partner exists", ev, 0))
	}
	switch ev.Type {
	case EvPartnerCreated, EvKeyAdded:
		s.addKey(p, ev)
	case EvPartnerStatus:
		p.Status = ev.Status
	case EvKeyRevoked:
		k := p.Key(ev.KeyID)
		if k == nil || k.RevokedMs != 0 {
			panic(invariant("revoke a live key", ev, 0))
		}
		k.RevokedMs = ev.TimeMs
	case EvPartnerRateLimit:
		p.RateLimit = ev.RateLimit
	}
}

func (s *State) addKey(p *Partner, ev *Event) {
	var h [KeyHashLen]byte
	if copy(h[:], ev.KeyHash) != KeyHashLen || len(ev.KeyHash) != KeyHashLen {
		panic(invariant("key hash length", ev, int64(len(ev.KeyHash))))
	}
	if _, dup := s.Keys[h]; dup || p.Key(ev.KeyID) != nil {
		panic(invariant("key unique", ev, 0))
	}
	s.Keys[h] = p.ID
	p.Keys = append(p.Keys, APIKey{ID: ev.KeyID, Hash: h[:], Hint: ev.KeyHint, CreatedMs: ev.TimeMs})
}

func (s *State) applyCards(ev *Event) {
	switch ev.Type {
	case EvCodesIssued:
		for _, c := range ev.Codes {
			if _, dup := s.Cards[c]; dup {
				panic(invariant("code unique", ev, 0))
			}
			s.Cards[c] = &Card{Partner: ev.Partner, Tier: ev.Tier, Label: ev.Label, IssuedMs: ev.TimeMs, ExpiresMs: ev.ExpiresMs}
		}
	case EvCodeRevoked:
		s.mustCard(ev)
		ApplyCard(s.Cards[ev.Card], ev)
	case EvCodeAttempt:
		if ev.Code != CodeNotFound {
			s.mustCard(ev)
			ApplyCard(s.Cards[ev.Card], ev)
		}
		log := s.Attempts[ev.Partner]
		if log == nil {
			log = &AttemptLog{}
			s.Attempts[ev.Partner] = log
		}
		s.Attempt++
		log.items = append(log.items, Attempt{Seq: s.Attempt, TimeMs: ev.TimeMs, Card: ev.Card,
			Action: ev.Action, Outcome: ev.Code, RequestID: ev.RequestID})
		if ev.Reference != "" {
			s.record(KeyOf(ev), ev)
		}
	}
}

func (s *State) mustCard(ev *Event) {
	if c := s.Cards[ev.Card]; c == nil || c.Partner != ev.Partner {
		panic(invariant("code exists for partner", ev, 0))
	}
}

// record stores the first outcome of a reference. A second event for the
// same key means an actor applied a command twice: a broken invariant.
func (s *State) record(k IdemKey, ev *Event) {
	n := len(s.Idem)
	s.Idem[k] = RecordOf(ev) // one hash and probe: the size tells a duplicate
	if len(s.Idem) == n {
		panic(invariant("reference applied once", ev, 0))
	}
	s.idemPeak = max(s.idemPeak, n+1)
	s.order(k.Op).keys = append(s.order(k.Op).keys, k)
}

func (s *State) order(op Op) *fifo {
	if op == OpRedeemKey {
		return &s.keyOrder
	}
	return &s.refOrder
}

// expire forgets the records of one class older than cutoffMs, oldest first
// in log order; it stops at the first younger one, so a record stamped a
// little out of order waits for the next expiry. Deterministic: it depends
// only on the log. It returns out with the forgotten keys appended.
func (s *State) expire(f *fifo, cutoffMs int64, out []IdemKey) []IdemKey {
	for f.head < len(f.keys) {
		k := f.keys[f.head]
		if r, ok := s.Idem[k]; ok && r.TimeMs >= cutoffMs {
			break
		}
		delete(s.Idem, k)
		out = append(out, k)
		f.keys[f.head] = IdemKey{}
		f.head++
	}
	if f.head > len(f.keys)/2 {
		live := f.keys[f.head:]
		if cap(f.keys) > 4*len(live)+shrinkMin {
			f.keys = append(make([]IdemKey, 0, 2*len(live)), live...) // give the memory back
		} else {
			f.keys = append(f.keys[:0], live...)
		}
		f.head = 0
	}
	return out
}

// shrinkMin is the size below which maps and FIFOs are not rebuilt.
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

func (s *State) expireAttempts(cutoffMs int64) {
	for partner, log := range s.Attempts {
		for log.head < len(log.items) && log.items[log.head].TimeMs < cutoffMs {
			log.items[log.head] = Attempt{}
			log.head++
		}
		if log.head == len(log.items) {
			delete(s.Attempts, partner)
		} else if log.head > len(log.items)/2 {
			log.items = append(log.items[:0], log.items[log.head:]...)
			log.head = 0
		}
	}
}

// IdemKeys returns the live idempotency keys, each retention class in the
// order its records were made (references first, then Idempotency-Keys).
func (s *State) IdemKeys() []IdemKey {
	return append(append([]IdemKey(nil), s.refOrder.live()...), s.keyOrder.live()...)
}

// RecordOf is the idempotency record an outcome event leaves behind.
func RecordOf(ev *Event) IdemRecord {
	if ev.Type == EvCodeAttempt {
		return IdemRecord{User: ev.Card, Code: ev.Code, TimeMs: ev.TimeMs, Detail: &RedeemDetail{
			RequestID: ev.RequestID, RedemptionID: ev.RedemptionID, Tier: ev.Tier, Label: ev.Label,
			ExpiresMs: ev.ExpiresMs, RedeemedMs: ev.RedeemedMs}}
	}
	return IdemRecord{User: ev.User, Amount: ev.Amount, Code: ev.Code, Value: ev.Balance, TimeMs: ev.TimeMs}
}

// KeyOf is the idempotency key of an outcome event (zero if it has none).
func KeyOf(ev *Event) IdemKey {
	switch ev.Type {
	case EvCredited:
		return IdemKey{Op: OpCredit, Reference: ev.Reference}
	case EvDeducted, EvDeductRejected:
		return IdemKey{Partner: ev.Partner, Op: OpDeduct, Reference: ev.Reference}
	case EvRefunded, EvRefundRejected:
		return IdemKey{Partner: ev.Partner, Op: OpRefund, Reference: ev.Reference}
	case EvCodeAttempt:
		if ev.Reference != "" {
			return IdemKey{Partner: ev.Partner, Op: OpRedeemKey, Reference: ev.Reference}
		}
	}
	return IdemKey{}
}

func invariant(what string, ev *Event, got int64) string {
	return fmt.Sprintf("engine: invariant %q violated by event type %d user %q partner %q reference %q code %q (value %d)",
		what, ev.Type, ev.User, ev.Partner, ev.Reference, ev.Card, got)
}
