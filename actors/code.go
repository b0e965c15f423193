package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// inspectCard asks a code actor for a copy of its working state.
type inspectCard struct{ reply chan *engine.Card }

// codeActor owns one PayPay.cards redeem code (code/paypay/<code>): it
// decides validate, redeem and revoke one at a time, so two concurrent
// redeems of one code can never both succeed. Codes are used rarely, so the
// actor retires as soon as nothing is queued for it; its state lives on in
// the engine and the next request loads it again.
type codeActor struct {
	sys   *System
	code  string
	entry *entry
	card  *engine.Card // nil: no such code
	loading
}

func (a *codeActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.sys.committer.in <- item{kind: itemLoad, entity: engine.Entity{Kind: paypay.CodeEntity, ID: a.code}, pid: ctx.Self()}
	case *loaded:
		a.card, _ = m.state.(*engine.Card)
		for _, op := range a.release() {
			a.handle(op)
		}
		a.maybeRetire(ctx)
	case *Op:
		if a.hold(m) {
			return
		}
		a.handle(m)
		a.maybeRetire(ctx)
	case *inspectCard:
		if a.card == nil {
			m.reply <- nil
		} else {
			c := *a.card
			m.reply <- &c
		}
	}
}

func (a *codeActor) maybeRetire(ctx actor.Context) {
	if a.sys.codes.retire(a.code, a.entry) {
		ctx.Stop(ctx.Self())
	}
}

func (a *codeActor) handle(op *Op) {
	defer a.entry.inflight.Add(-1)
	now := a.sys.cfg.Now().UnixMilli()
	switch op.Kind {
	case KindValidate, KindRedeem:
		action := paypay.ActionValidate
		if op.Kind == KindRedeem {
			action = paypay.ActionRedeem
		}
		ev := paypay.DecideAttempt(a.card, op.Partner, a.code, action, now, op.RequestID, op.RedemptionID, op.Reference)
		a.emit(ev, op)
	case KindRevokeCode:
		a.revoke(op, now)
	}
}

// revoke handles an operator's revocation: not found, refused once
// redeemed, a no-op when already revoked.
func (a *codeActor) revoke(op *Op, now int64) {
	switch {
	case a.card == nil:
		op.finish(StatusNotFound, 0, false)
	case a.card.RedeemedMs != 0:
		op.Detail.RedeemedMs = a.card.RedeemedMs
		op.finish(StatusAlreadyRedeemed, 0, false)
	case a.card.RevokedMs != 0:
		op.Status = StatusOK
		a.sys.committer.in <- item{kind: itemBarrier, op: op} // answered once the revocation is durable
	default:
		a.emit(&paypay.CodeRevoked{Stamp: engine.Stamp{TimeMs: now}, Partner: a.card.Partner, Code: a.code}, op)
	}
}

// emit applies the decided event to the working state at once and hands it
// to the committer; the Op is answered when the event is durable.
func (a *codeActor) emit(ev engine.Event, op *Op) {
	if a.card != nil {
		paypay.ApplyCard(a.card, ev)
	}
	op.Status = StatusOK
	if at, ok := ev.(*paypay.CodeAttempt); ok {
		op.Status, op.Detail = statusOf(at.Outcome), at.Detail()
	}
	a.sys.committer.in <- item{kind: itemEvent, ev: ev, op: op, wallet: a.entry}
}

// loadCard is the code kind's Loader: a copy of the durable code.
func loadCard(st *engine.State, code string) any {
	if d := st.Cards[code]; d != nil {
		cp := *d
		return &cp
	}
	return (*engine.Card)(nil)
}
