package actors

import (
	"sync"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
)

// Kind is what an Op asks for.
type Kind uint8

const (
	KindNone       Kind = iota // count against the rate limit only (a request that failed validation)
	KindBalance                // read a wallet's balance
	KindDeduct                 // partner debit
	KindRefund                 // partner credit back
	KindCredit                 // operator top-up
	KindValidate               // PayPay.cards: check a code (audited)
	KindRedeem                 // PayPay.cards: consume a code
	KindRevokeCode             // operator: revoke an unredeemed code

	kindsBuiltin // the first Kind NewKind hands out
)

var kindNames = map[Kind]string{}

// NewKind hands out an Op kind for a module's command (its EntityDef
// lists the kinds it owns). Call it from init.
func NewKind(name string) Kind {
	k := kindsBuiltin + Kind(len(kindNames))
	if k < kindsBuiltin {
		panic("actors: too many Op kinds")
	}
	kindNames[k] = name
	return k
}

// Status is an Op's outcome, mapped to each API's envelope by package api.
type Status uint8

const (
	StatusOK              Status = iota
	StatusRateLimited            // RetryAfterSec is set
	StatusInsufficient           // Balance is the current balance
	StatusUnknownUser            // no wallet
	StatusRefundExceeds          // Balance is what is still refundable
	StatusConflict               // reference reused with other parameters
	StatusBalanceLimit           // a credit would pass engine.MaxBalance
	StatusOverloaded             // too many requests queued for one wallet
	StatusNotFound               // no such code for this partner
	StatusExpired                // the code's expiry has passed
	StatusAlreadyRedeemed        // Detail.RedeemedMs says when
	StatusRevoked                // an operator revoked the code
)

func statusOf(c engine.Code) Status {
	switch c {
	case payshards.CodeInsufficient:
		return StatusInsufficient
	case payshards.CodeUnknownUser:
		return StatusUnknownUser
	case payshards.CodeRefundExceeds:
		return StatusRefundExceeds
	case paypay.ResultNotFound:
		return StatusNotFound
	case paypay.ResultExpired:
		return StatusExpired
	case paypay.ResultAlreadyRedeemed:
		return StatusAlreadyRedeemed
	case paypay.ResultRevoked:
		return StatusRevoked
	}
	return StatusOK
}

// Op is one request travelling through the actors. The caller fills the
// command fields, calls System.Do, and reads the result fields after it
// returns. An Op must not be reused while in flight.
type Op struct {
	Kind      Kind
	Partner   string // partner id; empty for operator credits
	KeyHash   [engine.KeyHashLen]byte
	RateLimit int64 // per minute for the key in RateClass; 0 = no limiter hop
	RateClass uint8 // the API's limit class of the request (0 when it has one); below MaxRateClasses
	User      string
	Reference string // PayShards reference, or PayPay.cards Idempotency-Key ("" = none)
	Amount    int64

	Card         string // PayPay.cards redeem code
	RequestID    string // the request's id, kept in the audit record
	RedemptionID string // the id a successful redeem will carry

	// A module's own command and result (modules registered after the
	// first two carry their fields here instead of growing Op), and the
	// idempotency scope of Reference for such a command.
	Cmd    any
	Result any
	Scope  engine.Scope
	// Fingerprint (with Amount) is what a retry of such a command must
	// repeat to reuse its Reference.
	Fingerprint string
	// ResponseStatus and Response are, on a replay (Idempotent), the first
	// answer as the command's event stored it (engine.IdemRecord).
	ResponseStatus uint16
	Response       string
	// Fresh marks a command that creates its entity under an id the API
	// has just drawn at random (a payment, a payment link): no actor
	// needs to exist for it, so it is decided on the caller's goroutine
	// while the registry holds the id (System.toOwner), and the committer
	// checks, before writing it, that the entity has no state after all.
	// Taken is the status it gets when it has (zero: StatusOverloaded).
	// Its Handle emits at most one event for the entity: the committer
	// checks each Fresh event on its own, and a second one would find the
	// first gathered and be refused.
	Fresh bool
	Taken Status

	Status        Status
	Balance       int64 // new balance, current balance or refundable: see Status
	Idempotent    bool  // the result of an earlier request with this reference
	RetryAfterSec int64
	Rate          Decision            // the limiter's window after this request (when RateLimit > 0)
	Detail        engine.RedeemDetail // PayPay.cards: what the code showed

	reloaded bool   // Entity.Reload has handed it back once
	claim    *claim // the registry's hold on a Fresh Op's id, given back once it is answered
	done     chan struct{}
}

var opPool = sync.Pool{New: func() any { return &Op{done: make(chan struct{}, 1)} }}

// NewOp returns a cleared Op from a pool; give it back with Release.
func NewOp() *Op { return opPool.Get().(*Op) }

// Release returns op to the pool. Call it only after Do has returned.
func (op *Op) Release() {
	done := op.done
	*op = Op{done: done}
	opPool.Put(op)
}

func (op *Op) reply() { op.done <- struct{}{} }

func (op *Op) finish(s Status, balance int64, idempotent bool) {
	op.Status, op.Balance, op.Idempotent = s, balance, idempotent
	op.reply()
}

func (op *Op) idemKey() engine.IdemKey {
	if op.Scope != 0 {
		return engine.IdemKey{Partner: op.Partner, Scope: op.Scope, Reference: op.Reference}
	}
	switch op.Kind {
	case KindRedeem:
		return engine.IdemKey{Partner: op.Partner, Scope: paypay.ScopeRedeemKey, Reference: op.Reference}
	case KindDeduct:
		return engine.IdemKey{Partner: op.Partner, Scope: payshards.ScopeDeduct, Reference: op.Reference}
	case KindRefund:
		return engine.IdemKey{Partner: op.Partner, Scope: payshards.ScopeRefund, Reference: op.Reference}
	}
	return engine.IdemKey{Scope: payshards.ScopeCredit, Reference: op.Reference}
}

// fingerprint is what a retry must repeat to reuse a reference: user and
// amount for PayShards, the code for an Idempotency-Key.
func (op *Op) fingerprint() (string, int64) {
	if op.Scope != 0 {
		return op.Fingerprint, op.Amount
	}
	if op.Kind == KindRedeem {
		return op.Card, 0
	}
	return op.User, op.Amount
}
