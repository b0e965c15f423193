package paysmart

import (
	"slices"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// checker holds PaySmart's invariants, recomputed from the events alone
// (sharing no code with Apply): a refund is of a succeeded payment, the
// refunds of a payment add up to its AmountRefunded and at most its
// amount; each owner's balance per currency is succeeded minus refunded;
// every event a live endpoint enabled at its log position has its
// delivery in the outbox.
type checker struct {
	v          engine.Violations
	payments   map[string]*mpayment
	balance    map[Owner]map[string]int64
	endpoints  map[string]*mendpoint
	order      map[Owner][]string // endpoint ids in creation order
	deliveries []mdelivery
}

type mpayment struct {
	owner     Owner
	amount    int64
	currency  string
	succeeded bool
	refunded  int64
}

type mendpoint struct {
	events []string
	off    bool // disabled or deleted
}

type mdelivery struct{ id, event, target string }

func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "paysmart", New: newChecker})
}

func newChecker(v engine.Violations, st *engine.State, _ bool) engine.Checker {
	s := Of(st)
	c := &checker{v: v, payments: map[string]*mpayment{}, balance: map[Owner]map[string]int64{},
		endpoints: map[string]*mendpoint{}, order: map[Owner][]string{}}
	for id, p := range s.Payments {
		c.payments[id] = &mpayment{owner: p.Owner, amount: p.Amount, currency: p.Currency,
			succeeded: p.Status == StatusSucceeded, refunded: p.AmountRefunded}
	}
	for o, b := range s.Books {
		c.balance[o] = map[string]int64{}
		for cur, n := range b.Balance {
			c.balance[o][cur] = n
		}
		for _, id := range b.Endpoints {
			e := s.Endpoints[id]
			c.endpoints[id] = &mendpoint{events: e.Events, off: e.Disabled || e.Deleted}
			c.order[o] = append(c.order[o], id)
		}
	}
	return c
}

func (c *checker) add(o Owner, currency string, n int64) {
	if c.balance[o] == nil {
		c.balance[o] = map[string]int64{}
	}
	c.balance[o][currency] += n
}

func (c *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *PaymentCreated:
		p := &e.Payment
		c.payments[p.ID] = &mpayment{owner: p.Owner, amount: p.Amount, currency: p.Currency, succeeded: p.Status == StatusSucceeded}
		if p.Status == StatusSucceeded {
			c.add(p.Owner, p.Currency, p.Amount)
		}
		c.notice(p.Owner, &e.Notice)
	case *RefundCreated:
		c.refund(at, e)
	case *CustomerCreated:
		c.notice(e.Customer.Owner, &e.Notice)
	case *EndpointCreated:
		c.endpoints[e.Endpoint.ID] = &mendpoint{events: e.Endpoint.Events, off: e.Endpoint.Disabled}
		c.order[e.Endpoint.Owner] = append(c.order[e.Endpoint.Owner], e.Endpoint.ID)
	case *EndpointUpdated:
		if m := c.endpoints[e.Endpoint.ID]; m != nil {
			m.events, m.off = e.Endpoint.Events, e.Endpoint.Disabled
		} else {
			c.v.Violate("paysmart", "%s: update of unknown endpoint %q", at, e.Endpoint.ID)
		}
	case *EndpointDeleted:
		if m := c.endpoints[e.ID]; m != nil {
			m.off = true
		}
	}
}

func (c *checker) refund(at string, e *RefundCreated) {
	f := &e.Refund
	p := c.payments[f.Payment]
	switch {
	case p == nil || p.owner != f.Owner:
		c.v.Violate("paysmart", "%s: refund %q of unknown payment %q", at, f.ID, f.Payment)
		return
	case !p.succeeded:
		c.v.Violate("paysmart", "%s: refund %q of payment %q, which did not succeed", at, f.ID, f.Payment)
	}
	p.refunded += f.Amount
	if p.refunded != e.AmountRefundedAfter || p.refunded > p.amount {
		c.v.Violate("paysmart", "%s: refund %q makes payment %q refunded %d of %d, the event says %d",
			at, f.ID, f.Payment, p.refunded, p.amount, e.AmountRefundedAfter)
	}
	c.add(f.Owner, f.Currency, -f.Amount)
}

