package actors

import (
	"sync"

	"ledgerd/engine"
)

// Kind is what an Op asks for.
type Kind uint8

const (
	KindNone    Kind = iota // count against the rate limit only (a request that failed validation)
	KindBalance             // read a wallet's balance
	KindDeduct              // partner debit
	KindRefund              // partner credit back
	KindCredit              // operator top-up
)

// Status is an Op's outcome, mapped to each API's envelope by package api.
type Status uint8

const (
	StatusOK            Status = iota
	StatusRateLimited          // RetryAfterSec is set
	StatusInsufficient         // Balance is the current balance
	StatusUnknownUser          // no wallet
	StatusRefundExceeds        // Balance is what is still refundable
	StatusConflict             // reference reused with other parameters
	StatusBalanceLimit         // a credit would pass engine.MaxBalance
	StatusOverloaded           // too many requests queued for one wallet
)

func statusOf(c engine.Code) Status {
	switch c {
	case engine.CodeInsufficient:
		return StatusInsufficient
	case engine.CodeUnknownUser:
		return StatusUnknownUser
	case engine.CodeRefundExceeds:
		return StatusRefundExceeds
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
	RateLimit int64 // per minute for the key; 0 = no limiter hop
	User      string
	Reference string
	Amount    int64

	Status        Status
	Balance       int64 // new balance, current balance or refundable: see Status
	Idempotent    bool  // the result of an earlier request with this reference
	RetryAfterSec int64

	done chan struct{}
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
	switch op.Kind {
	case KindDeduct:
		return engine.IdemKey{Partner: op.Partner, Op: engine.OpDeduct, Reference: op.Reference}
	case KindRefund:
		return engine.IdemKey{Partner: op.Partner, Op: engine.OpRefund, Reference: op.Reference}
	}
	return engine.IdemKey{Op: engine.OpCredit, Reference: op.Reference}
}
