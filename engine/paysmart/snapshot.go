package paysmart

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// ErrBadSection is a snapshot section the decoder refuses.
var ErrBadSection = errors.New("paysmart: bad snapshot section")

// Snapshot section "paysmart", version 1 (wire format: never change it; a
// new layout is a new version, read next to this one):
//
//	[books]
//	book = [owner, [method...], [customer...], [payment...], [refund...], [endpoint...], [event...]]
//
// Books are sorted by owner (account, then test before live); each book's
// objects are in creation order (the order lists page through), in the
// layouts of codec.go. Balances, receipt tokens and each payment's refunds
// are rebuilt from them.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "paysmart", Version: 1, Reads: []int{1}, Order: 500,
		Stepped: copySteps, EncodeCopy: encodeSection, Decode: decodeSection})
}

// bookCopy holds pointers: objects are never changed in place (State).
type bookCopy struct {
	owner     Owner
	methods   []*PaymentMethod
	customers []*Customer
	payments  []*Payment
	refunds   []*Refund
	endpoints []*Endpoint
	events    []*Event
}

// stepCopy copies the section in steps on the committer's goroutine.
// At the start it takes each book's id lists (append-only, so each list as
// it was is its prefix); then it looks those ids up, n per Step. An object
// is never changed in place (State), so its value at the start is the
// pointer its map held then: the current one, unless an event replaced the
// object since, and then Before kept the pointer that event was about to
// replace. Objects created after the start are in no list taken. Copying
// the section whole at the start (a map lookup per object) held the
// committer 36 ms per snapshot after 10 s of paysmart-payment (the log's
// longest_step).
type stepCopy struct {
	owners []Owner
	books  []bookLists
	todo   []stepper // the lists still to look up, in order
	pre    preImages
}

// bookLists are one book's lists being copied, in the section's order.
type bookLists struct {
	methods   list[PaymentMethod]
	customers list[Customer]
	payments  list[Payment]
	refunds   list[Refund]
	endpoints list[Endpoint]
	events    list[Event]
}

// preImages are, per kind, the pointers events replaced since the start
// (ids are unique across books, so every book's list of a kind shares one).
type preImages struct {
	customers map[string]*Customer
	payments  map[string]*Payment
	endpoints map[string]*Endpoint
}

// list copies one id list: its ids at the start, looked up in the live
// map, or in the kind's pre-images once an event replaced the object.
type list[T any] struct {
	ids  []string
	live map[string]*T
	pre  map[string]*T // nil: the kind is never replaced
	out  []*T
}

func newList[T any](ids []string, live, pre map[string]*T) list[T] {
	return list[T]{ids: ids[:len(ids):len(ids)], live: live, pre: pre}
}

// step looks up to n more ids and returns how many it did.
func (l *list[T]) step(n int) int {
	n = min(n, len(l.ids)-len(l.out))
	if l.out == nil && n > 0 {
		l.out = make([]*T, 0, len(l.ids))
	}
	for _, id := range l.ids[len(l.out) : len(l.out)+n] {
		v, replaced := l.pre[id]
		if !replaced {
			v = l.live[id]
		}
		l.out = append(l.out, v)
	}
	return n
}

func (l *list[T]) complete() bool { return len(l.out) == len(l.ids) }

type stepper interface {
	step(n int) int
	complete() bool
}

func copySteps(st *engine.State) engine.SectionCopy {
	s := Of(st)
	c := &stepCopy{books: make([]bookLists, 0, len(s.Books)), pre: preImages{
		customers: map[string]*Customer{}, payments: map[string]*Payment{}, endpoints: map[string]*Endpoint{}}}
	for o, b := range s.Books {
		c.owners = append(c.owners, o)
		c.books = append(c.books, bookLists{
			methods:   newList(b.Methods, s.Methods, nil),
			customers: newList(b.Customers, s.Customers, c.pre.customers),
			payments:  newList(b.Payments, s.Payments, c.pre.payments),
			refunds:   newList(b.Refunds, s.Refunds, nil),
			endpoints: newList(b.Endpoints, s.Endpoints, c.pre.endpoints),
			events:    newList(b.Events, s.Events, nil),
		})
	}
	for i := range c.books { // c.books is not appended to again: the pointers hold
		l := &c.books[i]
		c.todo = append(c.todo, &l.methods, &l.customers, &l.payments, &l.refunds, &l.endpoints, &l.events)
	}
	return c
}

func (c *stepCopy) Step(_ *engine.State, n int) bool {
	for len(c.todo) > 0 { // Step(s, 0) still passes over empty lists
		n -= c.todo[0].step(n)
		if !c.todo[0].complete() {
			return false
		}
		c.todo = c.todo[1:]
	}
	return true
}

