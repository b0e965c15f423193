package paysmart

import (
	"errors"
	"slices"

	"ledgerd/engine"
)

// Read helpers for the API layer. They run inside sys.ReadState (on the
// committer's goroutine) and return copies, so the caller renders outside
// it. An object of another owner (account or mode) is not found.

// List errors.
var (
	ErrNoSuchCursor = errors.New("paysmart: no such object for starting_after or ending_before")
	ErrBadQuery     = errors.New("paysmart: bad list query")
)

// List limits (Stripe's).
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Query is a list request. Limit 0 is DefaultLimit. Created bounds are an
// inclusive range of CreatedMs (CreatedToMs 0 = open). Customer filters
// payments, Payment filters refunds, Type filters events.
type Query struct {
	Owner         Owner
	Limit         int
	StartingAfter string
	EndingBefore  string
	CreatedFromMs int64
	CreatedToMs   int64
	Customer      string
	Payment       string
	Type          string
}

// PaymentView is a payment with its payment method, as the API renders it.
type PaymentView struct {
	Payment Payment
	Method  PaymentMethod
}

// Amount is one currency's balance.
type Amount struct {
	Currency string
	Amount   int64
}

func (s *State) paymentView(p *Payment) PaymentView {
	v := PaymentView{Payment: *p}
	if m := s.Methods[p.PaymentMethod]; m != nil {
		v.Method = *m
	}
	return v
}

// GetPayment is owner's payment id with its payment method.
func GetPayment(st *engine.State, o Owner, id string) (PaymentView, bool) {
	s := Of(st)
	if p := s.Payments[id]; p != nil && p.Owner == o {
		return s.paymentView(p), true
	}
	return PaymentView{}, false
}

// PaymentByReceipt is the payment whose receipt token is token (any owner).
func PaymentByReceipt(st *engine.State, token string) (PaymentView, bool) {
	s := Of(st)
	if id, ok := s.Receipts[token]; ok && token != "" {
		return s.paymentView(s.Payments[id]), true
	}
	return PaymentView{}, false
}

// GetMethod is owner's payment method id.
func GetMethod(st *engine.State, o Owner, id string) (PaymentMethod, bool) {
	if m := Of(st).Methods[id]; m != nil && m.Owner == o {
		return *m, true
	}
	return PaymentMethod{}, false
}

// GetCustomer is owner's customer id (a deleted one is its stub, Deleted).
func GetCustomer(st *engine.State, o Owner, id string) (Customer, bool) {
	if c := Of(st).Customers[id]; c != nil && c.Owner == o {
		return *c, true
	}
	return Customer{}, false
}

// GetRefund is owner's refund id.
func GetRefund(st *engine.State, o Owner, id string) (Refund, bool) {
	if f := Of(st).Refunds[id]; f != nil && f.Owner == o {
		return *f, true
	}
	return Refund{}, false
}

// GetEndpoint is owner's endpoint id; a deleted one is not found.
func GetEndpoint(st *engine.State, o Owner, id string) (Endpoint, bool) {
	if e := Of(st).Endpoints[id]; e != nil && e.Owner == o && !e.Deleted {
		return *e, true
	}
	return Endpoint{}, false
}

// EndpointByID is endpoint id whatever its owner or state (the outbox's
// resolver: a delivery names its target only).
func EndpointByID(st *engine.State, id string) (Endpoint, bool) {
	if e := Of(st).Endpoints[id]; e != nil {
		return *e, true
	}
	return Endpoint{}, false
}

// GetEvent is owner's event id.
func GetEvent(st *engine.State, o Owner, id string) (Event, bool) {
	if e := Of(st).Events[id]; e != nil && e.Owner == o {
		return *e, true
	}
	return Event{}, false
}

// Balance is owner's balance per currency (succeeded - refunded), sorted
// by currency; currencies never used are absent.
func Balance(st *engine.State, o Owner) []Amount {
	b := Of(st).Books[o]
	if b == nil {
		return nil
	}
	out := make([]Amount, 0, len(b.Balance))
	for c, v := range b.Balance {
		out = append(out, Amount{Currency: c, Amount: v})
	}
	slices.SortFunc(out, func(x, y Amount) int {
		if x.Currency < y.Currency {
			return -1
		}
		if x.Currency > y.Currency {
			return 1
		}
		return 0
	})
	return out
}

