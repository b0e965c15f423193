package checkout

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// ErrBadSection is a snapshot section the decoder refuses.
var ErrBadSection = errors.New("checkout: bad snapshot section")

// Snapshot section "checkout", version 1, Order 700 (wire format: never
// change it; a new layout is a new version, read next to this one):
//
//	[[shop...], [book...]]
//	book = [owner, [payment...]]
//
// Shops are sorted by id, books by owner (shop, then test before live),
// each book's payments in creation order, in the layouts of codec.go.
// Tokens and the pending set are rebuilt from the payments.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "checkout", Version: 1, Reads: []int{1}, Order: 700,
		Stepped: copySteps, EncodeCopy: encodeSection, Decode: decodeSection})
}

type bookCopy struct {
	owner    Owner
	payments []*Payment
}

type sectionCopy struct {
	shops []*Shop
	books []bookCopy
}

// stepCopy copies the section in steps on the committer's goroutine.
// At the start it takes the shops (few) and each book's list of payment
// ids (append-only, so the list as it was is its prefix); then it looks
// the payments of those lists up, n per Step. A payment is never changed
// in place (State), so its value at the start is the pointer the map held
// then: the current one, unless an event changed the payment since, and
// then Before kept the pointer that event was about to replace. A payment
// created after the start is in no list taken. Copying every payment at
// the start held the committer ~10 ms per snapshot with 120,000 payments
// (the logs' longest_step of checkout-create runs).
type stepCopy struct {
	shops []*Shop
	books []bookCopy          // payments[:next] resolved in the book being filled
	ids   [][]string          // books[i]'s payment ids at the start
	book  int                 // the book being filled
	next  int                 // its next payment to look up
	pre   map[string]*Payment // payment id -> its pointer before the first change after the start
}

func copySteps(st *engine.State) engine.SectionCopy {
	s := Of(st)
	c := &stepCopy{shops: make([]*Shop, 0, len(s.Shops)), books: make([]bookCopy, 0, len(s.Books)), pre: map[string]*Payment{}}
	for _, sh := range s.Shops {
		c.shops = append(c.shops, sh)
	}
	for o, b := range s.Books {
		ids := b.Payments[:len(b.Payments):len(b.Payments)]
		c.books = append(c.books, bookCopy{owner: o, payments: make([]*Payment, len(ids))})
		c.ids = append(c.ids, ids)
	}
	return c
}

func (c *stepCopy) Step(st *engine.State, n int) bool {
	s := Of(st)
	for c.book < len(c.ids) && n > 0 {
		ids, out := c.ids[c.book], c.books[c.book].payments
		for ; c.next < len(ids) && n > 0; c.next, n = c.next+1, n-1 {
			id := ids[c.next]
			if p, changed := c.pre[id]; changed {
				out[c.next] = p
			} else {
				out[c.next] = s.Payments[id]
			}
		}
		if c.next == len(ids) {
			c.book, c.next = c.book+1, 0
		}
	}
	for c.book < len(c.ids) && len(c.ids[c.book]) == 0 { // Step(s, 0) completes a copy of empty books
		c.book++
	}
	return c.book == len(c.ids)
}

// Before keeps the pointer a payment event is about to replace (every
// change to a payment names it as the event's entity).
func (c *stepCopy) Before(st *engine.State, ev engine.Event) {
	e, ok := engine.EntityOf(ev)
	if !ok || e.Kind != PaymentEntity {
		return
	}
	if _, had := c.pre[e.ID]; !had {
		if p := Of(st).Payments[e.ID]; p != nil {
			c.pre[e.ID] = p
		}
	}
}

func (c *stepCopy) Value() any {
	return sectionCopy{shops: c.shops, books: c.books}
}

func compareOwner(a, b Owner) int {
	if c := cmp.Compare(a.Shop, b.Shop); c != 0 {
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
	c := copy.(sectionCopy)
	engine.SortByKey(c.shops, func(s **Shop) string { return (*s).ID })
	slices.SortFunc(c.books, func(a, b bookCopy) int { return compareOwner(a.owner, b.owner) })
	w := engine.NewWriter(enc)
	w.Len(2)
	w.Len(len(c.shops))
	for _, sh := range c.shops {
		writeShop(w, sh)
	}
	w.Len(len(c.books))
	for _, b := range c.books {
		w.Len(2)
		writeOwner(w, b.owner)
		w.Len(len(b.payments))
		for _, p := range b.payments {
			writePayment(w, p)
		}
	}
	return w.Err()
}

func decodeSection(_ int, payload []byte, st *engine.State) error {
	r := engine.SectionReader(payload, 2)
	s := Of(st)
	*s = *newState()
	n := r.Count(-1, shopFields+1)
	prev := ""
	for i := 0; i < n && r.Err() == nil; i++ {
		sh := readShop(r)
		if r.Err() != nil {
			break
		}
		if err := validShop(&sh); err != nil || sh.ID <= prev {
			return fmt.Errorf("%w: shop %q: out of order or %v", ErrBadSection, sh.ID, err)
		}
		prev = sh.ID
		s.Shops[sh.ID] = &sh
	}
	if err := decodeBooks(r, s); err != nil {
		return err
	}
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSection, err)
	}
	return nil
}

func decodeBooks(r *engine.Reader, s *State) error {
	n := r.Count(-1, 4)
	var prev *Owner
	for i := 0; i < n && r.Err() == nil; i++ {
		if !r.Array(2) {
			break
		}
		o := readOwner(r)
		if r.Err() != nil {
			break
		}
		if prev != nil && compareOwner(*prev, o) >= 0 || s.Shops[o.Shop] == nil {
			return fmt.Errorf("%w: book of %q out of order or of no shop", ErrBadSection, o.Shop)
		}
		prev = &o
		s.book(o)
		m := r.Count(-1, paymentFields+1)
		for j := 0; j < m && r.Err() == nil; j++ {
			p := &Payment{}
			readPayment(r, p)
			if r.Err() != nil {
				break
			}
			if err := validPayment(p); err != nil || p.Owner != o || s.Payments[p.ID] != nil || s.Tokens[p.Token] != "" {
				return fmt.Errorf("%w: payment %q of %q: another owner's, twice, or %v", ErrBadSection, p.ID, o.Shop, err)
			}
			s.add(p)
		}
	}
	return nil
}
