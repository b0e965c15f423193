package engine

import "fmt"

// State is the ledger's durable state: what the WAL and snapshots rebuild.
// One goroutine owns a State (the committer); it is not safe for concurrent use.
type State struct {
	Index    uint64 // last WAL index applied
	Partners map[string]*Partner
	Keys     map[[KeyHashLen]byte]string // API key hash -> partner id
	Wallets  map[string]*Wallet
	Idem     map[IdemKey]IdemRecord
	Events   uint64 // events applied since the beginning of the log

	// idemOrder lists Idem's keys in the order they were recorded (log
	// order), from idemHead on, so expiry pops from the front.
	idemOrder []IdemKey
	idemHead  int
	// Expired holds the keys the last EvIdemExpired removed, for the
	// committer to tell the idempotency shards. Overwritten by the next one.
	Expired []IdemKey
}

// NewState returns an empty ledger.
func NewState() *State {
	return &State{
		Partners: make(map[string]*Partner),
		Keys:     make(map[[KeyHashLen]byte]string),
		Wallets:  make(map[string]*Wallet),
		Idem:     make(map[IdemKey]IdemRecord),
	}
}

// Apply makes one event true. It never fails: a violated invariant panics.
func (s *State) Apply(ev *Event) {
	s.Events++
	switch ev.Type {
	case EvPartnerCreated:
		s.applyPartnerCreated(ev)
	case EvPartnerStatus:
		p := s.Partners[ev.Partner]
		if p == nil {
			panic(invariant("partner exists", ev, 0))
		}
		p.Status = ev.Status
	case EvCredited:
		s.Wallets[ev.User] = ApplyWallet(s.Wallets[ev.User], ev)
		s.record(KeyOf(ev), ev)
	case EvDeducted, EvDeductRejected, EvRefunded, EvRefundRejected:
		s.applyWallet(ev)
		s.record(KeyOf(ev), ev)
	case EvIdemExpired:
		s.expire(ev.Amount)
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

func (s *State) applyPartnerCreated(ev *Event) {
	if _, dup := s.Partners[ev.Partner]; dup {
		panic(invariant("partner id unique", ev, 0))
	}
	var h [KeyHashLen]byte
	if copy(h[:], ev.KeyHash) != KeyHashLen {
		panic(invariant("key hash length", ev, int64(len(ev.KeyHash))))
	}
	s.Partners[ev.Partner] = &Partner{
		ID: ev.Partner, API: ev.API, Name: ev.Name, Status: StatusActive,
		RateLimit: ev.RateLimit, KeyHash: h[:], CreatedMs: ev.TimeMs,
	}
	s.Keys[h] = ev.Partner
}

// record stores the first outcome of a reference. A second event for the
// same key means an actor applied a command twice: a broken invariant.
func (s *State) record(k IdemKey, ev *Event) {
	if _, dup := s.Idem[k]; dup {
		panic(invariant("reference applied once", ev, 0))
	}
	s.Idem[k] = RecordOf(ev)
	s.idemOrder = append(s.idemOrder, k)
}

// expire forgets idempotency records older than cutoffMs, oldest first in
// log order; it stops at the first younger one, so a record stamped a
// little out of order waits for the next expiry. Deterministic: it depends
// only on the log.
func (s *State) expire(cutoffMs int64) {
	s.Expired = s.Expired[:0]
	for s.idemHead < len(s.idemOrder) {
		k := s.idemOrder[s.idemHead]
		if r, ok := s.Idem[k]; ok && r.TimeMs >= cutoffMs {
			break
		}
		delete(s.Idem, k)
		s.Expired = append(s.Expired, k)
		s.idemOrder[s.idemHead] = IdemKey{}
		s.idemHead++
	}
	if s.idemHead > len(s.idemOrder)/2 {
		s.idemOrder = append(s.idemOrder[:0], s.idemOrder[s.idemHead:]...)
		s.idemHead = 0
	}
}

// IdemKeys returns the live idempotency keys in the order they were recorded.
func (s *State) IdemKeys() []IdemKey { return s.idemOrder[s.idemHead:] }

// RecordOf is the idempotency record an outcome event leaves behind.
func RecordOf(ev *Event) IdemRecord {
	return IdemRecord{User: ev.User, Amount: ev.Amount, Code: ev.Code, Value: ev.Balance, TimeMs: ev.TimeMs}
}

// KeyOf is the idempotency key of an outcome event.
func KeyOf(ev *Event) IdemKey {
	switch ev.Type {
	case EvCredited:
		return IdemKey{Op: OpCredit, Reference: ev.Reference}
	case EvDeducted, EvDeductRejected:
		return IdemKey{Partner: ev.Partner, Op: OpDeduct, Reference: ev.Reference}
	case EvRefunded, EvRefundRejected:
		return IdemKey{Partner: ev.Partner, Op: OpRefund, Reference: ev.Reference}
	}
	return IdemKey{}
}

func invariant(what string, ev *Event, got int64) string {
	return fmt.Sprintf("engine: invariant %q violated by event type %d user %q partner %q reference %q (value %d)",
		what, ev.Type, ev.User, ev.Partner, ev.Reference, got)
}
