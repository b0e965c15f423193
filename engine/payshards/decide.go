package payshards

import "ledgerd/engine"

// The Decide functions turn a validated command into the event that records
// its outcome. They are pure: the caller supplies the time and the wallet
// (nil when the user does not exist). Apply then makes the event true.

// MaxBalance caps a wallet so that no sum of int64 amounts can overflow.
const MaxBalance = engine.MaxBalance

// DecideDeduct decides a partner's debit of amount from w.
func DecideDeduct(w *Wallet, partner, user, reference string, amount, timeMs int64) engine.Event {
	at := engine.Stamp{TimeMs: timeMs}
	switch {
	case w == nil:
		return &DeductRejected{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount, Code: CodeUnknownUser}
	case w.Balance < amount:
		return &DeductRejected{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount,
			Balance: w.Balance, Code: CodeInsufficient}
	}
	return &Deducted{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount, BalanceAfter: w.Balance - amount}
}

// DecideRefund decides a partner's credit back of amount to w. A partner can
// never give back more than it took from this user and has not yet refunded.
func DecideRefund(w *Wallet, partner, user, reference string, amount, timeMs int64) engine.Event {
	at := engine.Stamp{TimeMs: timeMs}
	switch {
	case w == nil:
		return &RefundRejected{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount, Code: CodeUnknownUser}
	case w.RefundableFor(partner) < amount, w.Balance > MaxBalance-amount:
		// The second case cannot happen while refunds are bounded by
		// deductions; kept so the overflow check is next to the arithmetic.
		return &RefundRejected{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount,
			Refundable: w.RefundableFor(partner), Code: CodeRefundExceeds}
	}
	return &Refunded{Stamp: at, Partner: partner, User: user, Reference: reference, Amount: amount, BalanceAfter: w.Balance + amount}
}

// DecideCredit decides an operator top-up; it creates the wallet if new. A
// credit that would pass MaxBalance is refused (false): the caller maps it
// to a 409, and nothing is logged.
func DecideCredit(w *Wallet, user, reference string, amount, timeMs int64) (engine.Event, bool) {
	var balance int64
	if w != nil {
		balance = w.Balance
	}
	if balance > MaxBalance-amount {
		return nil, false
	}
	return &Credited{Stamp: engine.Stamp{TimeMs: timeMs}, User: user, Reference: reference, Amount: amount, BalanceAfter: balance + amount}, true
}

// ApplyWallet applies a wallet event to w and returns the wallet after it
// (a new one for a first credit). It is the single definition of what a
// wallet event does, shared by the actors' working state and by the
// committer's durable state.
func ApplyWallet(w *Wallet, ev engine.Event) *Wallet {
	var after int64
	switch e := ev.(type) {
	case *Credited:
		if w == nil {
			w = &Wallet{}
		}
		w.Balance += e.Amount
		after = e.BalanceAfter
	case *Deducted:
		mustExist(w, ev)
		w.Balance -= e.Amount
		w.AddRefundable(e.Partner, e.Amount)
		after = e.BalanceAfter
	case *Refunded:
		mustExist(w, ev)
		w.Balance += e.Amount
		w.AddRefundable(e.Partner, -e.Amount)
		after = e.BalanceAfter
	case *DeductRejected, *RefundRejected:
		return w // an outcome, no change
	default:
		panic("payshards: not a wallet event")
	}
	if w.Balance < 0 || w.Balance != after {
		panic(engine.Invariant("wallet balance", ev, w.Balance))
	}
	return w
}

func mustExist(w *Wallet, ev engine.Event) {
	if w == nil {
		panic(engine.Invariant("wallet exists", ev, 0))
	}
}
