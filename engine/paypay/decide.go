package paypay

import "ledgerd/engine"

// DecideAttempt decides a validate or redeem call on a code (card nil when
// no such code exists). A code of another partner is not found, so codes
// leak nothing across partners. Precedence: not found, revoked, already
// redeemed, expired. The event is the audit record; for a successful
// redeem it is also the redemption. key is the request's Idempotency-Key,
// or empty.
func DecideAttempt(card *Card, partner, code string, action Action, nowMs int64, requestID, redemptionID, key string) *CodeAttempt {
	ev := &CodeAttempt{Stamp: engine.Stamp{TimeMs: nowMs}, Partner: partner, Code: code, Action: action, RequestID: requestID, Key: key}
	switch {
	case card == nil || card.Partner != partner:
		ev.Outcome = ResultNotFound
		return ev
	case card.RevokedMs != 0:
		ev.Outcome = ResultRevoked
	case card.RedeemedMs != 0:
		ev.Outcome, ev.RedeemedMs = ResultAlreadyRedeemed, card.RedeemedMs
	case nowMs >= card.ExpiresMs:
		ev.Outcome = ResultExpired
	case action == ActionRedeem:
		ev.RedeemedMs, ev.RedemptionID = nowMs, redemptionID
	}
	ev.Tier, ev.Label, ev.ExpiresMs = card.Tier, card.Label, card.ExpiresMs
	return ev
}

// ApplyCard applies a code event to card: the single definition shared by
// the code actors' working state and the committer's durable state.
func ApplyCard(card *Card, ev engine.Event) {
	switch e := ev.(type) {
	case *CodeRevoked:
		if card.RedeemedMs != 0 || card.RevokedMs != 0 {
			panic(engine.Invariant("revoke an unredeemed, unrevoked code", ev, 0))
		}
		card.RevokedMs = e.TimeMs
	case *CodeAttempt:
		if e.Action != ActionRedeem || e.Outcome != engine.CodeOK {
			return
		}
		if card.RedeemedMs != 0 || card.RevokedMs != 0 || e.TimeMs >= card.ExpiresMs {
			panic(engine.Invariant("redeem a redeemable code", ev, 0))
		}
		card.RedeemedMs, card.RedemptionID = e.TimeMs, e.RedemptionID
	}
}