// page walks ids (oldest first) newest first from the query's cursor and
// returns up to the limit of those keep accepts, newest first, and whether
// more match in the direction of paging.
func page(ids []string, pos map[string]int, q *Query, keep func(id string) bool) ([]string, bool, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 0 || limit > MaxLimit || (q.StartingAfter != "" && q.EndingBefore != "") {
		return nil, false, ErrBadQuery
	}
	at := func(id string) (int, error) {
		i, ok := pos[id]
		if !ok || i >= len(ids) || ids[i] != id {
			return 0, ErrNoSuchCursor
		}
		return i, nil
	}
	var out []string
	if q.EndingBefore != "" { // the page just newer than the cursor
		i, err := at(q.EndingBefore)
		if err != nil {
			return nil, false, err
		}
		for i++; i < len(ids); i++ {
			if keep(ids[i]) {
				if len(out) == limit {
					slices.Reverse(out)
					return out, true, nil
				}
				out = append(out, ids[i])
			}
		}
		slices.Reverse(out)
		return out, false, nil
	}
	i := len(ids)
	if q.StartingAfter != "" {
		var err error
		if i, err = at(q.StartingAfter); err != nil {
			return nil, false, err
		}
	}
	for i--; i >= 0; i-- {
		if keep(ids[i]) {
			if len(out) == limit {
				return out, true, nil
			}
			out = append(out, ids[i])
		}
	}
	return out, false, nil
}

func (q *Query) created(ms int64) bool {
	return ms >= q.CreatedFromMs && (q.CreatedToMs == 0 || ms <= q.CreatedToMs)
}

// book is the query owner's book (an empty one when it has none yet).
func (s *State) bookOf(o Owner) *Book {
	if b := s.Books[o]; b != nil {
		return b
	}
	return newBook()
}

// ListPayments lists the owner's payments, newest first (Customer filters).
func ListPayments(st *engine.State, q Query) ([]PaymentView, bool, error) {
	s := Of(st)
	b := s.bookOf(q.Owner)
	ids, more, err := page(b.Payments, b.pos, &q, func(id string) bool {
		p := s.Payments[id]
		return q.created(p.CreatedMs) && (q.Customer == "" || p.Customer == q.Customer)
	})
	out := make([]PaymentView, len(ids))
	for i, id := range ids {
		out[i] = s.paymentView(s.Payments[id])
	}
	return out, more, err
}

// ListCustomers lists the owner's customers that are not deleted, newest
// first.
func ListCustomers(st *engine.State, q Query) ([]Customer, bool, error) {
	s := Of(st)
	b := s.bookOf(q.Owner)
	ids, more, err := page(b.Customers, b.pos, &q, func(id string) bool {
		c := s.Customers[id]
		return !c.Deleted && q.created(c.CreatedMs)
	})
	out := make([]Customer, len(ids))
	for i, id := range ids {
		out[i] = *s.Customers[id]
	}
	return out, more, err
}

// ListRefunds lists the owner's refunds, newest first (Payment filters).
func ListRefunds(st *engine.State, q Query) ([]Refund, bool, error) {
	s := Of(st)
	b := s.bookOf(q.Owner)
	ids, more, err := page(b.Refunds, b.pos, &q, func(id string) bool {
		f := s.Refunds[id]
		return q.created(f.CreatedMs) && (q.Payment == "" || f.Payment == q.Payment)
	})
	out := make([]Refund, len(ids))
	for i, id := range ids {
		out[i] = *s.Refunds[id]
	}
	return out, more, err
}

// RefundsOf is the refunds of the owner's payment id, oldest first.
func RefundsOf(st *engine.State, o Owner, id string) []Refund {
	s := Of(st)
	b := s.Books[o]
	if b == nil {
		return nil
	}
	var out []Refund
	for _, rid := range b.PaymentRefunds[id] {
		out = append(out, *s.Refunds[rid])
	}
	return out
}

// ListEndpoints lists the owner's endpoints that are not deleted, newest
// first.
func ListEndpoints(st *engine.State, q Query) ([]Endpoint, bool, error) {
	s := Of(st)
	b := s.bookOf(q.Owner)
	ids, more, err := page(b.Endpoints, b.pos, &q, func(id string) bool {
		e := s.Endpoints[id]
		return !e.Deleted && q.created(e.CreatedMs)
	})
	out := make([]Endpoint, len(ids))
	for i, id := range ids {
		out[i] = *s.Endpoints[id]
	}
	return out, more, err
}

// ListEvents lists the owner's events, newest first (Type filters).
func ListEvents(st *engine.State, q Query) ([]Event, bool, error) {
	s := Of(st)
	b := s.bookOf(q.Owner)
	ids, more, err := page(b.Events, b.pos, &q, func(id string) bool {
		e := s.Events[id]
		return q.created(e.CreatedMs) && (q.Type == "" || e.Type == q.Type)
	})
	out := make([]Event, len(ids))
	for i, id := range ids {
		out[i] = *s.Events[id]
	}
	return out, more, err
}
