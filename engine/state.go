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
}

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
