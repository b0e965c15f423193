package paychat

import (
	"slices"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// checker holds PAYchat's invariants, recomputed from the events alone
// (sharing no code with Apply): every balance is its credits minus its
// debits and never negative; a link completes at most once, by the first
// payment that finds it pending and unexpired; a held deposit is credited
// once; conservation (partners + users + fee account + held = deposits
// in, at most MaxAmount); every notice sent to a partner with a webhook
// URL has its delivery in the outbox.
type checker struct {
	v          engine.Violations
	partners   map[string]int64 // balance
	webhooks   map[string]string
	users      map[string]int64
	links      map[string]*mlink
	held       map[string]int64 // tx hash -> amount
	deposits   map[string]bool
	deposited  int64
	fees       int64
	heldTotal  int64
	void       int64
	deliveries []mdelivery
}

type mlink struct {
	partner   string
	amount    int64
	createdMs int64
	expiresMs int64
	paid      bool
	payer     string
}

type mdelivery struct{ id, event string }

func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "paychat", New: newChecker})
}

func newChecker(v engine.Violations, st *engine.State, _ bool) engine.Checker {
	s := Of(st)
	c := &checker{v: v, partners: map[string]int64{}, webhooks: map[string]string{}, users: map[string]int64{},
		links: map[string]*mlink{}, held: map[string]int64{}, deposits: map[string]bool{},
		deposited: s.Deposited, fees: s.FeeAccount, heldTotal: s.HeldTotal, void: s.Void}
	for id, p := range s.Partners {
		c.partners[id], c.webhooks[id] = s.Books[id].Balance, p.WebhookURL
	}
	for id, u := range s.Users {
		c.users[id] = u.Balance
	}
	for _, p := range s.Payments {
		c.links[p.LinkID] = &mlink{partner: p.Partner, amount: p.Amount, createdMs: p.CreatedMs, expiresMs: p.ExpiresMs,
			paid: p.Status == StatusCompleted, payer: p.Payer}
	}
	for h, d := range s.Deposits {
		c.deposits[h] = true
		if d.Status == DepositHeld {
			c.held[h] = d.Amount
		}
	}
	return c
}

func (c *checker) move(at string, what string, bal map[string]int64, id string, d int64) {
	if _, ok := bal[id]; !ok && what == "partner" {
		c.v.Violate("paychat", "%s: %s %q is not registered", at, what, id)
	}
	bal[id] += d
	if bal[id] < 0 {
		c.v.Violate("paychat", "%s: %s %q balance %d", at, what, id, bal[id])
	}
}

func (c *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *PartnerRegistered:
		if _, dup := c.partners[e.Partner.ID]; dup {
			c.v.Violate("paychat", "%s: partner %q registered twice", at, e.Partner.ID)
		}
		c.partners[e.Partner.ID] = 0
	case *WebhookSet:
		c.webhooks[e.Partner] = e.URL
	case *PaymentCreated:
		p := &e.Payment
		if c.links[p.LinkID] != nil {
			c.v.Violate("paychat", "%s: link %q created twice", at, p.LinkID)
		}
		c.links[p.LinkID] = &mlink{partner: p.Partner, amount: p.Amount, createdMs: p.CreatedMs, expiresMs: p.ExpiresMs}
	case *PaymentPaid:
		c.paid(at, e)
	case *Withdrawn:
		w := &e.Withdrawal
		c.move(at, "partner", c.partners, w.Partner, -w.Amount-w.Fee)
		c.move(at, "user", c.users, w.User, w.Amount)
		c.fees += w.Fee
		c.notice(w.Partner, &e.Notice)
	case *DepositReceived:
		c.deposit(at, &e.Deposit)
	case *DepositAssigned:
		amount, ok := c.held[e.TxHash]
		if !ok {
			c.v.Violate("paychat", "%s: deposit %q assigned but not held", at, e.TxHash)
			return
		}
		delete(c.held, e.TxHash)
		c.heldTotal -= amount
		c.move(at, "partner", c.partners, e.Partner, amount)
	case *WebhookTested:
		c.notice(e.Partner, &e.Notice)
	}
}

func (c *checker) paid(at string, e *PaymentPaid) {
	l := c.links[e.Link]
	switch {
	case l == nil:
		c.v.Violate("paychat", "%s: payment of unknown link %q", at, e.Link)
		return
	case l.paid || e.PaidMs < l.createdMs || e.PaidMs >= l.expiresMs:
		c.void++
		return
	case l.amount != e.Amount || l.partner != e.Partner:
		c.v.Violate("paychat", "%s: link %q paid %d to %q, it asks %d for %q", at, e.Link, e.Amount, e.Partner, l.amount, l.partner)
	}
	l.paid, l.payer = true, e.Payer
	c.move(at, "user", c.users, e.Payer, -e.Amount)
	c.move(at, "partner", c.partners, e.Partner, e.Amount-e.Fee)
	c.fees += e.Fee
	c.notice(e.Partner, &e.Notice)
}

