package paysmart

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

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
		Copy: copySection, EncodeCopy: encodeSection, Decode: decodeSection})
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

func pick[T any](ids []string, m map[string]*T) []*T {
	out := make([]*T, len(ids))
	for i, id := range ids {
		out[i] = m[id]
	}
	return out
}

// copySection runs on the committer's goroutine.
func copySection(st *engine.State) any {
	s := Of(st)
	out := make([]bookCopy, 0, len(s.Books))
	for o, b := range s.Books {
		out = append(out, bookCopy{owner: o, methods: pick(b.Methods, s.Methods), customers: pick(b.Customers, s.Customers),
			payments: pick(b.Payments, s.Payments), refunds: pick(b.Refunds, s.Refunds),
			endpoints: pick(b.Endpoints, s.Endpoints), events: pick(b.Events, s.Events)})
	}
	return out
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
