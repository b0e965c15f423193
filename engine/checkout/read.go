package checkout

import (
	"cmp"
	"errors"
	"slices"

	"ledgerd/engine"
)

// Read helpers for the API layer and the expirer. They run inside
// ReadState (on the committer's goroutine) and return copies, so the
// caller renders outside it. A payment of another owner (shop or mode) is
// not found.

// List errors and limits (Stripe's).
var ErrNoSuchCursor = errors.New("checkout: starting_after names no payment of this shop and mode")

const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// GetShop is shop id (its Logo shared with the state: never modify it).
func GetShop(st *engine.State, id string) (Shop, bool) {
	if sh := Of(st).Shops[id]; sh != nil {
		return *sh, true
	}
	return Shop{}, false
}

// GetPayment is owner's payment id.
func GetPayment(st *engine.State, o Owner, id string) (Payment, bool) {
	if p := Of(st).Payments[id]; p != nil && p.Owner == o {
		return *p, true
	}
	return Payment{}, false
}

// PaymentByID is payment id whatever its owner (the entity actor's load).
func PaymentByID(st *engine.State, id string) (Payment, bool) {
	if p := Of(st).Payments[id]; p != nil {
		return *p, true
	}
	return Payment{}, false
}

// PaymentByToken is the payment whose checkout token is token.
func PaymentByToken(st *engine.State, token string) (Payment, bool) {
	s := Of(st)
	if id, ok := s.Tokens[token]; ok && token != "" {
		return *s.Payments[id], true
	}
	return Payment{}, false
}

// Query is a list request: Limit 0 is DefaultLimit; Status "" is any.
type Query struct {
	Owner         Owner
	Limit         int
	StartingAfter string
	Status        string
}

// ListPayments lists the owner's payments newest first, from after the
// cursor, and whether more match.
func ListPayments(st *engine.State, q Query) ([]Payment, bool, error) {
	s := Of(st)
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	limit = min(limit, MaxLimit)
	b := s.Books[q.Owner]
	if b == nil {
		b = newBook()
	}
	i := len(b.Payments)
	if q.StartingAfter != "" {
		at, ok := b.pos[q.StartingAfter]
		if !ok {
			return nil, false, ErrNoSuchCursor
		}
		i = at
	}
	var out []Payment
	for i--; i >= 0; i-- {
		p := s.Payments[b.Payments[i]]
		if q.Status != "" && p.Status != q.Status {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, *p)
	}
	return out, false, nil
}

// Due names a pending payment whose expiry has passed.
type Due struct {
	Owner Owner
	ID    string
}

// DuePayments lists up to limit pending payments with ExpiresMs <= nowMs,
// oldest expiry first.
func DuePayments(st *engine.State, nowMs int64, limit int) []Due {
	s := Of(st)
	return firstDue(s.expiry.due(s, nowMs, limit, nil), limit)
}

// firstDue is the limit earliest-expiring of due (ties by id).
func firstDue(due []*Payment, limit int) []Due {
	slices.SortFunc(due, func(a, b *Payment) int {
		if c := cmp.Compare(a.ExpiresMs, b.ExpiresMs); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	out := make([]Due, 0, min(len(due), limit))
	for _, p := range due[:min(len(due), limit)] {
		out = append(out, Due{Owner: p.Owner, ID: p.ID})
	}
	return out
}
