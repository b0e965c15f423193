package actors

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// PayPay.cards code actors: one actor per code decides validate, redeem and
// revoke one at a time, retires when idle, and respawns from the durable
// state.

// cardsClock is a settable clock shared by a test's Systems.
type cardsClock struct{ ns atomic.Int64 }

func newCardsClock() *cardsClock {
	c := &cardsClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}
func (c *cardsClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *cardsClock) ms() int64           { return c.now().UnixMilli() }
func (c *cardsClock) add(d time.Duration) { c.ns.Add(int64(d)) }

func startCards(t *testing.T, dir string, clock *cardsClock) *System {
	t.Helper()
	s, err := Start(Config{DataDir: dir, Logger: quietLogger(), Now: clock.now,
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	return s
}

func testKey(name string) NewKey {
	return NewKey{ID: "key_" + name, Hash: engine.HashKey([]byte("secret-" + name)), Hint: name[len(name)-min(4, len(name)):]}
}

// cardsFixture creates paypay partners "pa" and "pb" with codes A1..A<n>
// (pa) and B1 (pb), expiring in an hour.
func cardsFixture(t *testing.T, s *System, clock *cardsClock, n int) {
	t.Helper()
	for _, id := range []string{"pa", "pb"} {
		if _, err := s.CreatePartner(id, "paypay", "Partner "+id, 600, testKey(id)); err != nil {
			t.Fatal(err)
		}
	}
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("A%d", i+1)
	}
	exp := clock.ms() + int64(time.Hour/time.Millisecond)
	if _, err := s.IssueCodes("pa", codes, "gold", "Gold month", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueCodes("pb", []string{"B1"}, "silver", "Silver week", exp); err != nil {
		t.Fatal(err)
	}
}

// cardResult is a copy of an Op after Do returned.
type cardResult struct {
	Status     Status
	Idempotent bool
	Detail     engine.RedeemDetail
}

var reqSeq atomic.Int64

func cardDo(s *System, kind Kind, partner, code, key string) cardResult {
	op := NewOp()
	n := reqSeq.Add(1)
	op.Kind, op.Partner, op.Card, op.Reference = kind, partner, code, key
	op.RequestID, op.RedemptionID = fmt.Sprintf("req_%d", n), fmt.Sprintf("rdm_%d", n)
	s.Do(op)
	r := cardResult{op.Status, op.Idempotent, op.Detail}
	op.Release()
	return r
}

func durableCard(s *System, code string) *paypay.Card {
	var c *paypay.Card
	s.ReadState(func(st *engine.State) {
		if d := paypay.Cards(st)[code]; d != nil {
			cp := *d
			c = &cp
		}
	})
	return c
}

func liveCodes(s *System) []string {
	var out []string
	s.codes.live(func(id string, _ *entry) { out = append(out, id) })
	return out
}

// waitQuiet waits until every code actor has retired.
func waitQuiet(t *testing.T, s *System) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(liveCodes(s)) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("code actors still alive when quiet: %v", liveCodes(s))
		}
		time.Sleep(time.Millisecond)
	}
}

// checkLiveCards compares every live code actor's working card with the
// durable one (an actor that retired meanwhile is skipped).
func checkLiveCards(t *testing.T, s *System) {
	t.Helper()
	type live struct {
		code string
		card *paypay.Card
	}
	var got []live
	s.codes.live(func(code string, e *entry) {
		reply := make(chan any, 1)
		s.root.Send(e.pid, &inspect{reply: reply})
		select {
		case c := <-reply:
			card, _ := c.(*paypay.Card)
			got = append(got, live{code, card})
		case <-time.After(200 * time.Millisecond): // retired before it read the message
		}
	})
	for _, l := range got {
		d := durableCard(s, l.code)
		if (d == nil) != (l.card == nil) || (d != nil && *d != *l.card) {
			t.Errorf("code %s: actor %+v, durable %+v", l.code, l.card, d)
		}
	}
}

