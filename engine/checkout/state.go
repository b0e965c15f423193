package checkout

import (
	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// State is checkout's section of an engine.State. The committer owns it:
// only this package's Apply functions change it. A payment or shop is
// never changed in place: a change stores a new value under its id, so a
// snapshot's copy may hold the pointers and a copy read under ReadState
// may share the Logo slice.
type State struct {
	Shops    map[string]*Shop
	Payments map[string]*Payment
	Tokens   map[string]string   // checkout token -> payment id
	Books    map[Owner]*Book     // per shop and mode, for lists
	Pending  map[string]struct{} // ids of pending payments, for the expirer

	expiry expiryIndex // Pending by expiry second (expiry.go)
}

// Book is one owner's payments in creation order.
type Book struct {
	Payments []string
	pos      map[string]int // payment id -> index in Payments
}

func newBook() *Book { return &Book{pos: map[string]int{}} }

func newState() *State {
	return &State{Shops: map[string]*Shop{}, Payments: map[string]*Payment{}, Tokens: map[string]string{},
		Books: map[Owner]*Book{}, Pending: map[string]struct{}{}, expiry: newExpiryIndex()}
}

// Entries is what a snapshot of the section holds (engine.State.Entries).
func (s *State) Entries() int { return len(s.Shops) + len(s.Payments) }

var stateKey = engine.RegisterState("checkout", func() any { return newState() })

// Of is checkout's section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

func (s *State) book(o Owner) *Book {
	b := s.Books[o]
	if b == nil {
		b = newBook()
		s.Books[o] = b
	}
	return b
}

func broken(what string, ev engine.Event) {
	panic(engine.Invariant(what, ev, 0))
}

func applyShopCreated(st *engine.State, ev *ShopCreated) {
	s := Of(st)
	if s.Shops[ev.Shop.ID] != nil {
		broken("shop id unique", ev)
	}
	sh := ev.Shop
	s.Shops[sh.ID] = &sh
}

func applyShopUpdated(st *engine.State, ev *ShopUpdated) {
	s := Of(st)
	old := s.Shops[ev.Shop.ID]
	if old == nil {
		broken("updated shop exists", ev)
	}
	sh := ev.Shop
	sh.CreatedMs = old.CreatedMs
	s.Shops[sh.ID] = &sh
}

func (s *State) add(p *Payment) {
	s.Payments[p.ID] = p
	s.Tokens[p.Token] = p.ID
	b := s.book(p.Owner)
	b.pos[p.ID] = len(b.Payments)
	b.Payments = append(b.Payments, p.ID)
	if p.Status == StatusPending {
		s.Pending[p.ID] = struct{}{}
		s.expiry.add(p)
	}
}

func applyPaymentCreated(st *engine.State, ev *PaymentCreated) {
	s := Of(st)
	p := ev.Payment
	switch {
	case s.Payments[p.ID] != nil:
		broken("payment id unique", ev)
	case s.Tokens[p.Token] != "":
		broken("checkout token unique", ev)
	case s.Shops[p.Shop] == nil:
		broken("payment's shop exists", ev)
	}
	s.add(&p)
}

// open is the pending payment id of owner o, or a broken invariant.
func (s *State) open(o Owner, id string, ev engine.Event) Payment {
	p := s.Payments[id]
	if p == nil || p.Owner != o || p.Status != StatusPending {
		broken("payment exists for its owner, pending", ev)
	}
	return *p
}

// fail makes p failed at ev's time.
func (s *State) fail(p *Payment, reason string, ev engine.Event) {
	p.Status, p.FailureReason, p.FailedMs = StatusFailed, reason, ev.Time()
	delete(s.Pending, p.ID)
	s.expiry.remove(p)
}

func applyDeclined(st *engine.State, ev *PaymentDeclined) {
	s := Of(st)
	p := s.open(ev.Owner, ev.ID, ev)
	if ev.Attempt != p.Attempts+1 {
		panic(engine.Invariant("declined attempts consecutive", ev, p.Attempts))
	}
	p.Attempts, p.LastDecline = ev.Attempt, ev.DeclineCode
	if p.Attempts == MaxAttempts {
		s.fail(&p, ReasonTooManyAttempts, ev)
	}
	s.Payments[p.ID] = &p
	s.notify(st, p.Owner, &ev.Notice, ev)
}

func applyCompleted(st *engine.State, ev *PaymentCompleted) {
	s := Of(st)
	p := s.open(ev.Owner, ev.ID, ev)
	p.Status, p.CompletedMs, p.CardBrand, p.CardLast4 = StatusCompleted, ev.TimeMs, ev.CardBrand, ev.CardLast4
	if p.CompletedMs == 0 {
		broken("completed at a time", ev)
	}
	delete(s.Pending, p.ID)
	s.expiry.remove(&p)
	s.Payments[p.ID] = &p
	s.notify(st, p.Owner, &ev.Notice, ev)
}

func applyExpired(st *engine.State, ev *PaymentExpired) {
	s := Of(st)
	p := s.open(ev.Owner, ev.ID, ev)
	if ev.TimeMs < p.ExpiresMs {
		panic(engine.Invariant("expired after its expiry", ev, p.ExpiresMs))
	}
	s.fail(&p, ReasonExpired, ev)
	s.Payments[p.ID] = &p
	s.notify(st, p.Owner, &ev.Notice, ev)
}

func applyRefunded(st *engine.State, ev *PaymentRefunded) {
	s := Of(st)
	old := s.Payments[ev.ID]
	switch {
	case old == nil || old.Owner != ev.Owner:
		broken("refunded payment exists for its owner", ev)
	case old.Status != StatusCompleted:
		broken("only a completed payment is refunded", ev)
	case old.AmountRefunded+ev.Amount != ev.AmountRefundedAfter || ev.AmountRefundedAfter > old.Amount:
		panic(engine.Invariant("refunded after = before + amount <= payment amount", ev, old.AmountRefunded))
	}
	p := *old
	p.AmountRefunded = ev.AmountRefundedAfter
	if p.AmountRefunded == p.Amount {
		p.Status = StatusRefunded
	}
	s.Payments[p.ID] = &p
	s.notify(st, p.Owner, &ev.Notice, ev)
}

// notify enqueues the delivery of a notice to the shop's webhook URL, when
// it has one now.
func (s *State) notify(st *engine.State, o Owner, n *Notice, ev engine.Event) {
	if n.ID == "" {
		return
	}
	sh := s.Shops[o.Shop]
	if sh == nil || sh.WebhookURL == "" {
		return
	}
	outbox.Enqueue(st, outbox.Delivery{ID: outbox.DeliveryID(n.ID, o.Shop), API: API, Partner: o.Shop, Target: o.Shop,
		EventID: n.ID, EventType: n.Type, Body: n.Body, CreatedMs: ev.Time()})
}