// keep records the pointer id's object has before an event replaces it.
func keep[T any](pre, live map[string]*T, id string) {
	if _, had := pre[id]; !had {
		pre[id] = live[id]
	}
}

// Before keeps the pointer an event is about to replace. Every PaySmart
// event either only adds objects or replaces the ones named below; one
// this switch does not know (a type added later) completes the copy
// before it is applied instead, so a forgotten case costs a pause, never a
// wrong snapshot.
func (c *stepCopy) Before(st *engine.State, ev engine.Event) {
	s := Of(st)
	switch e := ev.(type) {
	case *PaymentMethodCreated, *CustomerCreated, *PaymentCreated, *EndpointCreated, *Refused:
	case *CustomerUpdated:
		keep(c.pre.customers, s.Customers, e.Customer.ID)
	case *CustomerDeleted:
		keep(c.pre.customers, s.Customers, e.ID)
	case *PaymentUpdated:
		keep(c.pre.payments, s.Payments, e.ID)
	case *RefundCreated:
		keep(c.pre.payments, s.Payments, e.Refund.Payment)
	case *EndpointUpdated:
		keep(c.pre.endpoints, s.Endpoints, e.Endpoint.ID)
	case *EndpointDeleted:
		keep(c.pre.endpoints, s.Endpoints, e.ID)
	default:
		if strings.HasPrefix(engine.Name(ev.EventType()), "paysmart.") {
			c.Step(st, math.MaxInt)
		}
	}
}

func (c *stepCopy) Value() any {
	books := make([]bookCopy, len(c.owners))
	for i, o := range c.owners {
		l := &c.books[i]
		books[i] = bookCopy{owner: o, methods: l.methods.out, customers: l.customers.out, payments: l.payments.out,
			refunds: l.refunds.out, endpoints: l.endpoints.out, events: l.events.out}
	}
	c.books = nil
	return books
}

func compareOwner(a, b Owner) int {
	if c := cmp.Compare(a.Account, b.Account); c != 0 {
		return c
	}
	switch {
	case a.Live == b.Live:
		return 0
	case b.Live:
		return -1
	}
	return 1
}

func encodeSection(copy any, enc *msgpack.Encoder) error {
	books := copy.([]bookCopy)
	slices.SortFunc(books, func(a, b bookCopy) int { return compareOwner(a.owner, b.owner) })
	w := engine.NewWriter(enc)
	w.Len(1)
	w.Len(len(books))
	for i := range books {
		b := &books[i]
		w.Len(7)
		writeOwner(w, b.owner)
		w.Len(len(b.methods))
		for _, m := range b.methods {
			writeMethod(w, m)
		}
		w.Len(len(b.customers))
		for _, c := range b.customers {
			writeCustomer(w, c)
		}
		w.Len(len(b.payments))
		for _, p := range b.payments {
			writePayment(w, p)
		}
		w.Len(len(b.refunds))
		for _, f := range b.refunds {
			writeRefund(w, f)
		}
		w.Len(len(b.endpoints))
		for _, e := range b.endpoints {
			writeEndpoint(w, e)
		}
		w.Len(len(b.events))
		for _, e := range b.events {
			writeEvent(w, e)
		}
	}
	return w.Err()
}

func decodeSection(_ int, payload []byte, st *engine.State) error {
	r := engine.SectionReader(payload, 1)
	n := r.Count(-1, 8)
	var prev *Owner
	for range n {
		if !r.Array(7) {
			break
		}
		o := readOwner(r)
		if r.Err() == nil && prev != nil && compareOwner(*prev, o) >= 0 {
			return fmt.Errorf("%w: books out of order at %q", ErrBadSection, o.Account)
		}
		prev = &o
		if err := readBook(r, st, o); err != nil {
			return err
		}
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSection, err)
	}
	return nil
}

// readList reads an array of objects, each taking at least minBytes.
func readList(r *engine.Reader, minBytes int, read func()) {
	n := r.Count(-1, minBytes)
	for i := 0; i < n && r.Err() == nil; i++ {
		read()
	}
}