func TestCodeConcurrentRedeemOneWinner(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	cardsFixture(t, s, clock, 1)
	const n = 100
	results := make([]cardResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = cardDo(s, KindRedeem, "pa", "A1", "") })
	}
	wg.Wait()
	var winner *cardResult
	for i := range results {
		r := &results[i]
		switch r.Status {
		case StatusOK:
			if winner != nil {
				t.Fatalf("two redeems succeeded: %+v and %+v", *winner, *r)
			}
			winner = r
		case StatusAlreadyRedeemed:
		default:
			t.Fatalf("redeem %d: status %d", i, r.Status)
		}
		if r.Idempotent {
			t.Fatalf("redeem without Idempotency-Key marked idempotent: %+v", r)
		}
	}
	if winner == nil {
		t.Fatal("no redeem succeeded")
	}
	if winner.Detail.RedemptionID == "" || winner.Detail.RedeemedMs != clock.ms() || winner.Detail.Tier != "gold" || winner.Detail.Label != "Gold month" {
		t.Fatalf("winner detail %+v", winner.Detail)
	}
	for _, r := range results {
		if r.Status == StatusAlreadyRedeemed && (r.Detail.RedeemedMs != winner.Detail.RedeemedMs || r.Detail.RedemptionID != "") {
			t.Fatalf("already-redeemed detail %+v, winner %+v", r.Detail, winner.Detail)
		}
	}
	checkLiveCards(t, s)
	waitQuiet(t, s)
	c := durableCard(s, "A1")
	if c.RedeemedMs != winner.Detail.RedeemedMs || c.RedemptionID != winner.Detail.RedemptionID {
		t.Fatalf("durable card %+v, winner %+v", c, winner.Detail)
	}
	atts, _ := s.Attempts("pa", 0, 1000)
	if len(atts) != n {
		t.Fatalf("%d audit records for %d redeems", len(atts), n)
	}
	ok := 0
	for _, a := range atts {
		if a.Outcome == engine.CodeOK {
			ok++
		}
	}
	if ok != 1 {
		t.Fatalf("%d successful redeems in the audit", ok)
	}
}

func TestCodeConcurrentRedeemOneIdempotencyKey(t *testing.T) {
	clock := newCardsClock()
	dir := t.TempDir()
	s := startCards(t, dir, clock)
	cardsFixture(t, s, clock, 2)
	const n = 60
	results := make([]cardResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = cardDo(s, KindRedeem, "pa", "A1", "idem-key-1") })
	}
	wg.Wait()
	fresh := 0
	first := results[0].Detail
	for i, r := range results {
		if r.Status != StatusOK {
			t.Fatalf("redeem %d with the key: status %d", i, r.Status)
		}
		if r.Detail != first {
			t.Fatalf("redeem %d detail %+v, redeem 0 %+v", i, r.Detail, first)
		}
		if !r.Idempotent {
			fresh++
		}
	}
	if fresh != 1 {
		t.Fatalf("%d redeems not marked idempotent, want 1", fresh)
	}
	if first.RedemptionID == "" || first.RedeemedMs == 0 {
		t.Fatalf("detail %+v", first)
	}
	// One attempt reached the code: the others were answered by the shard.
	if atts, _ := s.Attempts("pa", 0, 1000); len(atts) != 1 {
		t.Fatalf("%d audit records", len(atts))
	}
	// Same key, other code: a conflict. Other key, same code: already redeemed.
	if r := cardDo(s, KindRedeem, "pa", "A2", "idem-key-1"); r.Status != StatusConflict {
		t.Fatalf("key reused for another code: %+v", r)
	}
	if r := cardDo(s, KindRedeem, "pa", "A1", "idem-key-2"); r.Status != StatusAlreadyRedeemed || r.Idempotent || r.Detail.RedeemedMs != first.RedeemedMs {
		t.Fatalf("other key: %+v", r)
	}
	// The same key of another partner is another key.
	if r := cardDo(s, KindRedeem, "pb", "B1", "idem-key-1"); r.Status != StatusOK || r.Idempotent {
		t.Fatalf("pb with pa's key string: %+v", r)
	}
	// The replay survives a restart.
	waitQuiet(t, s)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, dir, clock)
	defer s.Stop()
	if r := cardDo(s, KindRedeem, "pa", "A1", "idem-key-1"); r.Status != StatusOK || !r.Idempotent || r.Detail != first {
		t.Fatalf("replay after restart: %+v, want %+v", r, first)
	}
}