// notice expects a delivery to every endpoint of o that takes n's type now.
func (c *checker) notice(o Owner, n *Notice) {
	if n.ID == "" {
		return
	}
	for _, id := range c.order[o] {
		m := c.endpoints[id]
		if !m.off && (slices.Contains(m.events, n.Type) || slices.Contains(m.events, AllEvents)) {
			c.deliveries = append(c.deliveries, mdelivery{id: outbox.DeliveryID(n.ID, id), event: n.ID, target: id})
		}
	}
}

// Finish compares the model with the rebuilt state, and checks the
// state's own refunds and balances against its payments.
func (c *checker) Finish(st *engine.State) {
	s := Of(st)
	if len(s.Payments) != len(c.payments) {
		c.v.Violate("paysmart", "%d payments, the events give %d", len(s.Payments), len(c.payments))
	}
	ids := make([]string, 0, len(c.payments))
	for id := range c.payments {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m, p := c.payments[id], s.Payments[id]
		if p == nil || p.AmountRefunded != m.refunded || p.Amount != m.amount || (p.Status == StatusSucceeded) != m.succeeded {
			c.v.Violate("paysmart", "payment %q: state %+v, the events give %+v", id, p, *m)
		}
	}
	c.finishState(s)
	for o, want := range c.balance {
		var got map[string]int64
		if b := s.Books[o]; b != nil {
			got = b.Balance
		}
		for cur, n := range want {
			if got[cur] != n {
				c.v.Violate("paysmart", "balance of %q (live %v) in %s is %d, the events give %d", o.Account, o.Live, cur, got[cur], n)
			}
		}
	}
	out := outbox.Of(st)
	for _, d := range c.deliveries {
		if got := out.Deliveries[d.id]; got == nil || got.EventID != d.event || got.Target != d.target {
			c.v.Violate("paysmart", "event %q: no delivery %q to endpoint %q in the outbox", d.event, d.id, d.target)
		}
	}
}

// finishState: in the state itself, refunds are of succeeded payments
// and add up to each AmountRefunded <= Amount, and each book's balance is
// succeeded minus refunded.
func (c *checker) finishState(s *State) {
	refunded := map[string]int64{}
	sums := map[Owner]map[string]int64{}
	sum := func(o Owner, cur string, n int64) {
		if sums[o] == nil {
			sums[o] = map[string]int64{}
		}
		sums[o][cur] += n
	}
	for id, f := range s.Refunds {
		p := s.Payments[f.Payment]
		if p == nil || p.Status != StatusSucceeded {
			c.v.Violate("paysmart", "refund %q: payment %q missing or not succeeded", id, f.Payment)
			continue
		}
		refunded[f.Payment] += f.Amount
		sum(f.Owner, f.Currency, -f.Amount)
	}
	for id, p := range s.Payments {
		if refunded[id] != p.AmountRefunded || p.AmountRefunded > p.Amount {
			c.v.Violate("paysmart", "payment %q: refunded %d of %d, its refunds add up to %d", id, p.AmountRefunded, p.Amount, refunded[id])
		}
		if p.Status == StatusSucceeded {
			sum(p.Owner, p.Currency, p.Amount)
		}
	}
	for o, b := range s.Books {
		for _, cur := range Currencies {
			if b.Balance[cur] != sums[o][cur] {
				c.v.Violate("paysmart", "balance of %q (live %v) in %s is %d, its payments and refunds give %d", o.Account, o.Live, cur, b.Balance[cur], sums[o][cur])
			}
		}
	}
}
