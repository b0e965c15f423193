package paypay

import "ledgerd/engine"

// State is PayPay.cards' section of an engine.State: the redeem codes, the
// audit of validate and redeem calls, and the audit's sequence counter.
// The committer owns it (through the engine.State); read it with Of,
// Cards or Attempts.
type State struct {
	Cards    map[string]*Card       // redeem code -> code
	Attempts map[string]*AttemptLog // partner id -> audit of validate and redeem calls
	Attempt  uint64                 // last Attempt.Seq given
}

// Entries is what a snapshot of the section holds (engine.State.Entries),
// counted as the engine always has: the codes.
func (s *State) Entries() int { return len(s.Cards) }

var stateKey = engine.RegisterState("paypay", func() any {
	return &State{Cards: make(map[string]*Card), Attempts: make(map[string]*AttemptLog)}
})

// Of is PayPay.cards' section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

// Cards is st's redeem codes by code.
func Cards(st *engine.State) map[string]*Card { return Of(st).Cards }

// Attempts is st's audit logs by partner id.
func Attempts(st *engine.State) map[string]*AttemptLog { return Of(st).Attempts }

// Card is a PayPay.cards redeem code.
type Card struct {
	_msgpack     struct{} `msgpack:",as_array"`
	Partner      string
	Tier         string
	Label        string
	IssuedMs     int64
	ExpiresMs    int64
	RevokedMs    int64
	RedeemedMs   int64
	RedemptionID string
}

// Attempt is one audited validate or redeem call.
type Attempt struct {
	_msgpack  struct{} `msgpack:",as_array"`
	Seq       uint64   // increasing over the whole ledger: the cursor
	TimeMs    int64
	Card      string
	Action    Action
	Outcome   engine.Code
	RequestID string
}

// AttemptLog is one partner's audit records, oldest first.
type AttemptLog struct {
	items []Attempt
	head  int
}

// Items returns the live records, oldest first. Callers must not modify it.
func (l *AttemptLog) Items() []Attempt { return l.items[l.head:] }

// ExpireAttempts forgets the audit records made before cutoffMs.
func (s *State) ExpireAttempts(cutoffMs int64) {
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

// AddAttempt appends an audit record to a partner's log, giving it the
// next sequence number.
func (s *State) AddAttempt(partner string, a Attempt) {
	log := s.Attempts[partner]
	if log == nil {
		log = &AttemptLog{}
		s.Attempts[partner] = log
	}
	s.Attempt++
	a.Seq = s.Attempt
	log.items = append(log.items, a)
}