func TestCodeRetireAndRespawn(t *testing.T) {
	clock := newCardsClock()
	dir := t.TempDir()
	s := startCards(t, dir, clock)
	cardsFixture(t, s, clock, 3)
	waitQuiet(t, s)
	r := cardDo(s, KindValidate, "pa", "A1", "")
	if r.Status != StatusOK || r.Detail.Tier != "gold" || r.Detail.RedeemedMs != 0 {
		t.Fatalf("validate %+v", r)
	}
	waitQuiet(t, s)
	if c := durableCard(s, "A1"); c.RedeemedMs != 0 {
		t.Fatalf("validate changed the card: %+v", c)
	}
	redeemAt := clock.ms()
	r = cardDo(s, KindRedeem, "pa", "A1", "")
	if r.Status != StatusOK || r.Detail.RedeemedMs != redeemAt {
		t.Fatalf("redeem %+v", r)
	}
	waitQuiet(t, s) // the actor retired: the next request spawns a new one
	clock.add(time.Second)
	for _, k := range []Kind{KindRedeem, KindValidate} {
		if r := cardDo(s, k, "pa", "A1", ""); r.Status != StatusAlreadyRedeemed || r.Detail.RedeemedMs != redeemAt {
			t.Fatalf("kind %d after respawn: %+v", k, r)
		}
		waitQuiet(t, s)
	}
	// Many sequential requests, each on a fresh actor, still see one state.
	for i := range 20 {
		if r := cardDo(s, KindRedeem, "pa", "A2", ""); (i == 0) != (r.Status == StatusOK) {
			t.Fatalf("sequential redeem %d: %+v", i, r)
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, dir, clock)
	defer s.Stop()
	if r := cardDo(s, KindRedeem, "pa", "A1", ""); r.Status != StatusAlreadyRedeemed || r.Detail.RedeemedMs != redeemAt {
		t.Fatalf("after restart: %+v", r)
	}
	if r := cardDo(s, KindValidate, "pa", "A3", ""); r.Status != StatusOK {
		t.Fatalf("untouched code after restart: %+v", r)
	}
	// Expiry: exactly at ExpiresMs the code is expired.
	c := durableCard(s, "A3")
	clock.ns.Store(c.ExpiresMs * int64(time.Millisecond))
	for _, k := range []Kind{KindValidate, KindRedeem} {
		if r := cardDo(s, k, "pa", "A3", ""); r.Status != StatusExpired || r.Detail.ExpiresMs != c.ExpiresMs {
			t.Fatalf("kind %d at expiry: %+v", k, r)
		}
	}
	if c := durableCard(s, "A3"); c.RedeemedMs != 0 {
		t.Fatalf("expired code redeemed: %+v", c)
	}
	waitQuiet(t, s)
}

func TestCodeOfAnotherPartnerIsNotFound(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	cardsFixture(t, s, clock, 1)
	for _, k := range []Kind{KindValidate, KindRedeem} {
		for _, key := range []string{"", "k-other"} {
			if k == KindValidate && key != "" {
				continue
			}
			r := cardDo(s, k, "pb", "A1", key)
			if r.Status != StatusNotFound || r.Detail.Tier != "" || r.Detail.Label != "" || r.Detail.ExpiresMs != 0 || r.Detail.RedemptionID != "" {
				t.Fatalf("kind %d key %q on another partner's code: %+v", k, key, r)
			}
		}
	}
	if r := cardDo(s, KindRedeem, "pb", "NOPE", ""); r.Status != StatusNotFound {
		t.Fatalf("unknown code: %+v", r)
	}
	// Still redeemable by its owner.
	if r := cardDo(s, KindRedeem, "pa", "A1", ""); r.Status != StatusOK {
		t.Fatalf("owner redeem %+v", r)
	}
	// And once redeemed, still not found for the other partner (no leak).
	if r := cardDo(s, KindValidate, "pb", "A1", ""); r.Status != StatusNotFound || r.Detail.RedeemedMs != 0 {
		t.Fatalf("other partner after redeem: %+v", r)
	}
	// The not-found attempts are audited for the caller.
	atts, _ := s.Attempts("pb", 0, 100)
	if len(atts) != 5 {
		t.Fatalf("pb audit: %+v", atts)
	}
	for _, a := range atts {
		if a.Outcome != paypay.ResultNotFound {
			t.Fatalf("pb audit record %+v", a)
		}
	}
}

func TestRevokeCode(t *testing.T) {
	clock := newCardsClock()
	dir := t.TempDir()
	s := startCards(t, dir, clock)
	cardsFixture(t, s, clock, 3)
	if st, p := s.RevokeCode("NOPE"); st != StatusNotFound || p != "" {
		t.Fatalf("unknown code: %d %q", st, p)
	}
	revokeAt := clock.ms()
	if st, p := s.RevokeCode("A1"); st != StatusOK || p != "pa" {
		t.Fatalf("revoke: %d %q", st, p)
	}
	clock.add(time.Second)
	if st, p := s.RevokeCode("A1"); st != StatusOK || p != "pa" {
		t.Fatalf("revoke twice: %d %q", st, p)
	}
	if c := durableCard(s, "A1"); c.RevokedMs != revokeAt {
		t.Fatalf("second revoke moved RevokedMs: %+v", c)
	}
	for _, k := range []Kind{KindValidate, KindRedeem} {
		if r := cardDo(s, k, "pa", "A1", ""); r.Status != StatusRevoked {
			t.Fatalf("kind %d on revoked: %+v", k, r)
		}
	}
	if r := cardDo(s, KindRedeem, "pa", "A2", ""); r.Status != StatusOK {
		t.Fatal(r)
	}
	if st, _ := s.RevokeCode("A2"); st != StatusAlreadyRedeemed {
		t.Fatalf("revoke a redeemed code: %d", st)
	}
	if c := durableCard(s, "A2"); c.RevokedMs != 0 || c.RedeemedMs == 0 {
		t.Fatalf("redeemed code after revoke attempt: %+v", c)
	}
	// Concurrent revokes and redeems of one code: either the redeem wins
	// (revokes refused) or a revoke wins (the redeem refused), never both.
	var wg sync.WaitGroup
	var redeemed, revoked atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				if r := cardDo(s, KindRedeem, "pa", "A3", ""); r.Status == StatusOK {
					redeemed.Add(1)
				}
			} else if st, _ := s.RevokeCode("A3"); st == StatusOK {
				revoked.Add(1)
			}
		})
	}
	wg.Wait()
	if (redeemed.Load() == 0) == (revoked.Load() == 0) || redeemed.Load() > 1 {
		t.Fatalf("A3: %d redeems and %d revokes succeeded", redeemed.Load(), revoked.Load())
	}
	waitQuiet(t, s)
	a3 := durableCard(s, "A3")
	if (a3.RedeemedMs != 0) == (a3.RevokedMs != 0) {
		t.Fatalf("A3 durable %+v", a3)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, dir, clock)
	defer s.Stop()
	if r := cardDo(s, KindValidate, "pa", "A1", ""); r.Status != StatusRevoked {
		t.Fatalf("revoked after restart: %+v", r)
	}
	if st, _ := s.RevokeCode("A2"); st != StatusAlreadyRedeemed {
		t.Fatalf("redeemed after restart: %d", st)
	}
	if c := durableCard(s, "A3"); *c != *a3 {
		t.Fatalf("A3 after restart %+v, before %+v", c, a3)
	}
}

