package checkout

import (
	"slices"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// checker holds checkout's invariants, recomputed from the events alone
// (sharing no code with Apply): a payment leaves pending once, to
// completed or failed; declined attempts are numbered 1, 2, ... and the
// fifth fails it; a refund is of a completed payment, refunds add up to
// at most its amount, and it is refunded exactly when they reach it; a
// failed payment has its reason; every notice of a shop with a webhook
// URL at its log position has its delivery in the outbox.
type checker struct {
	v          engine.Violations
	payments   map[string]*mpayment
	webhook    map[string]bool // shop id -> has a webhook URL
	deliveries []mdelivery
}

type mpayment struct {
	owner    Owner
	amount   int64
	status   string
	reason   string
	attempts int64
	refunded int64
}

type mdelivery struct{ id, event, shop string }

func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "checkout", New: newChecker})
}

func newChecker(v engine.Violations, st *engine.State, _ bool) engine.Checker {
	s := Of(st)
	c := &checker{v: v, payments: map[string]*mpayment{}, webhook: map[string]bool{}}
	for id, p := range s.Payments {
		c.payments[id] = &mpayment{owner: p.Owner, amount: p.Amount, status: p.Status, reason: p.FailureReason,
			attempts: p.Attempts, refunded: p.AmountRefunded}
	}
	for id, sh := range s.Shops {
		c.webhook[id] = sh.WebhookURL != ""
	}
	return c
}

func (c *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *ShopCreated:
		c.webhook[e.Shop.ID] = e.Shop.WebhookURL != ""
	case *ShopUpdated:
		c.webhook[e.Shop.ID] = e.Shop.WebhookURL != ""
	case *PaymentCreated:
		p := &e.Payment
		if c.payments[p.ID] != nil {
			c.v.Violate("checkout", "%s: payment %q created twice", at, p.ID)
		}
		c.payments[p.ID] = &mpayment{owner: p.Owner, amount: p.Amount, status: StatusPending}
	case *PaymentDeclined:
		if m := c.pending(at, e.Owner, e.ID, "declined"); m != nil {
			if e.Attempt != m.attempts+1 {
				c.v.Violate("checkout", "%s: payment %q declined attempt %d after %d", at, e.ID, e.Attempt, m.attempts)
			}
			m.attempts = e.Attempt
			if m.attempts >= MaxAttempts {
				m.status, m.reason = StatusFailed, ReasonTooManyAttempts
			}
		}
		c.notice(e.Owner, &e.Notice)
	case *PaymentCompleted:
		if m := c.pending(at, e.Owner, e.ID, "completed"); m != nil {
			m.status = StatusCompleted
		}
		c.notice(e.Owner, &e.Notice)
	case *PaymentExpired:
		if m := c.pending(at, e.Owner, e.ID, "expired"); m != nil {
			m.status, m.reason = StatusFailed, ReasonExpired
		}
		c.notice(e.Owner, &e.Notice)
	case *PaymentRefunded:
		c.refund(at, e)
		c.notice(e.Owner, &e.Notice)
	}
}

func (c *checker) pending(at string, o Owner, id, what string) *mpayment {
	m := c.payments[id]
	switch {
	case m == nil || m.owner != o:
		c.v.Violate("checkout", "%s: payment %q %s, but it does not exist for its owner", at, id, what)
		return nil
	case m.status != StatusPending:
		c.v.Violate("checkout", "%s: payment %q %s while %s", at, id, what, m.status)
		return nil
	}
	return m
}

func (c *checker) refund(at string, e *PaymentRefunded) {
	m := c.payments[e.ID]
	switch {
	case m == nil || m.owner != e.Owner:
		c.v.Violate("checkout", "%s: refund of unknown payment %q", at, e.ID)
		return
	case m.status != StatusCompleted:
		c.v.Violate("checkout", "%s: refund of payment %q while %s", at, e.ID, m.status)
	}
	m.refunded += e.Amount
	if m.refunded != e.AmountRefundedAfter || m.refunded > m.amount {
		c.v.Violate("checkout", "%s: refunds of payment %q add up to %d of %d, the event says %d", at, e.ID, m.refunded, m.amount, e.AmountRefundedAfter)
	}
	if m.refunded >= m.amount {
		m.status = StatusRefunded
	}
}

func (c *checker) notice(o Owner, n *Notice) {
	if n.ID != "" && c.webhook[o.Shop] {
		c.deliveries = append(c.deliveries, mdelivery{id: outbox.DeliveryID(n.ID, o.Shop), event: n.ID, shop: o.Shop})
	}
}

// Finish compares the model with the rebuilt state and checks the state's
// own payments: refunds at most the amount, statuses consistent.
func (c *checker) Finish(st *engine.State) {
	s := Of(st)
	if len(s.Payments) != len(c.payments) {
		c.v.Violate("checkout", "%d payments, the events give %d", len(s.Payments), len(c.payments))
	}
	ids := make([]string, 0, len(c.payments))
	for id := range c.payments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m, p := c.payments[id], s.Payments[id]
		if p == nil || p.Status != m.status || p.FailureReason != m.reason || p.Attempts != m.attempts ||
			p.AmountRefunded != m.refunded || p.Amount != m.amount {
			c.v.Violate("checkout", "payment %q: state %+v, the events give %+v", id, p, *m)
		}
	}
	pending := 0
	for id, p := range s.Payments {
		c.consistent(id, p)
		if p.Status == StatusPending {
			pending++
			if _, ok := s.Pending[id]; !ok {
				c.v.Violate("checkout", "pending payment %q is not in the pending set", id)
			}
		}
		if s.Tokens[p.Token] != id {
			c.v.Violate("checkout", "payment %q: its token does not lead to it", id)
		}
	}
	if pending != len(s.Pending) {
		c.v.Violate("checkout", "%d pending payments, the pending set holds %d", pending, len(s.Pending))
	}
	if why := s.expiry.check(s); why != "" {
		c.v.Violate("checkout", "expiry index: %s", why)
	}
	out := outbox.Of(st)
	for _, d := range c.deliveries {
		if got := out.Deliveries[d.id]; got == nil || got.EventID != d.event || got.Target != d.shop {
			c.v.Violate("checkout", "event %q: no delivery %q to shop %q in the outbox", d.event, d.id, d.shop)
		}
	}
}

func (c *checker) consistent(id string, p *Payment) {
	bad := func(what string) { c.v.Violate("checkout", "payment %q: %s (%+v)", id, what, *p) }
	if p.AmountRefunded < 0 || p.AmountRefunded > p.Amount {
		bad("refunded more than its amount")
	}
	switch p.Status {
	case StatusPending:
		if p.AmountRefunded != 0 || p.FailureReason != "" || p.Attempts >= MaxAttempts {
			bad("pending with refunds, a failure or too many attempts")
		}
	case StatusCompleted:
		if p.AmountRefunded == p.Amount || p.CompletedMs == 0 {
			bad("completed but fully refunded or never completed")
		}
	case StatusRefunded:
		if p.AmountRefunded != p.Amount || p.CompletedMs == 0 {
			bad("refunded but not fully")
		}
	case StatusFailed:
		if p.AmountRefunded != 0 || (p.FailureReason != ReasonExpired && p.FailureReason != ReasonTooManyAttempts) {
			bad("failed with refunds or without a reason")
		}
	default:
		bad("unknown status")
	}
}
