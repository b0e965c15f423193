package paychat

import (
	"maps"

	"ledgerd/actors"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// Op kinds, one per command.
var (
	kindRegister = actors.NewKind("paychat.register")
	kindPay      = actors.NewKind("paychat.pay")
	kindCreate   = actors.NewKind("paychat.create_payment")
	kindWithdraw = actors.NewKind("paychat.withdraw")
	kindWebhook  = actors.NewKind("paychat.set_webhook")
	kindDeposit  = actors.NewKind("paychat.deposit")
	kindAssign   = actors.NewKind("paychat.assign_deposit")
)

// Working states.
type (
	partnerState struct{ balance int64 }
	userState    struct {
		balance int64
		partner string // the partner registered for this Telegram id, ""
	}
	linkState     struct{}
	depositsState struct {
		deposited int64
		byHash    map[string]pc.Deposit
	}
)

// command is what every command carries: the entity it is for.
type command interface{ entity() string }

type register struct{ partner pc.Partner }
type pay struct{ ev pc.PaymentPaid }
type create struct{ ev pc.PaymentCreated }
type withdraw struct{ ev pc.Withdrawn }
type setWebhook struct{ ev pc.WebhookSet }
type deposit struct{ d pc.Deposit }
type assign struct{ txHash, partner string }

func (c *register) entity() string   { return c.partner.TelegramID }
func (c *pay) entity() string        { return c.ev.Payer }
func (c *create) entity() string     { return c.ev.Payment.LinkID }
func (c *withdraw) entity() string   { return c.ev.Withdrawal.Partner }
func (c *setWebhook) entity() string { return c.ev.Partner }
func (*deposit) entity() string      { return pc.DepositsID }
func (*assign) entity() string       { return pc.DepositsID }

func init() {
	id := func(op *actors.Op) string { return op.Cmd.(command).entity() }
	actors.RegisterEntity(actors.EntityDef{Kind: pc.PartnerEntity, ID: id, Ops: []actors.Kind{kindWithdraw, kindWebhook},
		Resident: true,
		Load: func(st *engine.State, id string) any {
			if _, ok := pc.GetPartner(st, id); !ok {
				return nil
			}
			return &partnerState{balance: pc.BalanceOf(st, id).Available}
		},
		Handle: handlePartner,
		Clone:  func(s any) any { c := *s.(*partnerState); return &c },
	})
	actors.RegisterEntity(actors.EntityDef{Kind: pc.UserEntity, ID: id, Ops: []actors.Kind{kindRegister, kindPay},
		Load: func(st *engine.State, id string) any {
			s := &userState{}
			if u, ok := pc.GetUser(st, id); ok {
				s.balance = u.Balance
			}
			if p, ok := pc.PartnerByTelegram(st, id); ok {
				s.partner = p.ID
			}
			return s
		},
		Handle: handleUser,
	})
	actors.RegisterEntity(actors.EntityDef{Kind: pc.LinkEntity, ID: id, Ops: []actors.Kind{kindCreate},
		Load: func(st *engine.State, id string) any {
			if _, ok := pc.PaymentByLink(st, id); ok {
				return &linkState{}
			}
			return nil
		},
		Handle: handleLink,
	})
	actors.RegisterEntity(actors.EntityDef{Kind: pc.DepositsEntity, ID: id, Ops: []actors.Kind{kindDeposit, kindAssign},
		Resident: true,
		Load: func(st *engine.State, _ string) any {
			s := pc.Of(st)
			d := &depositsState{deposited: s.Deposited, byHash: make(map[string]pc.Deposit, len(s.Deposits))}
			for h, dep := range s.Deposits {
				d.byHash[h] = *dep
			}
			return d
		},
		Handle: handleDeposits,
		Clone: func(s any) any {
			d := *s.(*depositsState)
			d.byHash = maps.Clone(d.byHash)
			return &d
		},
	})
}

// stamped is an event whose time the actor sets.
type stamped interface {
	engine.Event
	SetTime(ms int64)
}

// emit stamps ev (unless the caller did) and hands it to the committer;
// op is answered once it is durable. An event its Validate refuses (a bug
// of the caller: the API validates its input first) is never emitted: it
// is answered StatusOverloaded and changes nothing.
func emit(e *actors.Entity, op *actors.Op, ev stamped) bool {
	if ev.Time() == 0 {
		ev.SetTime(e.NowMs())
	}
	if engine.Validate(ev) != nil {
		e.Release(op, actors.StatusOverloaded)
		return false
	}
	op.Status = actors.StatusOK
	e.Emit(ev, op)
	return true
}

func handlePartner(e *actors.Entity, op *actors.Op) {
	s, _ := e.State.(*partnerState)
	if s == nil {
		e.Release(op, actors.StatusUnknownUser)
		return
	}
	switch c := op.Cmd.(type) {
	case *withdraw:
		w := &c.ev.Withdrawal
		if s.balance < w.Amount+w.Fee {
			if !e.Reload(op) {
				op.Balance = s.balance
				e.Release(op, actors.StatusInsufficient)
			}
			return
		}
		if emit(e, op, &c.ev) {
			s.balance -= w.Amount + w.Fee
		}
	case *setWebhook:
		emit(e, op, &c.ev)
	}
}

func handleUser(e *actors.Entity, op *actors.Op) {
	s := e.State.(*userState)
	switch c := op.Cmd.(type) {
	case *register:
		if s.partner != "" {
			op.Result = s.partner
			e.Release(op, actors.StatusConflict)
			return
		}
		if emit(e, op, &pc.PartnerRegistered{Partner: c.partner}) {
			s.partner = c.partner.ID
		}
	case *pay:
		if s.balance < c.ev.Amount {
			if !e.Reload(op) {
				op.Balance = s.balance
				e.Release(op, actors.StatusInsufficient)
			}
			return
		}
		if emit(e, op, &c.ev) {
			s.balance -= c.ev.Amount // a void payment leaves this a lower bound: the next load corrects it
		}
	}
}

func handleLink(e *actors.Entity, op *actors.Op) {
	c := op.Cmd.(*create)
	if e.State != nil { // link ids are random: a collision, the caller draws another
		e.Release(op, actors.StatusAlreadyRedeemed)
		return
	}
	if emit(e, op, &c.ev) {
		e.State = &linkState{}
	}
}

func handleDeposits(e *actors.Entity, op *actors.Op) {
	s := e.State.(*depositsState)
	switch c := op.Cmd.(type) {
	case *deposit:
		d := c.d
		if old, ok := s.byHash[d.TxHash]; ok {
			op.Result = old
			if old.Memo != d.Memo || old.Amount != d.Amount || old.User != d.User {
				e.Release(op, actors.StatusConflict)
				return
			}
			op.Status, op.Idempotent = actors.StatusOK, true
			e.ReadDurable(op)
			return
		}
		if s.deposited+d.Amount > pc.MaxAmount {
			e.Release(op, actors.StatusBalanceLimit)
			return
		}
		ev := &pc.DepositReceived{Deposit: d}
		ev.SetTime(e.NowMs())
		ev.Deposit.CreatedMs = ev.TimeMs
		op.Result = ev.Deposit // set before emit: the committer may answer op at once
		if emit(e, op, ev) {
			s.deposited += d.Amount
			s.byHash[d.TxHash] = ev.Deposit
		}
	case *assign:
		d, ok := s.byHash[c.txHash]
		switch {
		case !ok:
			e.Release(op, actors.StatusNotFound)
			return
		case d.Status != pc.DepositHeld:
			op.Result = d
			e.Release(op, actors.StatusAlreadyRedeemed)
			return
		}
		ev := &pc.DepositAssigned{TxHash: c.txHash, Partner: c.partner}
		ev.SetTime(e.NowMs())
		d.Status, d.Partner, d.AssignedMs = pc.DepositCredited, c.partner, ev.TimeMs
		op.Result = d
		if emit(e, op, ev) {
			s.byHash[c.txHash] = d
		}
	}
}
