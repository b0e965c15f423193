package engine

import "crypto/sha256"

// Wire format constants: stored in the WAL and in snapshots. Never renumber.

// EventType identifies the kind of an event.
type EventType uint8

const (
	EvPartnerCreated EventType = 1 // a partner account and its first API key
	EvPartnerStatus  EventType = 2 // a partner became active or inactive
	EvCredited       EventType = 3 // an operator top-up of a user's wallet
	EvDeducted       EventType = 4 // a partner debited a user's wallet
	EvDeductRejected EventType = 5 // a deduct reached the wallet and was refused
	EvRefunded       EventType = 6 // a partner credited back what it deducted
	EvRefundRejected EventType = 7 // a refund reached the wallet and was refused
	EvIdemExpired    EventType = 8 // reference records (deduct, refund, credit) older than Amount (unix ms) are forgotten

	EvKeyAdded         EventType = 9  // a partner got another API key
	EvKeyRevoked       EventType = 10 // an API key stopped working
	EvPartnerRateLimit EventType = 11 // a partner's requests-per-minute changed
	EvCodesIssued      EventType = 12 // a batch of PayPay.cards redeem codes
	EvCodeRevoked      EventType = 13 // an operator revoked an unredeemed code
	EvCodeAttempt      EventType = 14 // a validate or redeem call reached a code: audit, and on a successful redeem the redemption
	EvKeysExpired      EventType = 15 // Idempotency-Key records older than Amount (unix ms) are forgotten
	EvAttemptsExpired  EventType = 16 // audit records older than Amount (unix ms) are forgotten
)

// Op is the operation an idempotency record belongs to.
type Op uint8

const (
	OpDeduct    Op = 1
	OpRefund    Op = 2
	OpCredit    Op = 3
	OpRedeemKey Op = 4 // PayPay.cards Idempotency-Key on /redeem
)

// Code is the outcome of a command: a business result, not an error.
type Code uint8

const (
	CodeOK              Code = 0
	CodeInsufficient    Code = 1 // deduct larger than the balance
	CodeUnknownUser     Code = 2 // no wallet for the user id
	CodeRefundExceeds   Code = 3 // refund beyond what the partner deducted
	CodeNotFound        Code = 4 // no such redeem code for this partner
	CodeExpired         Code = 5
	CodeAlreadyRedeemed Code = 6
	CodeRevoked         Code = 7
)

// Action is what a PayPay.cards call asked of a code.
type Action uint8

const (
	ActionValidate Action = 1
	ActionRedeem   Action = 2
)

// Partner status values, as the admin API spells them.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Limits on every input that reaches the state.
const (
	MaxAmount       = 9007199254740991 // 2^53-1: exact in every JSON client
	MaxUserIDLen    = 128
	MaxReferenceLen = 255
	MaxNameLen      = 200
	KeyHashLen      = sha256.Size
	MaxCodesIssued  = 10_000 // codes in one EvCodesIssued
)

// Event is one fact in the log. It is a flat record: each type uses the
// fields listed in its encoder (codec.go); the others stay zero.
type Event struct {
	Type      EventType
	TimeMs    int64  // unix milliseconds, stamped by the actor that decided it
	Partner   string // partner id (empty for operator credits)
	User      string
	Reference string
	Amount    int64
	// Balance is the wallet balance after the event (Credited, Deducted,
	// Refunded), the balance that was too low (DeductRejected,
	// CodeInsufficient), or what was still refundable (RefundRejected,
	// CodeRefundExceeds).
	Balance int64
	Code    Code

	// Partner fields.
	API       string
	Name      string
	Status    string
	RateLimit int64 // requests per minute
	KeyID     string
	KeyHash   []byte
	KeyHint   string // the key's last 4 characters, for listing keys

	// Redeem-code fields.
	Card         string   // one code
	Codes        []string // issued codes
	Action       Action
	Tier         string
	Label        string
	ExpiresMs    int64
	RedeemedMs   int64
	RequestID    string
	RedemptionID string
}

