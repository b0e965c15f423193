package checkout

import (
	"ledgerd/actors"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// Op kinds, one per command.
var (
	kindCreate = actors.NewKind("checkout.create_payment")
	kindSubmit = actors.NewKind("checkout.submit_card")
	kindExpire = actors.NewKind("checkout.expire_payment")
	kindRefund = actors.NewKind("checkout.refund_payment")
)

// The payment entity: not resident (a payment is written a few times at
// most and read through ReadState).
func init() {
	actors.RegisterEntity(actors.EntityDef{Kind: ck.PaymentEntity,
		Ops: []actors.Kind{kindCreate, kindSubmit, kindExpire, kindRefund},
		ID:  func(op *actors.Op) string { return op.Cmd.(command).entity() },
		Load: func(st *engine.State, id string) any {
			if p, ok := ck.PaymentByID(st, id); ok {
				return &p
			}
			return nil
		},
		Handle: handle,
		Clone: func(state any) any {
			p := *state.(*ck.Payment)
			return &p
		},
	})
}

// command is what every command carries.
type command interface{ entity() string }

// base is the part of a state-dependent, idempotent command.
type base struct {
	id     string
	owner  ck.Owner
	ans    ck.Answer
	render Render
}

func (b *base) entity() string { return b.id }

type reply struct {
	status int64
	body   []byte
}

type stamped interface {
	engine.Event
	SetTime(ms int64)
}

// decided is a creation the API decided whole.
type decided struct {
	id    string
	ev    stamped
	state *ck.Payment
	reply reply
}

func (d *decided) entity() string { return d.id }

type refund struct {
	base
	amount int64
	notice NoticeFunc
}

type submit struct {
	id     string
	card   Card
	notice NoticeFunc
}

func (s *submit) entity() string { return s.id }

type expire struct {
	id     string
	notice NoticeFunc
}

func (e *expire) entity() string { return e.id }

// bound is ans with the answer it binds (none without a key).
func bound(ans ck.Answer, status int64, body []byte) ck.Answer {
	if ans.Key == "" {
		return ck.Answer{}
	}
	ans.Status, ans.Response = status, body
	return ans
}

// emit stamps ev, makes next (when non-nil) the working state and hands ev
// to the committer; op is answered once it is durable. An event its
// Validate refuses (a bug of the caller) or an answer too large is never
// emitted: StatusOverloaded, nothing changes.
func emit(e *actors.Entity, op *actors.Op, ev stamped, result any, next *ck.Payment) {
	ev.SetTime(e.NowMs())
	if engine.Validate(ev) != nil {
		e.Release(op, actors.StatusOverloaded)
		return
	}
	if next != nil {
		e.State = next
	}
	op.Status, op.Result = actors.StatusOK, result
	e.Emit(ev, op)
}

func handle(e *actors.Entity, op *actors.Op) {
	cur, _ := e.State.(*ck.Payment)
	switch c := op.Cmd.(type) {
	case *decided:
		if cur != nil || len(c.reply.body) > ck.MaxBody { // ids are random: a collision
			e.Release(op, actors.StatusOverloaded)
			return
		}
		emit(e, op, c.ev, &c.reply, c.state)
	case *refund:
		handleRefund(e, op, cur, c)
	case *submit:
		handleSubmit(e, op, cur, c)
	case *expire:
		handleExpire(e, op, cur, c)
	}
}

// answer replies with a payment's state when nothing changes, once what
// this actor emitted is durable.
func answer(e *actors.Entity, op *actors.Op, o Outcome, p *ck.Payment) {
	s := &Submission{Outcome: o}
	if p != nil {
		s.Payment = *p
	}
	op.Status, op.Result = actors.StatusOK, s
	e.ReadDurable(op)
}

func handleSubmit(e *actors.Entity, op *actors.Op, cur *ck.Payment, c *submit) {
	switch {
	case cur == nil:
		answer(e, op, OutcomeMissing, nil)
		return
	case !cur.Open():
		answer(e, op, OutcomeClosed, cur)
		return
	case e.NowMs() >= cur.ExpiresMs:
		expireNow(e, op, cur, c.notice)
		return
	}
	next := *cur
	if c.card.Approved {
		next.Status, next.CompletedMs, next.CardBrand, next.CardLast4 = ck.StatusCompleted, e.NowMs(), c.card.Brand, c.card.Last4
		ev := &ck.PaymentCompleted{Owner: cur.Owner, ID: cur.ID, CardBrand: c.card.Brand, CardLast4: c.card.Last4}
		ev.Notice = c.notice(&next, ck.EventPaymentCompleted)
		emit(e, op, ev, &Submission{Outcome: OutcomeCompleted, Payment: next}, &next)
		return
	}
	next.Attempts++
	next.LastDecline = c.card.DeclineCode
	ev := &ck.PaymentDeclined{Owner: cur.Owner, ID: cur.ID, Attempt: next.Attempts, DeclineCode: c.card.DeclineCode}
	if next.Attempts == ck.MaxAttempts {
		next.Status, next.FailureReason, next.FailedMs = ck.StatusFailed, ck.ReasonTooManyAttempts, e.NowMs()
		ev.Notice = c.notice(&next, ck.EventPaymentFailed)
	}
	emit(e, op, ev, &Submission{Outcome: OutcomeDeclined, Payment: next}, &next)
}

func handleExpire(e *actors.Entity, op *actors.Op, cur *ck.Payment, c *expire) {
	switch {
	case cur == nil:
		answer(e, op, OutcomeMissing, nil)
	case !cur.Open():
		answer(e, op, OutcomeClosed, cur)
	case e.NowMs() < cur.ExpiresMs:
		answer(e, op, OutcomeDeclined, cur) // pending, not due: unchanged
	default:
		expireNow(e, op, cur, c.notice)
	}
}

func expireNow(e *actors.Entity, op *actors.Op, cur *ck.Payment, notice NoticeFunc) {
	next := *cur
	next.Status, next.FailureReason, next.FailedMs = ck.StatusFailed, ck.ReasonExpired, e.NowMs()
	ev := &ck.PaymentExpired{Owner: cur.Owner, ID: cur.ID, Notice: notice(&next, ck.EventPaymentFailed)}
	emit(e, op, ev, &Submission{Outcome: OutcomeExpired, Payment: next}, &next)
}

func handleRefund(e *actors.Entity, op *actors.Op, cur *ck.Payment, c *refund) {
	refuse := func(code string) {
		status, body := c.render(Refusal{Code: code, ID: c.id})
		if len(body) > ck.MaxBody {
			e.Release(op, actors.StatusOverloaded)
			return
		}
		if c.ans.Key == "" {
			op.Status, op.Result = actors.StatusOK, &reply{status, body}
			e.ReadDurable(op)
			return
		}
		emit(e, op, &ck.Refused{Owner: c.owner, Answer: bound(c.ans, status, body)}, &reply{status, body}, nil)
	}
	switch {
	case cur == nil || cur.Owner != c.owner:
		refuse(CodeNotFound)
		return
	case cur.Status != ck.StatusCompleted:
		refuse(CodeNotRefundable)
		return
	}
	left := cur.Amount - cur.AmountRefunded
	amount := c.amount
	if amount == 0 {
		amount = left
	}
	if amount > left {
		refuse(CodeRefundTooLarge)
		return
	}
	next := *cur
	next.AmountRefunded += amount
	if next.AmountRefunded == next.Amount {
		next.Status = ck.StatusRefunded
	}
	status, body := c.render(&next)
	if len(body) > ck.MaxBody {
		e.Release(op, actors.StatusOverloaded)
		return
	}
	ev := &ck.PaymentRefunded{Owner: cur.Owner, ID: cur.ID, Amount: amount, AmountRefundedAfter: next.AmountRefunded,
		Notice: c.notice(&next, ck.EventPaymentRefunded), Answer: bound(c.ans, status, body)}
	emit(e, op, ev, &reply{status, body}, &next)
}