func TestAttemptsPagination(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	cardsFixture(t, s, clock, 1)
	if atts, more := s.Attempts("pa", 0, 10); len(atts) != 0 || more {
		t.Fatalf("no attempts yet: %v %v", atts, more)
	}
	for i := range 25 {
		clock.add(time.Millisecond)
		cardDo(s, KindValidate, "pa", "A1", "")
		if i%5 == 0 {
			cardDo(s, KindValidate, "pb", "B1", "") // interleaved: seqs of pa have gaps
		}
	}
	all, more := s.Attempts("pa", 0, 1000)
	if len(all) != 25 || more {
		t.Fatalf("all: %d more %v", len(all), more)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq || all[i].TimeMs > all[i-1].TimeMs {
			t.Fatalf("not newest first at %d: %+v then %+v", i, all[i-1], all[i])
		}
	}
	var pages [][]paypay.Attempt
	var before uint64
	for {
		page, more := s.Attempts("pa", before, 10)
		pages = append(pages, page)
		if !more {
			break
		}
		if len(page) != 10 {
			t.Fatalf("page %d has %d items and more", len(pages), len(page))
		}
		before = page[len(page)-1].Seq
	}
	if len(pages) != 3 || len(pages[2]) != 5 {
		t.Fatalf("pages: %d, last %d", len(pages), len(pages[len(pages)-1]))
	}
	var joined []paypay.Attempt
	for _, p := range pages {
		joined = append(joined, p...)
	}
	for i := range all {
		if joined[i] != all[i] {
			t.Fatalf("paged item %d %+v, want %+v", i, joined[i], all[i])
		}
	}
	// A cursor between records, one below the oldest, exactly 10 left.
	if p, more := s.Attempts("pa", all[0].Seq+1, 1); len(p) != 1 || p[0] != all[0] || !more {
		t.Fatalf("cursor above newest: %+v %v", p, more)
	}
	if p, more := s.Attempts("pa", all[24].Seq, 10); len(p) != 0 || more {
		t.Fatalf("cursor at oldest: %+v %v", p, more)
	}
	if p, more := s.Attempts("pa", all[14].Seq, 10); len(p) != 10 || more || p[9] != all[24] {
		t.Fatalf("exactly 10 older: %d %v", len(p), more)
	}
	if p, _ := s.Attempts("pb", 0, 100); len(p) != 5 {
		t.Fatalf("pb: %d", len(p))
	}
	if p, more := s.Attempts("nobody", 0, 100); p != nil || more {
		t.Fatal("unknown partner")
	}
	for _, a := range all {
		if a.Card != "A1" || a.Action != paypay.ActionValidate || a.Outcome != engine.CodeOK || a.RequestID == "" {
			t.Fatalf("record %+v", a)
		}
	}
}

