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
		Copy: copySection, EncodeCopy: encodeSection, Decode: decodeSection})
}

type bookCopy struct {
	owner    Owner
	payments []*Payment
}

type sectionCopy struct {
	shops []*Shop
	books []bookCopy
}

// copySection runs on the committer's goroutine; it holds pointers, since
// values are never changed in place (State).
func copySection(st *engine.State) any {
	s := Of(st)
	c := sectionCopy{shops: make([]*Shop, 0, len(s.Shops)), books: make([]bookCopy, 0, len(s.Books))}
	for _, sh := range s.Shops {
		c.shops = append(c.shops, sh)
	}
	for o, b := range s.Books {
		ps := make([]*Payment, len(b.Payments))
		for i, id := range b.Payments {
			ps[i] = s.Payments[id]
		}
		c.books = append(c.books, bookCopy{owner: o, payments: ps})
	}
	return c
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
