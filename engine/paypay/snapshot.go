package paypay

import (
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// Snapshot section "paypay", version 1 (wire format: never change it; a
// new layout is a new version, read next to this one):
//
//	[attempt seq,
//	 cards (array of [code, partner, tier, label, issued, expires, revoked, redeemed, redemptionID], by code),
//	 attempts (array of [partner, [[seq, timeMs, code, action, outcome, requestID]...]], by partner)]
//
// In a version 2 snapshot they are elements V2AttemptSeq, V2Cards and
// V2Attempts, in the same encodings. The section comes after core's: a
// code's partner must exist.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "paypay", Version: 1, Reads: []int{1}, Order: 400,
		Stepped: copySection, EncodeCopy: encodeSection, Decode: decodeSection,
		V2: func(v2 *engine.SnapshotV2, s *engine.State) error {
			return readSection(v2.Reader(engine.V2AttemptSeq, engine.V2Cards, engine.V2Attempts), s)
		},
	})
}

type cardEntry struct {
	code string
	card Card
}

type attemptEntry struct {
	partner string
	items   []Attempt
}

type sectionCopy struct {
	attempt  uint64
	cards    []engine.MapEntry[Card] // the MapCopy's result, used as it is
	attempts []attemptEntry
}

// stepCopy copies the section in steps on the committer's goroutine: the
// audit records, then the codes (changed in place by redeems and
// revocations, each naming its code as its entity) through a MapCopy. The
// audit records are only appended until an expiry compacts them in place,
// so the copy holds each partner's log up to its length at the start and
// clones what it has not cloned yet before an AttemptsExpired is applied.
type stepCopy struct {
	attempt uint64
	cards   *engine.MapCopy[Card]
	logs    []attemptEntry // items: the live log's records at the start, not yet cloned
	next    int            // logs[:next] are cloned
}

func copySection(s *engine.State) engine.SectionCopy {
	st := Of(s)
	c := &stepCopy{attempt: st.Attempt, cards: engine.NewMapCopy(st.Cards, CodeEntity, func(c *Card) Card { return *c })}
	for p, log := range st.Attempts {
		items := log.Items()
		c.logs = append(c.logs, attemptEntry{partner: p, items: items[:len(items):len(items)]})
	}
	return c
}

func (c *stepCopy) Step(s *engine.State, n int) bool {
	for ; c.next < len(c.logs) && n > 0; c.next++ {
		e := &c.logs[c.next]
		e.items = slices.Clone(e.items)
		n -= len(e.items)
	}
	return c.next == len(c.logs) && c.cards.Step(s, n)
}

func (c *stepCopy) Before(s *engine.State, ev engine.Event) {
	if ev.EventType() == EvAttemptsExpired {
		for ; c.next < len(c.logs); c.next++ {
			c.logs[c.next].items = slices.Clone(c.logs[c.next].items)
		}
	}
	c.cards.Before(s, ev)
}

// Stop ends an abandoned copy.
func (c *stepCopy) Stop() { c.cards.Stop() }

func (c *stepCopy) Value() any {
	return &sectionCopy{attempt: c.attempt, attempts: c.logs, cards: c.cards.Entries()}
}

func encodeSection(copy any, enc *msgpack.Encoder) error {
	c := copy.(*sectionCopy)
	engine.SortByKey(c.cards, func(e *engine.MapEntry[Card]) string { return e.ID })
	engine.SortByKey(c.attempts, func(e *attemptEntry) string { return e.partner })
	w := engine.NewWriter(enc)
	w.Len(3)
	w.Uint(c.attempt)
	w.Len(len(c.cards))
	for i := range c.cards {
		e := &c.cards[i]
		card := &e.Value
		w.Len(9)
		w.Str(e.ID)
		w.Str(card.Partner)
		w.Str(card.Tier)
		w.Str(card.Label)
		w.Int(card.IssuedMs)
		w.Int(card.ExpiresMs)
		w.Int(card.RevokedMs)
		w.Int(card.RedeemedMs)
		w.Str(card.RedemptionID)
	}
	w.Len(len(c.attempts))
	for _, e := range c.attempts {
		w.Len(2)
		w.Str(e.partner)
		w.Len(len(e.items))
		for _, a := range e.items {
			w.Len(6)
			w.Uint(a.Seq)
			w.Int(a.TimeMs)
			w.Str(a.Card)
			w.Int(int64(a.Action))
			w.Int(int64(a.Outcome))
			w.Str(a.RequestID)
		}
	}
	return w.Err()
}

func decodeSection(_ int, payload []byte, s *engine.State) error {
	return readSection(engine.SectionReader(payload, 3), s)
}

// readSection reads the section's three fields from r and loads them.
func readSection(r *engine.Reader, s *engine.State) error {
	seq := r.Uint()
	cards, logs := readCards(r), readAttempts(r)
	if err := r.Done(); err != nil {
		return err
	}
	Of(s).Attempt = seq
	if err := loadCards(s, cards); err != nil {
		return err
	}
	return loadAttempts(s, logs)
}

func readCards(r *engine.Reader) []cardEntry {
	out := make([]cardEntry, r.Count(-1, 10))
	for i := range out {
		if r.Count(9, 1); r.Err() != nil {
			return nil
		}
		e := &out[i]
		e.code, e.card.Partner, e.card.Tier, e.card.Label = r.Str(), r.Str(), r.Str(), r.Str()
		e.card.IssuedMs, e.card.ExpiresMs, e.card.RevokedMs, e.card.RedeemedMs = r.Int(), r.Int(), r.Int(), r.Int()
		e.card.RedemptionID = r.Str()
	}
	return out
}

func readAttempts(r *engine.Reader) []attemptEntry {
	out := make([]attemptEntry, r.Count(-1, 3))
	for i := range out {
		if r.Count(2, 1); r.Err() != nil {
			return nil
		}
		out[i].partner = r.Str()
		items := make([]Attempt, r.Count(-1, 7))
		for j := range items {
			if r.Count(6, 1); r.Err() != nil {
				return nil
			}
			items[j] = Attempt{Seq: r.Uint(), TimeMs: r.Int(), Card: r.Str(), Action: Action(r.Small(255)),
				Outcome: engine.Code(r.Small(255)), RequestID: r.Str()}
		}
		out[i].items = items
	}
	return out
}

func loadCards(s *engine.State, cards []cardEntry) error {
	st := Of(s)
	if len(st.Cards) == 0 {
		st.Cards = make(map[string]*Card, len(cards))
	}
	for i := range cards {
		e := &cards[i]
		if e.code == "" || st.Cards[e.code] != nil || s.Partners[e.card.Partner] == nil {
			return fmt.Errorf("code %q", e.code)
		}
		st.Cards[e.code] = &e.card
	}
	return nil
}

func loadAttempts(s *engine.State, logs []attemptEntry) error {
	st := Of(s)
	for _, e := range logs {
		if e.partner == "" || st.Attempts[e.partner] != nil || len(e.items) == 0 {
			return fmt.Errorf("attempts of %q", e.partner)
		}
		for i, a := range e.items {
			if a.Seq > st.Attempt || (i > 0 && a.Seq <= e.items[i-1].Seq) {
				return fmt.Errorf("attempts of %q out of order", e.partner)
			}
		}
		st.Attempts[e.partner] = &AttemptLog{items: e.items}
	}
	return nil
}