// TestCodesDurableStateMatchesTraffic: mixed concurrent traffic on many
// codes, then the durable cards are what the answers imply, and live code
// actors (if any) agree with them.
func TestCodesDurableStateMatchesTraffic(t *testing.T) {
	clock := newCardsClock()
	dir := t.TempDir()
	s := startCards(t, dir, clock)
	const codes = 30
	cardsFixture(t, s, clock, codes)
	type outcome struct {
		redeemedBy string // RedemptionID of the successful redeem
		redeemedMs int64
		revoked    bool
		redeems    int
	}
	var mu sync.Mutex
	want := make(map[string]*outcome)
	for i := range codes {
		want[fmt.Sprintf("A%d", i+1)] = &outcome{}
	}
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 60 {
				code := fmt.Sprintf("A%d", 1+(g*7+i*13)%codes)
				switch (g + i) % 6 {
				case 0:
					st, _ := s.RevokeCode(code)
					if st == StatusOK {
						mu.Lock()
						want[code].revoked = true
						mu.Unlock()
					}
				case 1, 2:
					cardDo(s, KindValidate, "pa", code, "")
				case 3:
					cardDo(s, KindRedeem, "pb", code, "") // not found
				default:
					key := ""
					if i%2 == 0 {
						key = fmt.Sprintf("k-%d-%d", g, i)
					}
					r := cardDo(s, KindRedeem, "pa", code, key)
					if r.Status == StatusOK {
						mu.Lock()
						want[code].redeemedBy, want[code].redeemedMs = r.Detail.RedemptionID, r.Detail.RedeemedMs
						want[code].redeems++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	checkLiveCards(t, s)
	waitQuiet(t, s)
	check := func(s *System) {
		t.Helper()
		s.ReadState(func(st *engine.State) {
			for code, w := range want {
				c := paypay.Cards(st)[code]
				if c == nil || c.Partner != "pa" {
					t.Errorf("%s: %+v", code, c)
					continue
				}
				if w.redeems > 1 || (w.redeems == 1 && w.revoked) {
					t.Errorf("%s: %d redeems, revoked %v", code, w.redeems, w.revoked)
				}
				if c.RedemptionID != w.redeemedBy || c.RedeemedMs != w.redeemedMs || (c.RevokedMs != 0) != w.revoked {
					t.Errorf("%s: durable %+v, traffic implies %+v", code, c, *w)
				}
			}
			if b := paypay.Cards(st)["B1"]; b.RedeemedMs != 0 || b.RevokedMs != 0 {
				t.Errorf("B1 touched: %+v", b)
			}
			if len(paypay.Cards(st)) != codes+1 {
				t.Errorf("%d cards", len(paypay.Cards(st)))
			}
		})
	}
	check(s)
	img, before := crashImage(t, s, true)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, dir, clock)
	check(s)
	sameState(t, "cards after restart", durable(t, s), before)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, img, clock)
	defer s.Stop()
	check(s)
	sameState(t, "cards from a crash image", durable(t, s), before)
}
