package actors

import (
	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

// The PayShards wallet kind (wallet/payshards/<user>): one actor owns one
// user's working balance, decides deducts, refunds and top-ups with the
// module's Decide functions, and answers balance reads once what it
// emitted is durable.
func init() {
	RegisterEntity(EntityDef{
		Kind: payshards.WalletEntity, Ops: []Kind{KindBalance, KindDeduct, KindRefund, KindCredit},
		ID:       func(op *Op) string { return op.User },
		Load:     loadWallet,
		Handle:   handleWallet,
		Resident: true,
		Clone:    func(state any) any { return state.(*payshards.Wallet).Clone() },
	})
}

// loadWallet copies the durable wallet (nil: no such user).
func loadWallet(st *engine.State, user string) any {
	if d := payshards.Wallets(st)[user]; d != nil {
		return d.Clone()
	}
	return nil
}

func handleWallet(e *Entity, op *Op) {
	w, _ := e.State.(*payshards.Wallet)
	now := e.NowMs()
	switch op.Kind {
	case KindBalance:
		op.Status, op.Balance = StatusOK, 0
		if w == nil {
			op.Status = StatusUnknownUser
		} else {
			op.Balance = w.Balance
		}
		e.ReadDurable(op)
	case KindDeduct:
		emitWallet(e, w, payshards.DecideDeduct(w, op.Partner, e.ID(), op.Reference, op.Amount, now), op)
	case KindRefund:
		emitWallet(e, w, payshards.DecideRefund(w, op.Partner, e.ID(), op.Reference, op.Amount, now), op)
	case KindCredit:
		ev, ok := payshards.DecideCredit(w, e.ID(), op.Reference, op.Amount, now)
		if !ok {
			e.Release(op, StatusBalanceLimit)
			return
		}
		emitWallet(e, w, ev, op)
	}
}

// emitWallet applies the decided event to the working state at once and
// hands it to the committer; the Op is answered when the event is durable.
func emitWallet(e *Entity, w *payshards.Wallet, ev engine.Event, op *Op) {
	if w = payshards.ApplyWallet(w, ev); w != nil {
		e.State = w
	}
	code, value := payshards.Result(ev)
	op.Status, op.Balance = statusOf(code), value
	e.Emit(ev, op)
}
