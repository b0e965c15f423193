package payshards

import (
	"errors"
	"fmt"
	"slices"

	"ledgerd/engine"
)

// Event types: wire format, never renumber.
const (
	EvCredited       engine.EventType = 3 // an operator top-up of a user's wallet
	EvDeducted       engine.EventType = 4 // a partner debited a user's wallet
	EvDeductRejected engine.EventType = 5 // a deduct reached the wallet and was refused
	EvRefunded       engine.EventType = 6 // a partner credited back what it deducted
	EvRefundRejected engine.EventType = 7 // a refund reached the wallet and was refused
)

// Result codes: wire format (stored in events and records), never renumber.
const (
	CodeInsufficient  engine.Code = 1 // deduct larger than the balance
	CodeUnknownUser   engine.Code = 2 // no wallet for the user id
	CodeRefundExceeds engine.Code = 3 // refund beyond what the partner deducted
)

// Idempotency scopes: wire format, never renumber.
const (
	ScopeDeduct engine.Scope = 1
	ScopeRefund engine.Scope = 2
	ScopeCredit engine.Scope = 3 // operator top-ups (no partner)
)

// WalletEntity is the entity kind of a user's wallet actor.
var WalletEntity = engine.RegisterEntityKind("wallet/payshards")

// Credited is an operator top-up; it creates the wallet if new.
type Credited struct {
	engine.Stamp
	User         string
	Reference    string
	Amount       int64
	BalanceAfter int64
}

// Deducted is a partner's debit of a user's wallet.
type Deducted struct {
	engine.Stamp
	Partner      string
	User         string
	Reference    string
	Amount       int64
	BalanceAfter int64
}

// DeductRejected is a deduct the wallet refused: CodeUnknownUser, or
// CodeInsufficient with the Balance that was too low.
type DeductRejected struct {
	engine.Stamp
	Partner   string
	User      string
	Reference string
	Amount    int64
	Balance   int64 // the balance at the refusal (0 for an unknown user)
	Code      engine.Code
}

// Refunded is a partner's credit back of what it deducted.
type Refunded struct {
	engine.Stamp
	Partner      string
	User         string
	Reference    string
	Amount       int64
	BalanceAfter int64
}

// RefundRejected is a refund the wallet refused: CodeUnknownUser, or
// CodeRefundExceeds with what the partner could still refund.
type RefundRejected struct {
	engine.Stamp
	Partner    string
	User       string
	Reference  string
	Amount     int64
	Refundable int64 // what the partner could still refund (0 for an unknown user)
	Code       engine.Code
}

func (*Credited) EventType() engine.EventType       { return EvCredited }
func (*Deducted) EventType() engine.EventType       { return EvDeducted }
func (*DeductRejected) EventType() engine.EventType { return EvDeductRejected }
func (*Refunded) EventType() engine.EventType       { return EvRefunded }
func (*RefundRejected) EventType() engine.EventType { return EvRefundRejected }

// Result is what a wallet event answers: its code and the number the
// response shows (the new balance, the balance too low, or the refundable
// amount left).
func Result(ev engine.Event) (engine.Code, int64) {
	switch e := ev.(type) {
	case *Credited:
		return engine.CodeOK, e.BalanceAfter
	case *Deducted:
		return engine.CodeOK, e.BalanceAfter
	case *Refunded:
		return engine.CodeOK, e.BalanceAfter
	case *DeductRejected:
		return e.Code, e.Balance
	case *RefundRejected:
		return e.Code, e.Refundable
	}
	panic("payshards: not a wallet event")
}

// Wire layout of the partner events: partner, user, reference, amount,
// balance, code — one layout for the four, as version 1 of the log wrote.
type walletFields struct {
	partner, user, reference string
	amount, balance          int64
	code                     engine.Code
}

func (f walletFields) encode(w *engine.Writer) {
	w.Str(f.partner)
	w.Str(f.user)
	w.Str(f.reference)
	w.Int(f.amount)
	w.Int(f.balance)
	w.Int(int64(f.code))
}

func decodeFields(r *engine.Reader) walletFields {
	return walletFields{partner: r.Str(), user: r.Str(), reference: r.Str(), amount: r.Int(), balance: r.Int(),
		code: engine.Code(r.Small(255))}
}

func (f walletFields) validate(codes ...engine.Code) error {
	if f.amount < 1 || f.amount > engine.MaxAmount || f.balance < 0 || f.balance > MaxBalance {
		return errors.New("amount or balance out of range")
	}
	for _, c := range codes {
		if f.code == c {
			return nil
		}
	}
	return errors.New("result code out of range")
}

func record(user string, amount int64, code engine.Code, value, timeMs int64) engine.IdemRecord {
	return engine.IdemRecord{Fingerprint: user, Amount: amount, Code: code, Value: value, TimeMs: timeMs}
}

func wallet(user string) (engine.Entity, bool) {
	return engine.Entity{Kind: WalletEntity, ID: user}, true
}