func (c *checker) deposit(at string, d *Deposit) {
	if c.deposits[d.TxHash] {
		c.v.Violate("paychat", "%s: deposit %q received twice", at, d.TxHash)
	}
	c.deposits[d.TxHash] = true
	c.deposited += d.Amount
	if c.deposited > MaxAmount {
		c.v.Violate("paychat", "%s: deposits reach %d, past %d", at, c.deposited, int64(MaxAmount))
	}
	switch {
	case d.Status == DepositHeld:
		c.held[d.TxHash] = d.Amount
		c.heldTotal += d.Amount
	case d.Partner != "":
		c.move(at, "partner", c.partners, d.Partner, d.Amount)
	default:
		c.move(at, "user", c.users, d.User, d.Amount)
	}
}

func (c *checker) notice(partner string, n *Notice) {
	if n.ID != "" && c.webhooks[partner] != "" {
		c.deliveries = append(c.deliveries, mdelivery{id: outbox.DeliveryID(n.ID, partner), event: n.ID})
	}
}

// Finish compares the model with the rebuilt state, and checks the
// state's own conservation.
func (c *checker) Finish(st *engine.State) {
	s := Of(st)
	for _, id := range sortedKeys(c.partners) {
		if b := s.Books[id]; b == nil || b.Balance != c.partners[id] {
			c.v.Violate("paychat", "partner %q: balance %v, the events give %d", id, b, c.partners[id])
		}
	}
	for _, id := range sortedKeys(c.users) {
		if u := s.Users[id]; u == nil || u.Balance != c.users[id] {
			c.v.Violate("paychat", "user %q: balance %v, the events give %d", id, u, c.users[id])
		}
	}
	if len(s.Users) != len(c.users) || len(s.Books) != len(c.partners) {
		c.v.Violate("paychat", "%d users and %d partners, the events give %d and %d", len(s.Users), len(s.Books), len(c.users), len(c.partners))
	}
	for link, l := range c.links {
		id := s.Links[link]
		p := s.Payments[id]
		if p == nil || (p.Status == StatusCompleted) != l.paid || p.Payer != l.payer {
			c.v.Violate("paychat", "link %q: state %+v, the events give paid %v by %q", link, p, l.paid, l.payer)
		}
	}
	if s.Deposited != c.deposited || s.FeeAccount != c.fees || s.HeldTotal != c.heldTotal || s.Void != c.void {
		c.v.Violate("paychat", "deposited %d, fees %d, held %d, void %d; the events give %d, %d, %d, %d",
			s.Deposited, s.FeeAccount, s.HeldTotal, s.Void, c.deposited, c.fees, c.heldTotal, c.void)
	}
	c.finishState(s)
	out := outbox.Of(st)
	for _, d := range c.deliveries {
		if got := out.Deliveries[d.id]; got == nil || got.EventID != d.event {
			c.v.Violate("paychat", "event %q: no delivery %q in the outbox", d.event, d.id)
		}
	}
}

// finishState: in the state itself, no balance is negative, referral
// holdings are the referred users' balances, and everything adds up to
// the deposits.
func (c *checker) finishState(s *State) {
	var sum int64
	referral := map[string]int64{}
	for id, u := range s.Users {
		if u.Balance < 0 {
			c.v.Violate("paychat", "user %q balance %d", id, u.Balance)
		}
		sum += u.Balance
		if u.Referrer != "" {
			referral[u.Referrer] += u.Balance
		}
	}
	for id, b := range s.Books {
		if b.Balance < 0 {
			c.v.Violate("paychat", "partner %q balance %d", id, b.Balance)
		}
		if b.Referral != referral[id] {
			c.v.Violate("paychat", "partner %q referral holdings %d, its users hold %d", id, b.Referral, referral[id])
		}
		sum += b.Balance
	}
	var held int64
	for h := range s.Held {
		held += s.Deposits[h].Amount
	}
	if held != s.HeldTotal || sum+s.FeeAccount+held != s.Deposited || s.Deposited > MaxAmount {
		c.v.Violate("paychat", "conservation: balances %d + fee account %d + held %d != deposits %d", sum, s.FeeAccount, held, s.Deposited)
	}
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
