package engine

// The Decide functions turn a validated command into the event that records
// its outcome. They are pure: the caller supplies the time and the wallet
// (nil when the user does not exist). Apply then makes the event true.

// DecideDeduct decides a partner's debit of amount from w.
func DecideDeduct(w *Wallet, partner, user, reference string, amount, timeMs int64) Event {
	ev := Event{Type: EvDeducted, TimeMs: timeMs, Partner: partner, User: user, Reference: reference, Amount: amount}
	switch {
	case w == nil:
		ev.Type, ev.Code = EvDeductRejected, CodeUnknownUser
	case w.Balance < amount:
		ev.Type, ev.Code, ev.Balance = EvDeductRejected, CodeInsufficient, w.Balance
	default:
		ev.Balance = w.Balance - amount
	}
	return ev
}

// DecideRefund decides a partner's credit back of amount to w. A partner can
// never give back more than it took from this user and has not yet refunded.
func DecideRefund(w *Wallet, partner, user, reference string, amount, timeMs int64) Event {
	ev := Event{Type: EvRefunded, TimeMs: timeMs, Partner: partner, User: user, Reference: reference, Amount: amount}
	switch {
	case w == nil:
		ev.Type, ev.Code = EvRefundRejected, CodeUnknownUser
	case w.RefundableFor(partner) < amount:
		ev.Type, ev.Code, ev.Balance = EvRefundRejected, CodeRefundExceeds, w.RefundableFor(partner)
	case w.Balance > MaxBalance-amount:
		// Cannot happen while refunds are bounded by deductions; kept so the
		// overflow check is next to the arithmetic.
		ev.Type, ev.Code, ev.Balance = EvRefundRejected, CodeRefundExceeds, w.RefundableFor(partner)
	default:
		ev.Balance = w.Balance + amount
	}
	return ev
}

// DecideCredit decides an operator top-up; it creates the wallet if new. A
// credit that would overflow the balance cap is refused with CodeInsufficient
// semantics inverted: the caller maps it to a 409.
func DecideCredit(w *Wallet, user, reference string, amount, timeMs int64) (Event, bool) {
	var balance int64
	if w != nil {
		balance = w.Balance
	}
	if balance > MaxBalance-amount {
		return Event{}, false
	}
	return Event{Type: EvCredited, TimeMs: timeMs, User: user, Reference: reference, Amount: amount, Balance: balance + amount}, true
}

// MaxBalance caps a wallet so that no sum of int64 amounts can overflow.
const MaxBalance = 1 << 62

// ApplyWallet applies a wallet event to w and returns the wallet after it
// (a new one for a first credit). It is the single definition of what a
// wallet event does, shared by the actors' working state and by State.Apply.
func ApplyWallet(w *Wallet, ev *Event) *Wallet {
	switch ev.Type {
	case EvCredited:
		if w == nil {
			w = &Wallet{}
		}
		w.Balance += ev.Amount
	case EvDeducted:
		mustExist(w, ev)
		w.Balance -= ev.Amount
		w.addRefundable(ev.Partner, ev.Amount)
	case EvRefunded:
		mustExist(w, ev)
		w.Balance += ev.Amount
		w.addRefundable(ev.Partner, -ev.Amount)
	case EvDeductRejected, EvRefundRejected:
		return w // an outcome, no change
	default:
		panic("engine: not a wallet event")
	}
	if w.Balance < 0 || w.Balance != ev.Balance {
		panic(invariant("wallet balance", ev, w.Balance))
	}
	return w
}

func mustExist(w *Wallet, ev *Event) {
	if w == nil {
		panic(invariant("wallet exists", ev, 0))
	}
}

// DecideAttempt decides a validate or redeem call on a code (card nil when
// no such code exists). A code of another partner is not found, so codes
// leak nothing across partners. Precedence: not found, revoked, already
// redeemed, expired. The event is the audit record; for a successful
// redeem it is also the redemption. reference is the request's
// Idempotency-Key, or empty.
func DecideAttempt(card *Card, partner, code string, action Action, nowMs int64, requestID, redemptionID, reference string) Event {
	ev := Event{Type: EvCodeAttempt, TimeMs: nowMs, Partner: partner, Card: code, Action: action, RequestID: requestID, Reference: reference}
	switch {
	case card == nil || card.Partner != partner:
		ev.Code = CodeNotFound
		return ev
	case card.RevokedMs != 0:
		ev.Code = CodeRevoked
	case card.RedeemedMs != 0:
		ev.Code, ev.RedeemedMs = CodeAlreadyRedeemed, card.RedeemedMs
	case nowMs >= card.ExpiresMs:
		ev.Code = CodeExpired
	case action == ActionRedeem:
		ev.RedeemedMs, ev.RedemptionID = nowMs, redemptionID
	}
	ev.Tier, ev.Label, ev.ExpiresMs = card.Tier, card.Label, card.ExpiresMs
	return ev
}

// ApplyCard applies a code event to card: the single definition shared by
// the code actors' working state and State.Apply.
func ApplyCard(card *Card, ev *Event) {
	switch {
	case ev.Type == EvCodeRevoked:
		if card.RedeemedMs != 0 || card.RevokedMs != 0 {
			panic(invariant("revoke an unredeemed, unrevoked code", ev, 0))
		}
		card.RevokedMs = ev.TimeMs
	case ev.Type == EvCodeAttempt && ev.Action == ActionRedeem && ev.Code == CodeOK:
		if card.RedeemedMs != 0 || card.RevokedMs != 0 || ev.TimeMs >= card.ExpiresMs {
			panic(invariant("redeem a redeemable code", ev, 0))
		}
		card.RedeemedMs, card.RedemptionID = ev.TimeMs, ev.RedemptionID
	}
}