func init() {
	engine.RegisterScope(ScopeDeduct, "payshards.deduct", engine.RetainReferences)
	engine.RegisterScope(ScopeRefund, "payshards.refund", engine.RetainReferences)
	engine.RegisterScope(ScopeCredit, "payshards.credit", engine.RetainReferences)
	engine.Register(engine.EventDef[*Credited]{Type: EvCredited, Name: "payshards.credited", Fields: 4,
		Encode: func(w *engine.Writer, ev *Credited) {
			w.Str(ev.User)
			w.Str(ev.Reference)
			w.Int(ev.Amount)
			w.Int(ev.BalanceAfter)
		},
		Decode: func(r *engine.Reader, t int64) *Credited {
			return &Credited{Stamp: engine.Stamp{TimeMs: t}, User: r.Str(), Reference: r.Str(), Amount: r.Int(), BalanceAfter: r.Int()}
		},
		Validate: func(ev *Credited) error {
			return walletFields{amount: ev.Amount, balance: ev.BalanceAfter}.validate(engine.CodeOK)
		},
		Apply: func(s *engine.State, ev *Credited) {
			ws := Wallets(s)
			ws[ev.User] = ApplyWallet(ws[ev.User], ev)
		},
		Entity: func(ev *Credited) (engine.Entity, bool) { return wallet(ev.User) },
		Idem: func(ev *Credited) (engine.IdemKey, engine.IdemRecord, bool) {
			return engine.IdemKey{Scope: ScopeCredit, Reference: ev.Reference}, record(ev.User, ev.Amount, engine.CodeOK, ev.BalanceAfter, ev.TimeMs), true
		},
	})
	registerPartnerEvent(EvDeducted, "payshards.deducted", ScopeDeduct,
		func(at engine.Stamp, f walletFields) *Deducted {
			return &Deducted{at, f.partner, f.user, f.reference, f.amount, f.balance}
		}, engine.CodeOK)
	registerPartnerEvent(EvDeductRejected, "payshards.deduct_rejected", ScopeDeduct,
		func(at engine.Stamp, f walletFields) *DeductRejected {
			return &DeductRejected{at, f.partner, f.user, f.reference, f.amount, f.balance, f.code}
		}, CodeInsufficient, CodeUnknownUser)
	registerPartnerEvent(EvRefunded, "payshards.refunded", ScopeRefund,
		func(at engine.Stamp, f walletFields) *Refunded {
			return &Refunded{at, f.partner, f.user, f.reference, f.amount, f.balance}
		}, engine.CodeOK)
	registerPartnerEvent(EvRefundRejected, "payshards.refund_rejected", ScopeRefund,
		func(at engine.Stamp, f walletFields) *RefundRejected {
			return &RefundRejected{at, f.partner, f.user, f.reference, f.amount, f.balance, f.code}
		}, CodeUnknownUser, CodeRefundExceeds)
}

// partnerEvent is one of the four partner events: one wire layout
// (walletFields), an idempotency record under the partner's reference.
type partnerEvent interface {
	engine.Event
	fields() walletFields
}

func (e *Deducted) fields() walletFields {
	return walletFields{e.Partner, e.User, e.Reference, e.Amount, e.BalanceAfter, engine.CodeOK}
}
func (e *DeductRejected) fields() walletFields {
	return walletFields{e.Partner, e.User, e.Reference, e.Amount, e.Balance, e.Code}
}
func (e *Refunded) fields() walletFields {
	return walletFields{e.Partner, e.User, e.Reference, e.Amount, e.BalanceAfter, engine.CodeOK}
}
func (e *RefundRejected) fields() walletFields {
	return walletFields{e.Partner, e.User, e.Reference, e.Amount, e.Refundable, e.Code}
}

// registerPartnerEvent registers one partner event type whose result
// code is one of codes (a success type has only engine.CodeOK, which its
// struct does not carry: a refusal code on the wire is refused).
func registerPartnerEvent[E partnerEvent](typ engine.EventType, name string, scope engine.Scope,
	build func(engine.Stamp, walletFields) E, codes ...engine.Code) {
	engine.Register(engine.EventDef[E]{Type: typ, Name: name, Fields: 6,
		Encode: func(w *engine.Writer, ev E) { ev.fields().encode(w) },
		Decode: func(r *engine.Reader, t int64) E {
			f := decodeFields(r)
			if !slices.Contains(codes, f.code) {
				r.Fail(fmt.Errorf("%s with result code %d", name, f.code))
			}
			return build(engine.Stamp{TimeMs: t}, f)
		},
		Validate: func(ev E) error { return ev.fields().validate(codes...) },
		Apply:    func(s *engine.State, ev E) { applyExisting(s, ev.fields().user, ev) },
		Entity:   func(ev E) (engine.Entity, bool) { return wallet(ev.fields().user) },
		Idem: func(ev E) (engine.IdemKey, engine.IdemRecord, bool) {
			f := ev.fields()
			return engine.IdemKey{Partner: f.partner, Scope: scope, Reference: f.reference},
				record(f.user, f.amount, f.code, f.balance, ev.Time()), true
		},
	})
}

// applyExisting applies a partner's wallet event to the durable wallet; a
// refusal for an unknown user is the one event without a wallet.
func applyExisting(s *engine.State, user string, ev engine.Event) {
	w := Wallets(s)[user]
	if w == nil {
		if code, _ := Result(ev); code != CodeUnknownUser {
			panic(engine.Invariant("wallet exists", ev, 0))
		}
		return
	}
	ApplyWallet(w, ev)
}