// IdemKey scopes a reference: one partner, one operation.
type IdemKey struct {
	Partner   string
	Op        Op
	Reference string
}

// IdemRecord is the first outcome for an IdemKey: a retry gets it again.
// For an Idempotency-Key (OpRedeemKey), User holds the redeem code the
// request named and Detail what its response showed.
type IdemRecord struct {
	User   string
	Amount int64
	Code   Code
	Value  int64 // new balance on success, else the event's Balance
	TimeMs int64
	Detail *RedeemDetail `msgpack:",omitempty"`
}

// RedeemDetail is what a redeem response showed, kept so a retry with the
// same Idempotency-Key gets the same answer.
type RedeemDetail struct {
	_msgpack     struct{} `msgpack:",as_array"`
	RequestID    string
	RedemptionID string
	Tier         string
	Label        string
	ExpiresMs    int64
	RedeemedMs   int64
}

// Matches reports whether a retried command carries the original parameters.
func (r IdemRecord) Matches(user string, amount int64) bool {
	return r.User == user && r.Amount == amount
}

// Partner is a partner account of one API.
type Partner struct {
	ID        string
	API       string
	Name      string
	Status    string
	RateLimit int64
	Keys      []APIKey // in creation order
	CreatedMs int64
}

// APIKey is a partner key as stored: its SHA-256, never the key itself.
type APIKey struct {
	_msgpack  struct{} `msgpack:",as_array"`
	ID        string
	Hash      []byte
	Hint      string // last 4 characters
	CreatedMs int64
	RevokedMs int64 // 0 while the key works
}

// Key returns the partner's key with id, or nil.
func (p *Partner) Key(id string) *APIKey {
	for i := range p.Keys {
		if p.Keys[i].ID == id {
			return &p.Keys[i]
		}
	}
	return nil
}

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
	Outcome   Code
	RequestID string
}

// Active reports whether the partner may call its API.
func (p *Partner) Active() bool { return p.Status == StatusActive }

// Refundable is what one partner has deducted from a wallet and not refunded.
type Refundable struct {
	Partner string
	Amount  int64
}

// Wallet is a PayShards user's shard balance. Users are global: every
// partner spends from the same balance.
type Wallet struct {
	Balance    int64
	Refundable []Refundable // few partners per user: a slice beats a map
}

// RefundableFor returns what partner may still refund to this wallet.
func (w *Wallet) RefundableFor(partner string) int64 {
	for _, r := range w.Refundable {
		if r.Partner == partner {
			return r.Amount
		}
	}
	return 0
}

func (w *Wallet) addRefundable(partner string, delta int64) {
	for i := range w.Refundable {
		if w.Refundable[i].Partner == partner {
			w.Refundable[i].Amount += delta
			if w.Refundable[i].Amount < 0 {
				panic("engine: refundable below zero for partner " + partner)
			}
			if w.Refundable[i].Amount == 0 {
				w.Refundable = append(w.Refundable[:i], w.Refundable[i+1:]...)
			}
			return
		}
	}
	if delta < 0 {
		panic("engine: refund without deduction for partner " + partner)
	}
	w.Refundable = append(w.Refundable, Refundable{Partner: partner, Amount: delta})
}

// Clone returns a deep copy, for handing a wallet to another owner.
func (w *Wallet) Clone() *Wallet {
	c := &Wallet{Balance: w.Balance}
	if len(w.Refundable) > 0 {
		c.Refundable = append([]Refundable(nil), w.Refundable...)
	}
	return c
}

// Equal reports whether two wallets hold the same state.
func (w *Wallet) Equal(o *Wallet) bool {
	if w.Balance != o.Balance || len(w.Refundable) != len(o.Refundable) {
		return false
	}
	for _, r := range w.Refundable {
		if o.RefundableFor(r.Partner) != r.Amount {
			return false
		}
	}
	return true
}

// HashKey is how API keys are stored and looked up: never in plain text.
func HashKey(key []byte) [KeyHashLen]byte { return sha256.Sum256(key) }
