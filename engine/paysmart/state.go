package paysmart

import (
	"slices"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// State is PaySmart's section of an engine.State. The committer owns it:
// only this package's Apply functions change it. An object is never
// changed in place: a change stores a new object under its id. So a
// snapshot's copy may hold the pointers, and a copy of an object made
// under ReadState may share its slices (Metadata, Events, Body).
type State struct {
	Payments  map[string]*Payment
	Methods   map[string]*PaymentMethod
	Customers map[string]*Customer
	Refunds   map[string]*Refund
	Endpoints map[string]*Endpoint
	Events    map[string]*Event
	Receipts  map[string]string // receipt token -> payment id
	Books     map[Owner]*Book
}

// Book is one owner's (account and mode) objects in creation order, for
// lists, and its balance.
type Book struct {
	Payments  []string
	Methods   []string
	Customers []string
	Refunds   []string
	Endpoints []string
	Events    []string
	Balance   map[string]int64 // currency -> succeeded - refunded
	// Refunds of each payment, in creation order.
	PaymentRefunds map[string][]string
	pos            map[string]int // object id -> index in its kind's slice
}

func newBook() *Book {
	return &Book{Balance: map[string]int64{}, PaymentRefunds: map[string][]string{}, pos: map[string]int{}}
}

func newState() *State {
	return &State{Payments: map[string]*Payment{}, Methods: map[string]*PaymentMethod{}, Customers: map[string]*Customer{},
		Refunds: map[string]*Refund{}, Endpoints: map[string]*Endpoint{}, Events: map[string]*Event{},
		Receipts: map[string]string{}, Books: map[Owner]*Book{}}
}

// Entries is what a snapshot of the section holds (engine.State.Entries).
func (s *State) Entries() int {
	return len(s.Payments) + len(s.Methods) + len(s.Customers) + len(s.Refunds) + len(s.Endpoints) + len(s.Events)
}

var stateKey = engine.RegisterState("paysmart", func() any { return newState() })

// Of is PaySmart's section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

// book is o's book, created on first use.
func (s *State) book(o Owner) *Book {
	b := s.Books[o]
	if b == nil {
		b = newBook()
		s.Books[o] = b
	}
	return b
}

func add(ids *[]string, pos map[string]int, id string) {
	pos[id] = len(*ids)
	*ids = append(*ids, id)
}

func broken(what string, ev engine.Event) {
	panic(engine.Invariant(what, ev, 0))
}

func applyMethodCreated(st *engine.State, ev *PaymentMethodCreated) {
	Of(st).addMethod(ev.Method, ev)
}

func (s *State) addMethod(m PaymentMethod, ev engine.Event) {
	if s.Methods[m.ID] != nil {
		broken("payment method id unique", ev)
	}
	s.Methods[m.ID] = &m
	b := s.book(m.Owner)
	add(&b.Methods, b.pos, m.ID)
}

func applyCustomerCreated(st *engine.State, ev *CustomerCreated) {
	s := Of(st)
	c := ev.Customer
	if s.Customers[c.ID] != nil {
		broken("customer id unique", ev)
	}
	s.Customers[c.ID] = &c
	b := s.book(c.Owner)
	add(&b.Customers, b.pos, c.ID)
	s.notify(st, c.Owner, c.ID, &ev.Notice, ev)
}

// liveCustomer is owner's customer id, not deleted, or a broken invariant.
func (s *State) liveCustomer(o Owner, id string, ev engine.Event) *Customer {
	c := s.Customers[id]
	if c == nil || c.Owner != o || c.Deleted {
		broken("customer exists, not deleted", ev)
	}
	return c
}

func applyCustomerUpdated(st *engine.State, ev *CustomerUpdated) {
	s := Of(st)
	old := s.liveCustomer(ev.Customer.Owner, ev.Customer.ID, ev)
	c := ev.Customer
	c.CreatedMs = old.CreatedMs
	s.Customers[c.ID] = &c
}

func applyCustomerDeleted(st *engine.State, ev *CustomerDeleted) {
	s := Of(st)
	old := s.liveCustomer(ev.Owner, ev.ID, ev)
	s.Customers[ev.ID] = &Customer{Owner: old.Owner, ID: old.ID, CreatedMs: old.CreatedMs, Deleted: true}
}

// customerRef checks a payment's customer: of the same owner; it may have
// been deleted since the payment's command checked it.
func (s *State) customerRef(o Owner, id string, ev engine.Event) {
	if id == "" {
		return
	}
	if c := s.Customers[id]; c == nil || c.Owner != o {
		broken("payment's customer exists for its owner", ev)
	}
}

func applyPaymentCreated(st *engine.State, ev *PaymentCreated) {
	s := Of(st)
	p := ev.Payment
	if s.Payments[p.ID] != nil {
		broken("payment id unique", ev)
	}
	if ev.Method != nil {
		s.addMethod(*ev.Method, ev)
	} else if m := s.Methods[p.PaymentMethod]; m == nil || m.Owner != p.Owner {
		broken("payment's payment method exists for its owner", ev)
	}
	s.customerRef(p.Owner, p.Customer, ev)
	if p.ReceiptToken != "" {
		if _, dup := s.Receipts[p.ReceiptToken]; dup {
			broken("receipt token unique", ev)
		}
		s.Receipts[p.ReceiptToken] = p.ID
	}
	s.Payments[p.ID] = &p
	b := s.book(p.Owner)
	add(&b.Payments, b.pos, p.ID)
	if p.Status == StatusSucceeded {
		b.Balance[p.Currency] += p.Amount
	}
	s.notify(st, p.Owner, p.ID, &ev.Notice, ev)
}

func (s *State) ownPayment(o Owner, id string, ev engine.Event) *Payment {
	p := s.Payments[id]
	if p == nil || p.Owner != o {
		broken("payment exists for its owner", ev)
	}
	return p
}

func applyPaymentUpdated(st *engine.State, ev *PaymentUpdated) {
	s := Of(st)
	p := s.ownPayment(ev.Owner, ev.ID, ev)
	s.customerRef(ev.Owner, ev.Customer, ev)
	np := *p
	np.Description, np.Metadata, np.Customer = ev.Description, ev.Metadata, ev.Customer
	s.Payments[p.ID] = &np
}

func applyRefundCreated(st *engine.State, ev *RefundCreated) {
	s := Of(st)
	f := ev.Refund
	p := s.ownPayment(f.Owner, f.Payment, ev)
	switch {
	case s.Refunds[f.ID] != nil:
		broken("refund id unique", ev)
	case p.Status != StatusSucceeded:
		broken("only a succeeded payment is refunded", ev)
	case p.Currency != f.Currency:
		broken("refund in the payment's currency", ev)
	case p.AmountRefunded+f.Amount != ev.AmountRefundedAfter || ev.AmountRefundedAfter > p.Amount:
		panic(engine.Invariant("refunded after = before + amount <= payment amount", ev, p.AmountRefunded))
	}
	np := *p
	np.AmountRefunded = ev.AmountRefundedAfter
	s.Payments[p.ID] = &np
	s.Refunds[f.ID] = &f
	b := s.book(f.Owner)
	add(&b.Refunds, b.pos, f.ID)
	b.PaymentRefunds[p.ID] = append(b.PaymentRefunds[p.ID], f.ID)
	b.Balance[f.Currency] -= f.Amount
	if b.Balance[f.Currency] < 0 {
		panic(engine.Invariant("balance not negative", ev, b.Balance[f.Currency]))
	}
	s.notify(st, f.Owner, f.ID, &ev.Notice, ev)
}

func applyEndpointCreated(st *engine.State, ev *EndpointCreated) {
	s := Of(st)
	e := ev.Endpoint
	if s.Endpoints[e.ID] != nil {
		broken("endpoint id unique", ev)
	}
	s.Endpoints[e.ID] = &e
	b := s.book(e.Owner)
	add(&b.Endpoints, b.pos, e.ID)
}

func (s *State) liveEndpoint(o Owner, id string, ev engine.Event) *Endpoint {
	e := s.Endpoints[id]
	if e == nil || e.Owner != o || e.Deleted {
		broken("endpoint exists, not deleted", ev)
	}
	return e
}

func applyEndpointUpdated(st *engine.State, ev *EndpointUpdated) {
	s := Of(st)
	old := s.liveEndpoint(ev.Endpoint.Owner, ev.Endpoint.ID, ev)
	e := ev.Endpoint
	e.CreatedMs = old.CreatedMs
	s.Endpoints[e.ID] = &e
}

func applyEndpointDeleted(st *engine.State, ev *EndpointDeleted) {
	s := Of(st)
	old := s.liveEndpoint(ev.Owner, ev.ID, ev)
	e := *old
	e.Deleted = true
	s.Endpoints[e.ID] = &e
}

// notify records the Event a notice makes and enqueues its deliveries to
// every endpoint of the owner that is not deleted or disabled and enables
// its type, in the owner's endpoint creation order.
func (s *State) notify(st *engine.State, o Owner, object string, n *Notice, ev engine.Event) {
	if n.ID == "" {
		return
	}
	if s.Events[n.ID] != nil {
		broken("event id unique", ev)
	}
	e := &Event{Owner: o, ID: n.ID, Type: n.Type, Object: object, CreatedMs: ev.Time(), Body: n.Body}
	s.Events[e.ID] = e
	b := s.book(o)
	add(&b.Events, b.pos, e.ID)
	for _, id := range b.Endpoints {
		we := s.Endpoints[id]
		if !Receives(we, e.Type) {
			continue
		}
		outbox.Enqueue(st, outbox.Delivery{ID: outbox.DeliveryID(e.ID, we.ID), API: API, Partner: o.Account, Target: we.ID,
			EventID: e.ID, EventType: e.Type, Body: e.Body, CreatedMs: e.CreatedMs})
	}
}

// Receives reports whether endpoint we gets events of type t now.
func Receives(we *Endpoint, t string) bool {
	return we != nil && !we.Deleted && !we.Disabled && (slices.Contains(we.Events, t) || slices.Contains(we.Events, AllEvents))
}
