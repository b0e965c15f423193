package actors

import (
	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// The PayPay.cards code kind (code/paypay/<code>): validate, redeem and
// revoke of one code are decided one at a time, so two concurrent redeems
// of one code can never both succeed. A code is used once or twice, so it
// is Inline: the committer decides an Op for a code that has no actor
// against its durable state, while the registry holds the code for it;
// what arrives for the code meanwhile goes to an actor that starts once
// that Op is answered, and retires as soon as nothing is queued for it.
func init() {
	RegisterEntity(EntityDef{
		Kind: paypay.CodeEntity, Ops: []Kind{KindValidate, KindRedeem, KindRevokeCode}, Inline: true,
		ID:     func(op *Op) string { return op.Card },
		Load:   loadCard,
		Handle: handleCode,
		Clone:  func(state any) any { c := *state.(*paypay.Card); return &c },
	})
}

// loadCard copies the durable code (nil: no such code).
func loadCard(st *engine.State, code string) any {
	if d := paypay.Cards(st)[code]; d != nil {
		cp := *d
		return &cp
	}
	return nil
}

func handleCode(e *Entity, op *Op) {
	card, _ := e.State.(*paypay.Card)
	now := e.NowMs()
	switch op.Kind {
	case KindValidate, KindRedeem:
		action := paypay.ActionValidate
		if op.Kind == KindRedeem {
			action = paypay.ActionRedeem
		}
		ev := paypay.DecideAttempt(card, op.Partner, e.ID(), action, now, op.RequestID, op.RedemptionID, op.Reference)
		if card != nil {
			paypay.ApplyCard(card, ev)
		}
		op.Status, op.Detail = statusOf(ev.Outcome), ev.Detail()
		e.Emit(ev, op)
	case KindRevokeCode:
		revokeCode(e, card, op, now)
	}
}

// revokeCode handles an operator's revocation: not found, refused once
// redeemed, a no-op when already revoked.
func revokeCode(e *Entity, card *paypay.Card, op *Op, now int64) {
	switch {
	case card == nil:
		op.finish(StatusNotFound, 0, false)
	case card.RedeemedMs != 0:
		op.Detail.RedeemedMs = card.RedeemedMs
		op.finish(StatusAlreadyRedeemed, 0, false)
	case card.RevokedMs != 0:
		op.Status = StatusOK
		e.barrier(op) // answered once the revocation is durable
	default:
		ev := &paypay.CodeRevoked{Stamp: engine.Stamp{TimeMs: now}, Partner: card.Partner, Code: e.ID()}
		paypay.ApplyCard(card, ev)
		op.Status = StatusOK
		e.Emit(ev, op)
	}
}
