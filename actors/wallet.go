package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

// walletActor owns one user's working balance.
type walletActor struct {
	sys   *System
	user  string
	entry *entry
	w     *engine.Wallet // nil: no such user
	loading
}

// inspectWallet asks a wallet actor for a copy of its working state.
type inspectWallet struct {
	reply chan *engine.Wallet
}

func (a *walletActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		a.sys.committer.in <- item{kind: itemLoad, entity: engine.Entity{Kind: payshards.Wallet, ID: a.user}, pid: ctx.Self()}
	case *loaded:
		a.w, _ = m.state.(*engine.Wallet)
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
	case *passivate:
		if a.sys.wallets.retire(a.user, a.entry) {
			ctx.Stop(ctx.Self()) // the state lives on in the engine
		}
	case *inspectWallet:
		if a.w == nil {
			m.reply <- nil
		} else {
			m.reply <- a.w.Clone()
		}
	}
}

// maybeRetire stops the actor of a user that does not exist, so requests
// for unknown users leave nothing behind.
func (a *walletActor) maybeRetire(ctx actor.Context) {
	if a.w == nil && a.sys.wallets.retire(a.user, a.entry) {
		ctx.Stop(ctx.Self())
	}
}

func (a *walletActor) handle(op *Op) {
	defer a.entry.inflight.Add(-1)
	now := a.sys.cfg.Now().UnixMilli()
	switch op.Kind {
	case KindBalance:
		a.read(op)
	case KindDeduct:
		a.emit(payshards.DecideDeduct(a.w, op.Partner, a.user, op.Reference, op.Amount, now), op)
	case KindRefund:
		a.emit(payshards.DecideRefund(a.w, op.Partner, a.user, op.Reference, op.Amount, now), op)
	case KindCredit:
		ev, ok := payshards.DecideCredit(a.w, a.user, op.Reference, op.Amount, now)
		if !ok {
			a.sys.releaseReference(op, StatusBalanceLimit)
			return
		}
		a.emit(ev, op)
	}
}

// read answers a balance query once every event this wallet emitted is
// durable: at once when none is pending, else behind them in the
// committer's queue.
func (a *walletActor) read(op *Op) {
	op.Status, op.Balance = StatusOK, 0
	if a.w == nil {
		op.Status = StatusUnknownUser
	} else {
		op.Balance = a.w.Balance
	}
	if a.entry.pending.Load() == 0 {
		op.reply()
		return
	}
	a.sys.committer.in <- item{kind: itemBarrier, op: op}
}

// emit applies the decided event to the working state at once and hands it
// to the committer; the Op is answered when the event is durable.
func (a *walletActor) emit(ev engine.Event, op *Op) {
	a.w = payshards.ApplyWallet(a.w, ev)
	code, value := payshards.Result(ev)
	op.Status, op.Balance = statusOf(code), value
	a.entry.pending.Add(1)
	a.sys.committer.in <- item{kind: itemEvent, ev: ev, op: op, wallet: a.entry}
}

// loadWallet is the wallet kind's Loader: a copy of the durable wallet.
func loadWallet(st *engine.State, user string) any {
	if d := st.Wallets[user]; d != nil {
		return d.Clone()
	}
	return (*engine.Wallet)(nil)
}