// readBook reads one owner's objects and loads them, checking each as its
// event's Validate and Apply would.
func readBook(r *engine.Reader, st *engine.State, o Owner) error {
	s := Of(st)
	if err := validOwner(o); err != nil || s.Books[o] != nil {
		return fmt.Errorf("%w: book of %q: %v", ErrBadSection, o.Account, err)
	}
	b := s.book(o)
	var bad error
	fail := func(what, id string, err error) {
		if bad == nil {
			bad = fmt.Errorf("%w: %s %q of %q: %v", ErrBadSection, what, id, o.Account, err)
		}
	}
	readList(r, 10, func() {
		m := &PaymentMethod{}
		readMethod(r, m)
		if err := validMethod(m); r.Err() == nil && (err != nil || m.Owner != o || s.Methods[m.ID] != nil) {
			fail("payment method", m.ID, err)
			return
		}
		s.Methods[m.ID] = m
		add(&b.Methods, b.pos, m.ID)
	})
	readList(r, 14, func() {
		c := &Customer{}
		readCustomer(r, c)
		if err := validCustomer(c, true); r.Err() == nil && (err != nil || c.Owner != o || s.Customers[c.ID] != nil) {
			fail("customer", c.ID, err)
			return
		}
		s.Customers[c.ID] = c
		add(&b.Customers, b.pos, c.ID)
	})
	readList(r, 19, func() {
		p := &Payment{}
		readPayment(r, p)
		if r.Err() != nil {
			return
		}
		if err := loadPayment(s, b, o, p); err != nil {
			fail("payment", p.ID, err)
		}
	})
	readList(r, 11, func() {
		f := &Refund{}
		readRefund(r, f)
		if r.Err() != nil {
			return
		}
		if err := loadRefund(s, b, o, f); err != nil {
			fail("refund", f.ID, err)
		}
	})
	readList(r, 13, func() {
		e := &Endpoint{}
		readEndpoint(r, e)
		deleted := e.Deleted
		e.Deleted = false
		if err := validEndpoint(e); r.Err() == nil && (err != nil || e.Owner != o || s.Endpoints[e.ID] != nil) {
			fail("endpoint", e.ID, err)
			return
		}
		e.Deleted = deleted
		s.Endpoints[e.ID] = e
		add(&b.Endpoints, b.pos, e.ID)
	})
	readList(r, 10, func() {
		e := &Event{}
		readEvent(r, e)
		if err := validEvent(e); r.Err() == nil && (err != nil || e.Owner != o || s.Events[e.ID] != nil) {
			fail("event", e.ID, err)
			return
		}
		s.Events[e.ID] = e
		add(&b.Events, b.pos, e.ID)
	})
	if err := r.Err(); err != nil {
		return fmt.Errorf("%w: book of %q: %w", ErrBadSection, o.Account, err)
	}
	if bad != nil {
		return bad
	}
	return checkRefunded(s, b)
}

func loadPayment(s *State, b *Book, o Owner, p *Payment) error {
	if err := validPayment(p, true); err != nil {
		return err
	}
	m, c := s.Methods[p.PaymentMethod], s.Customers[p.Customer]
	switch {
	case p.Owner != o || s.Payments[p.ID] != nil:
		return errors.New("another owner's, or twice")
	case m == nil:
		return errors.New("no such payment method in its book")
	case p.Customer != "" && c == nil:
		return errors.New("no such customer in its book")
	}
	if p.ReceiptToken != "" {
		if _, dup := s.Receipts[p.ReceiptToken]; dup {
			return errors.New("receipt token twice")
		}
		s.Receipts[p.ReceiptToken] = p.ID
	}
	s.Payments[p.ID] = p
	add(&b.Payments, b.pos, p.ID)
	if p.Status == StatusSucceeded {
		b.Balance[p.Currency] += p.Amount
	}
	return nil
}

func loadRefund(s *State, b *Book, o Owner, f *Refund) error {
	if err := validRefund(f); err != nil {
		return err
	}
	p := s.Payments[f.Payment]
	switch {
	case f.Owner != o || s.Refunds[f.ID] != nil:
		return errors.New("another owner's, or twice")
	case p == nil || p.Owner != o:
		return errors.New("no such payment in its book")
	case p.Status != StatusSucceeded || p.Currency != f.Currency:
		return errors.New("refund of a failed payment, or in another currency")
	}
	s.Refunds[f.ID] = f
	add(&b.Refunds, b.pos, f.ID)
	b.PaymentRefunds[p.ID] = append(b.PaymentRefunds[p.ID], f.ID)
	b.Balance[f.Currency] -= f.Amount
	return nil
}

// checkRefunded: each payment's refunds add up to its AmountRefunded.
func checkRefunded(s *State, b *Book) error {
	for _, id := range b.Payments {
		p := s.Payments[id]
		var sum int64
		for _, rid := range b.PaymentRefunds[id] {
			sum += s.Refunds[rid].Amount
		}
		if sum != p.AmountRefunded {
			return fmt.Errorf("%w: payment %q refunded %d, its refunds add up to %d", ErrBadSection, id, p.AmountRefunded, sum)
		}
	}
	return nil
}
