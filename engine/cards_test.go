package engine_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
)

// Tests of the PayPay.cards events (types 9-16): keys, rate limits, redeem
// codes, the attempt audit and the expiries of Idempotency-Keys and audit
// records. DecideAttempt's own test is in engine/paypay.

// cardsLedger is ledger() plus a paypay partner "pp" (key hash 3) with
// codes c1..c3 (tier gold, expiring at 1000) and "pq" (key hash 4) with q1.
func cardsLedger(t *testing.T) *engine.State {
	t.Helper()
	s := ledger(t)
	s.Apply(&engine.PartnerCreated{Stamp: at(4), Partner: "pp", API: "paypay", Name: "PP", RateLimit: 60, Key: key("key_1", 3, "pp01")})
	s.Apply(&engine.PartnerCreated{Stamp: at(5), Partner: "pq", API: "paypay", Name: "PQ", RateLimit: 60, Key: key("key_1", 4, "pq01")})
	s.Apply(&paypay.CodesIssued{Stamp: at(6), Partner: "pp", Tier: "gold", Label: "Gold", ExpiresMs: 1000, Codes: []string{"c1", "c2", "c3"}})
	s.Apply(&paypay.CodesIssued{Stamp: at(7), Partner: "pq", Tier: "silver", Label: "Silver", ExpiresMs: 2000, Codes: []string{"q1"}})
	return s
}

func TestApplyCodesIssued(t *testing.T) {
	s := cardsLedger(t)
	want := paypay.Card{Partner: "pp", Tier: "gold", Label: "Gold", IssuedMs: 6, ExpiresMs: 1000}
	for _, c := range []string{"c1", "c2", "c3"} {
		if got := paypay.Cards(s)[c]; got == nil || *got != want {
			t.Fatalf("card %s = %+v, want %+v", c, got, want)
		}
	}
	if got := paypay.Cards(s)["q1"]; got == nil || got.Partner != "pq" || got.Tier != "silver" {
		t.Fatalf("q1 = %+v", got)
	}
	if len(paypay.Cards(s)) != 4 {
		t.Fatalf("%d cards", len(paypay.Cards(s)))
	}
}

func TestApplyAttempt(t *testing.T) {
	s := cardsLedger(t)
	// validate OK changes nothing but the audit.
	ev := paypay.DecideAttempt(paypay.Cards(s)["c1"], "pp", "c1", paypay.ActionValidate, 100, "req_v", "rdm_v", "")
	before := *paypay.Cards(s)["c1"]
	s.Apply(ev)
	if *paypay.Cards(s)["c1"] != before {
		t.Fatalf("validate changed the card: %+v", paypay.Cards(s)["c1"])
	}
	if s.IdemLen() != 1 { // c1 credit of ledger()
		t.Fatalf("validate recorded an idempotency record: %d", s.IdemLen())
	}
	// redeem OK sets RedeemedMs and RedemptionID, in State and via ApplyCard.
	working := *paypay.Cards(s)["c1"]
	ev = paypay.DecideAttempt(&working, "pp", "c1", paypay.ActionRedeem, 200, "req_r", "rdm_1", "key-A")
	paypay.ApplyCard(&working, ev)
	s.Apply(ev)
	c := paypay.Cards(s)["c1"]
	if c.RedeemedMs != 200 || c.RedemptionID != "rdm_1" || c.RevokedMs != 0 {
		t.Fatalf("redeemed card %+v", c)
	}
	if working != *c {
		t.Fatalf("ApplyCard working state %+v differs from State %+v", working, *c)
	}
	rec, ok := s.Record(engine.IdemKey{Partner: "pp", Scope: paypay.ScopeRedeemKey, Reference: "key-A"})
	wantRec := engine.IdemRecord{Fingerprint: "c1", Code: engine.CodeOK, TimeMs: 200, Detail: &engine.RedeemDetail{RequestID: "req_r", RedemptionID: "rdm_1",
		Tier: "gold", Label: "Gold", ExpiresMs: 1000, RedeemedMs: 200}}
	if !ok || !reflect.DeepEqual(rec, wantRec) {
		t.Fatalf("Idempotency-Key record %+v, want %+v", rec, wantRec)
	}
	// A second redeem is refused and carries the first redemption's time.
	ev = paypay.DecideAttempt(paypay.Cards(s)["c1"], "pp", "c1", paypay.ActionRedeem, 300, "req_r2", "rdm_2", "key-B")
	if ev.Outcome != paypay.ResultAlreadyRedeemed || ev.RedeemedMs != 200 || ev.RedemptionID != "" {
		t.Fatalf("second redeem %+v", ev)
	}
	s.Apply(ev)
	if c.RedeemedMs != 200 || c.RedemptionID != "rdm_1" {
		t.Fatalf("refused redeem changed the card %+v", c)
	}
	if r, _ := s.Record(engine.IdemKey{Partner: "pp", Scope: paypay.ScopeRedeemKey, Reference: "key-B"}); r.Code != paypay.ResultAlreadyRedeemed || r.Detail == nil || r.Detail.RedeemedMs != 200 {
		t.Fatalf("refused redeem record %+v", r)
	}
	// Not found (another partner's code): audited for the caller, card untouched.
	s.Apply(paypay.DecideAttempt(paypay.Cards(s)["q1"], "pp", "q1", paypay.ActionRedeem, 400, "req_x", "rdm_x", ""))
	if paypay.Cards(s)["q1"].RedeemedMs != 0 {
		t.Fatal("not-found redeem redeemed another partner's code")
	}
	// Unknown code, unknown to everyone.
	s.Apply(paypay.DecideAttempt(nil, "pq", "nope", paypay.ActionValidate, 500, "req_y", "", ""))

	// Seq increases over the whole ledger; each attempt is in its partner's log.
	pp := paypay.Attempts(s)["pp"].Items()
	pq := paypay.Attempts(s)["pq"].Items()
	if len(pp) != 4 || len(pq) != 1 || paypay.Of(s).Attempt != 5 {
		t.Fatalf("pp %d attempts, pq %d, counter %d", len(pp), len(pq), paypay.Of(s).Attempt)
	}
	want := []paypay.Attempt{
		{Seq: 1, TimeMs: 100, Card: "c1", Action: paypay.ActionValidate, Outcome: engine.CodeOK, RequestID: "req_v"},
		{Seq: 2, TimeMs: 200, Card: "c1", Action: paypay.ActionRedeem, Outcome: engine.CodeOK, RequestID: "req_r"},
		{Seq: 3, TimeMs: 300, Card: "c1", Action: paypay.ActionRedeem, Outcome: paypay.ResultAlreadyRedeemed, RequestID: "req_r2"},
		{Seq: 4, TimeMs: 400, Card: "q1", Action: paypay.ActionRedeem, Outcome: paypay.ResultNotFound, RequestID: "req_x"},
	}
	if !slices.Equal(pp, want) {
		t.Fatalf("pp attempts\n got %+v\nwant %+v", pp, want)
	}
	if pq[0] != (paypay.Attempt{Seq: 5, TimeMs: 500, Card: "nope", Action: paypay.ActionValidate, Outcome: paypay.ResultNotFound, RequestID: "req_y"}) {
		t.Fatalf("pq attempt %+v", pq[0])
	}
	if _, ok := paypay.Attempts(s)["p1"]; ok {
		t.Fatal("a partner without attempts has a log")
	}
}

func TestApplyRevokeAndExpiry(t *testing.T) {
	s := cardsLedger(t)
	s.Apply(&paypay.CodeRevoked{Stamp: at(50), Partner: "pp", Code: "c2"})
	if c := paypay.Cards(s)["c2"]; c.RevokedMs != 50 || c.RedeemedMs != 0 {
		t.Fatalf("revoked %+v", c)
	}
	ev := paypay.DecideAttempt(paypay.Cards(s)["c2"], "pp", "c2", paypay.ActionRedeem, 60, "r", "d", "")
	if ev.Outcome != paypay.ResultRevoked {
		t.Fatalf("redeem a revoked code: %+v", ev)
	}
	s.Apply(ev)
	if paypay.Cards(s)["c2"].RedeemedMs != 0 {
		t.Fatal("revoked code redeemed")
	}
	// An expired code can still be revoked (it was never redeemed).
	s.Apply(&paypay.CodeRevoked{Stamp: at(5000), Partner: "pp", Code: "c3"})
	if paypay.Cards(s)["c3"].RevokedMs != 5000 {
		t.Fatal("revoke of an expired code")
	}
}

func TestApplyCardInvariantPanics(t *testing.T) {
	redeem := func(code, partner string, ms int64) *paypay.CodeAttempt {
		return &paypay.CodeAttempt{Stamp: at(ms), Partner: partner, Code: code, Action: paypay.ActionRedeem, Outcome: engine.CodeOK, RequestID: "r", RedemptionID: "d", RedeemedMs: ms}
	}
	revoke := func(code string, ms int64) *paypay.CodeRevoked {
		return &paypay.CodeRevoked{Stamp: at(ms), Partner: "pp", Code: code}
	}
	cases := []struct {
		name string
		ev   func(s *engine.State) engine.Event
	}{
		{"redeem a redeemed code", func(s *engine.State) engine.Event {
			s.Apply(redeem("c1", "pp", 10))
			return redeem("c1", "pp", 11)
		}},
		{"redeem a revoked code", func(s *engine.State) engine.Event {
			s.Apply(revoke("c1", 10))
			return redeem("c1", "pp", 11)
		}},
		{"redeem exactly at expiry", func(s *engine.State) engine.Event { return redeem("c1", "pp", 1000) }},
		{"redeem after expiry", func(s *engine.State) engine.Event { return redeem("c1", "pp", 1001) }},
		{"redeem an unknown code", func(s *engine.State) engine.Event { return redeem("nope", "pp", 10) }},
		{"redeem another partner's code", func(s *engine.State) engine.Event { return redeem("q1", "pp", 10) }},
		{"revoked outcome on an unknown code", func(s *engine.State) engine.Event {
			return &paypay.CodeAttempt{Partner: "pp", Code: "nope", Action: paypay.ActionValidate, Outcome: paypay.ResultRevoked}
		}},
		{"revoke a redeemed code", func(s *engine.State) engine.Event {
			s.Apply(redeem("c1", "pp", 10))
			return revoke("c1", 11)
		}},
		{"revoke twice", func(s *engine.State) engine.Event {
			s.Apply(revoke("c1", 10))
			return revoke("c1", 11)
		}},
		{"revoke an unknown code", func(s *engine.State) engine.Event { return revoke("nope", 0) }},
		{"revoke another partner's code", func(s *engine.State) engine.Event { return revoke("q1", 0) }},
		{"issue a duplicate code", func(s *engine.State) engine.Event {
			return &paypay.CodesIssued{Partner: "pq", ExpiresMs: 5, Codes: []string{"new", "c2"}}
		}},
		{"issue a code twice in one batch", func(s *engine.State) engine.Event {
			return &paypay.CodesIssued{Partner: "pq", ExpiresMs: 5, Codes: []string{"x", "x"}}
		}},
		{"same Idempotency-Key twice", func(s *engine.State) engine.Event {
			s.Apply(paypay.DecideAttempt(paypay.Cards(s)["c1"], "pp", "c1", paypay.ActionRedeem, 10, "r", "d", "K"))
			return paypay.DecideAttempt(paypay.Cards(s)["c1"], "pp", "c1", paypay.ActionRedeem, 11, "r2", "d2", "K")
		}},
		{"add a duplicate key hash (other partner)", func(s *engine.State) engine.Event {
			return &engine.KeyAdded{Partner: "pq", Key: key("key_2", 3, "")}
		}},
		{"add a duplicate key hash (same partner)", func(s *engine.State) engine.Event {
			return &engine.KeyAdded{Partner: "pp", Key: key("key_2", 3, "")}
		}},
		{"add a duplicate key id", func(s *engine.State) engine.Event {
			return &engine.KeyAdded{Partner: "pp", Key: key("key_1", 9, "")}
		}},
		{"add a key with a short hash", func(s *engine.State) engine.Event {
			return &engine.KeyAdded{Partner: "pp", Key: engine.NewKeyRecord{ID: "key_2", Hash: keyHash(9)[:31]}}
		}},
		{"add a key to an unknown partner", func(s *engine.State) engine.Event {
			return &engine.KeyAdded{Partner: "nope", Key: key("key_2", 9, "")}
		}},
		{"revoke an unknown key", func(s *engine.State) engine.Event { return &engine.KeyRevoked{Partner: "pp", KeyID: "key_9"} }},
		{"revoke another partner's key id", func(s *engine.State) engine.Event {
			s.Apply(&engine.KeyAdded{Partner: "pq", Key: key("key_only_pq", 9, "")})
			return &engine.KeyRevoked{Partner: "pp", KeyID: "key_only_pq"}
		}},
		{"revoke a revoked key", func(s *engine.State) engine.Event {
			s.Apply(&engine.KeyRevoked{Stamp: at(10), Partner: "pp", KeyID: "key_1"})
			return &engine.KeyRevoked{Stamp: at(11), Partner: "pp", KeyID: "key_1"}
		}},
		{"rate limit of an unknown partner", func(s *engine.State) engine.Event {
			return &engine.PartnerRateLimitChanged{Partner: "nope", RateLimit: 5}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := cardsLedger(t)
			ev := tc.ev(s)
			mustPanic(t, tc.name, func() { s.Apply(ev) })
		})
	}
	// ApplyCard alone (the code actors' working state) enforces the same.
	redeemed := &paypay.Card{Partner: "pp", ExpiresMs: 100, RedeemedMs: 5}
	revoked := &paypay.Card{Partner: "pp", ExpiresMs: 100, RevokedMs: 5}
	ok := redeem("c", "pp", 10)
	mustPanic(t, "ApplyCard redeem redeemed", func() { paypay.ApplyCard(redeemed, ok) })
	mustPanic(t, "ApplyCard redeem revoked", func() { paypay.ApplyCard(revoked, ok) })
	late := redeem("c", "pp", 100)
	mustPanic(t, "ApplyCard redeem expired", func() { paypay.ApplyCard(&paypay.Card{Partner: "pp", ExpiresMs: 100}, late) })
	rv := &paypay.CodeRevoked{Partner: "pp", Code: "c"}
	mustPanic(t, "ApplyCard revoke redeemed", func() { paypay.ApplyCard(redeemed, rv) })
	mustPanic(t, "ApplyCard revoke revoked", func() { paypay.ApplyCard(revoked, rv) })
}

func TestApplyKeysAndRateLimit(t *testing.T) {
	s := cardsLedger(t)
	s.Apply(&engine.KeyAdded{Stamp: at(20), Partner: "pp", Key: key("key_2", 20, "k002")})
	var h1, h2 [engine.KeyHashLen]byte
	copy(h1[:], keyHash(3))
	copy(h2[:], keyHash(20))
	p := s.Partners["pp"]
	if s.Keys[h2] != "pp" || len(p.Keys) != 2 {
		t.Fatalf("added key: %+v", p.Keys)
	}
	if k := p.Key("key_2"); k == nil || k.Hint != "k002" || k.CreatedMs != 20 || k.RevokedMs != 0 || !slices.Equal(k.Hash, keyHash(20)) {
		t.Fatalf("key_2 %+v", k)
	}
	s.Apply(&engine.KeyRevoked{Stamp: at(30), Partner: "pp", KeyID: "key_1"})
	if k := p.Key("key_1"); k.RevokedMs != 30 {
		t.Fatalf("revoked key %+v", k)
	}
	// A revoked key's hash stays reserved: it can never be issued again.
	if s.Keys[h1] != "pp" {
		t.Fatal("revoked key hash forgotten")
	}
	mustPanic(t, "reuse a revoked key hash", func() {
		s.Apply(&engine.KeyAdded{Partner: "pq", Key: key("key_2", 3, "")})
	})
	s = cardsLedger(t)
	s.Apply(&engine.PartnerRateLimitChanged{Stamp: at(40), Partner: "pp", RateLimit: 100000})
	if s.Partners["pp"].RateLimit != 100000 || s.Partners["pq"].RateLimit != 60 {
		t.Fatal("rate limit")
	}
	// None of these touch cards, wallets or idempotency records.
	if len(paypay.Cards(s)) != 4 || s.IdemLen() != 1 || payshards.Wallets(s)["u1"].Balance != 1000 {
		t.Fatal("partner events changed other state")
	}
}

func TestApplyKeysExpired(t *testing.T) {
	s := cardsLedger(t) // credit reference c1 at time 3
	credit := func(ref string, ms int64) {
		ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", ref, 1, ms)
		s.Apply(ev)
	}
	redeemKey := func(code, key string, ms int64) {
		s.Apply(paypay.DecideAttempt(paypay.Cards(s)[code], "pp", code, paypay.ActionRedeem, ms, "req-"+key, "rdm-"+key, key))
	}
	keysExpired := func(cutoff int64) engine.Event { return &engine.KeysExpired{Stamp: at(100), CutoffMs: cutoff} }
	redeemKey("c1", "K1", 10)
	credit("c2", 12)
	redeemKey("c2", "K2", 20)
	redeemKey("c3", "K3", 15) // stamped out of order: waits behind K2
	credit("c3", 30)
	ik := func(ref string) engine.IdemKey {
		return engine.IdemKey{Partner: "pp", Scope: paypay.ScopeRedeemKey, Reference: ref}
	}
	ck := func(ref string) engine.IdemKey { return engine.IdemKey{Scope: payshards.ScopeCredit, Reference: ref} }
	if got := s.IdemKeys(); !slices.Equal(got, []engine.IdemKey{ck("c1"), ck("c2"), ck("c3"), ik("K1"), ik("K2"), ik("K3")}) {
		t.Fatalf("IdemKeys %v", got)
	}

	// Keys expiry forgets only Idempotency-Keys, oldest first in log order.
	s.Apply(keysExpired(18))
	if !slices.Equal(s.Expired, []engine.IdemKey{ik("K1")}) {
		t.Fatalf("keys cutoff 18 expired %v", s.Expired)
	}
	for _, k := range []engine.IdemKey{ck("c1"), ck("c2"), ik("K2"), ik("K3")} {
		if _, ok := s.Record(k); !ok {
			t.Fatalf("%v forgotten by keys expiry", k)
		}
	}
	// Reference expiry forgets only references.
	s.Apply(&engine.ReferencesExpired{Stamp: at(100), CutoffMs: 1 << 62})
	if !slices.Equal(s.Expired, []engine.IdemKey{ck("c1"), ck("c2"), ck("c3")}) {
		t.Fatalf("refs expiry expired %v", s.Expired)
	}
	if got := s.IdemKeys(); !slices.Equal(got, []engine.IdemKey{ik("K2"), ik("K3")}) {
		t.Fatalf("IdemKeys after refs expiry %v", got)
	}
	// Snapshot + continue == continue.
	loaded, err := engine.DecodeSnapshot(mustSnapshot(t, s))
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(keysExpired(21))
	loaded.Apply(keysExpired(21))
	if !slices.Equal(s.Expired, []engine.IdemKey{ik("K2"), ik("K3")}) || !slices.Equal(loaded.Expired, s.Expired) {
		t.Fatalf("keys cutoff 21 expired %v (after snapshot %v)", s.Expired, loaded.Expired)
	}
	if diff := statesEqual(s, loaded); diff != "" {
		t.Fatalf("expiry after snapshot differs in %s", diff)
	}
	// An expired key can be used again; the cards are untouched by expiry.
	s.Apply(paypay.DecideAttempt(paypay.Cards(s)["c1"], "pp", "c1", paypay.ActionValidate, 40, "r", "", ""))
	redeemKey("c1", "K1", 41)
	if r, _ := s.Record(ik("K1")); r.Code != paypay.ResultAlreadyRedeemed || r.Detail.RedeemedMs != 10 {
		t.Fatalf("reused key record %+v", r)
	}
	if paypay.Cards(s)["c1"].RedemptionID != "rdm-K1" || paypay.Cards(s)["c1"].RedeemedMs != 10 {
		t.Fatalf("card after expiry %+v", paypay.Cards(s)["c1"])
	}
	if len(paypay.Attempts(s)["pp"].Items()) != 5 {
		t.Fatal("keys expiry touched the audit")
	}
}

func TestApplyAttemptsExpired(t *testing.T) {
	s := cardsLedger(t)
	attempt := func(partner, code string, ms int64) {
		s.Apply(paypay.DecideAttempt(paypay.Cards(s)[code], partner, code, paypay.ActionValidate, ms, "r", "", ""))
	}
	expire := func(cutoff int64) engine.Event { return &paypay.AttemptsExpired{Stamp: at(100), CutoffMs: cutoff} }
	attempt("pp", "c1", 10)
	attempt("pq", "q1", 11)
	attempt("pp", "c2", 20)
	attempt("p1", "zz", 12) // a payshards partner's not-found attempt
	attempt("pp", "c3", 30)
	attempt("pq", "q1", 40)
	idem := s.IdemLen()
	seqs := func(p string) (out []uint64) {
		if l := paypay.Attempts(s)[p]; l != nil {
			for _, a := range l.Items() {
				out = append(out, a.Seq)
			}
		}
		return out
	}
	s.Apply(expire(10)) // nothing older than 10
	if !slices.Equal(seqs("pp"), []uint64{1, 3, 5}) || !slices.Equal(seqs("pq"), []uint64{2, 6}) || !slices.Equal(seqs("p1"), []uint64{4}) {
		t.Fatalf("cutoff 10: pp %v pq %v p1 %v", seqs("pp"), seqs("pq"), seqs("p1"))
	}
	s.Apply(expire(21))
	if !slices.Equal(seqs("pp"), []uint64{5}) || !slices.Equal(seqs("pq"), []uint64{6}) {
		t.Fatalf("cutoff 21: pp %v pq %v", seqs("pp"), seqs("pq"))
	}
	if _, ok := paypay.Attempts(s)["p1"]; ok {
		t.Fatal("an emptied log is not deleted")
	}
	loaded, err := engine.DecodeSnapshot(mustSnapshot(t, s))
	if err != nil {
		t.Fatal(err)
	}
	if diff := statesEqual(s, loaded); diff != "" {
		t.Fatalf("snapshot after attempts expiry differs in %s", diff)
	}
	// The counter keeps going after expiry (and after a snapshot).
	attempt("pp", "c1", 50)
	loaded.Apply(&paypay.CodeAttempt{Stamp: at(50), Partner: "pp", Code: "c1", Action: paypay.ActionValidate, RequestID: "r", Tier: "gold", Label: "Gold", ExpiresMs: 1000})
	if !slices.Equal(seqs("pp"), []uint64{5, 7}) || paypay.Of(s).Attempt != 7 {
		t.Fatalf("after expiry: pp %v counter %d", seqs("pp"), paypay.Of(s).Attempt)
	}
	if diff := statesEqual(s, loaded); diff != "" {
		t.Fatalf("attempt after snapshot differs in %s", diff)
	}
	s.Apply(expire(1 << 62))
	if len(paypay.Attempts(s)) != 0 || paypay.Of(s).Attempt != 7 {
		t.Fatalf("expire all left %d logs, counter %d", len(paypay.Attempts(s)), paypay.Of(s).Attempt)
	}
	if s.IdemLen() != idem || len(paypay.Cards(s)) != 4 {
		t.Fatal("attempts expiry touched other state")
	}
	// Many records with partial expiries (compaction of the log's head).
	for i := range int64(100) {
		attempt("pq", "q1", 1000+i)
	}
	for cut := int64(1000); cut <= 1100; cut += 7 {
		s.Apply(expire(cut))
		items := paypay.Attempts(s)["pq"].Items()
		if len(items) != int(1100-cut) || items[0].TimeMs != cut || items[len(items)-1].TimeMs != 1099 {
			t.Fatalf("cutoff %d: %d items, first %+v", cut, len(items), items[0])
		}
	}
}

// TestIdemOfCards (was TestKeyOfRecordOfCards): the idempotency key and
// record of the partner, key and PayPay.cards events.
func TestIdemOfCards(t *testing.T) {
	for _, ev := range sampleEvents() {
		k, _, ok := engine.IdemOf(ev)
		switch e := ev.(type) {
		case *engine.KeyAdded, *engine.KeyRevoked, *engine.PartnerRateLimitChanged, *paypay.CodesIssued, *paypay.CodeRevoked,
			*engine.KeysExpired, *paypay.AttemptsExpired:
			if ok || k != (engine.IdemKey{}) {
				t.Errorf("type %d: key %+v", ev.EventType(), k)
			}
		case *paypay.CodeAttempt:
			want := engine.IdemKey{}
			if e.Key != "" {
				want = engine.IdemKey{Partner: e.Partner, Scope: paypay.ScopeRedeemKey, Reference: e.Key}
			}
			if k != want || ok != (e.Key != "") {
				t.Errorf("attempt key %+v (%v), want %+v", k, ok, want)
			}
		}
	}
	ev := &paypay.CodeAttempt{Stamp: at(9), Partner: "pp", Code: "c", Action: paypay.ActionRedeem, Outcome: paypay.ResultExpired,
		RequestID: "rq", RedemptionID: "", Key: "K", Tier: "t", Label: "l", ExpiresMs: 8}
	_, r, _ := engine.IdemOf(ev)
	if !reflect.DeepEqual(r, engine.IdemRecord{Fingerprint: "c", Code: paypay.ResultExpired, TimeMs: 9, Detail: &engine.RedeemDetail{RequestID: "rq", Tier: "t", Label: "l", ExpiresMs: 8}}) {
		t.Fatalf("RecordOf attempt %+v", r)
	}
	if !r.Matches("c", 0) || r.Matches("d", 0) {
		t.Fatal("Matches on the code")
	}
}

// goldenCardsState is a state with every PayPay.cards structure: keys
// (one revoked), codes (redeemed, revoked, untouched), attempts of two
// partners and Idempotency-Key records.
func goldenCardsState() *engine.State {
	s := applyAll(engine.NewState(), sampleEvents())
	s.Apply(&engine.PartnerCreated{Stamp: at(1700000000020), Partner: "ptr_2", API: "paypay", Name: "Cards", RateLimit: 60, Key: key("key_1", 5, "pp02")})
	s.Apply(&paypay.CodesIssued{Stamp: at(1700000000021), Partner: "ptr_2", Tier: "silver", Label: "S", ExpiresMs: 1700000000100, Codes: []string{"PP-BBBB-0001"}})
	s.Apply(paypay.DecideAttempt(paypay.Cards(s)["PP-BBBB-0001"], "ptr_2", "PP-BBBB-0001", paypay.ActionRedeem, 1700000000022, "req_9", "rdm_9", "idem_9"))
	s.Apply(paypay.DecideAttempt(paypay.Cards(s)["PP-AAAA-0002"], "ptr_2", "PP-AAAA-0002", paypay.ActionValidate, 1700000000023, "req_10", "", ""))
	s.Index = 43
	return s
}

func TestSnapshotCardsGolden(t *testing.T) {
	s := goldenCardsState()
	if len(paypay.Cards(s)) != 4 || len(paypay.Attempts(s)) != 2 || paypay.Of(s).Attempt != 5 || s.IdemLen() == 0 {
		t.Fatalf("golden state lacks cards structures: %d cards, %d logs, seq %d", len(paypay.Cards(s)), len(paypay.Attempts(s)), paypay.Of(s).Attempt)
	}
	snapshotGolden(t, "snapshot_cards_v3.golden", s)
	snapshotGoldenV2(t, "snapshot_cards_v2.golden", s)
}

func TestDecodeSnapshotRejectsCards(t *testing.T) {
	p := engine.Partner{ID: "pp", API: "paypay", Name: "n", Status: engine.StatusActive, Keys: []engine.APIKey{{ID: "k1", Hash: keyHash(1)}}}
	card := paypay.Card{Partner: "pp", Tier: "t", ExpiresMs: 100}
	att := func(seq uint64) paypay.Attempt {
		return paypay.Attempt{Seq: seq, TimeMs: 1, Card: "c", Action: paypay.ActionValidate, RequestID: "r"}
	}
	control := snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{p}, Cards: []cardEntry{{Code: "c1", Card: card}, {Code: "c2", Card: card}},
		Attempts: []attemptEntry{{Partner: "pp", Items: []paypay.Attempt{att(1), att(2)}}}, Attempt: 2,
		Idem: []idemEntry{{Key: engine.IdemKey{Partner: "pp", Scope: paypay.ScopeRedeemKey, Reference: "K"}, Record: engine.IdemRecord{Fingerprint: "c1", Detail: &engine.RedeemDetail{RequestID: "r"}}}}}
	s, err := engine.DecodeSnapshot(encodeSnap(t, control))
	if err != nil {
		t.Fatalf("control snapshot rejected: %v", err)
	}
	if len(paypay.Cards(s)) != 2 || paypay.Of(s).Attempt != 2 || len(paypay.Attempts(s)["pp"].Items()) != 2 || recordOf(s, engine.IdemKey{Partner: "pp", Scope: paypay.ScopeRedeemKey, Reference: "K"}).Detail == nil {
		t.Fatalf("control snapshot decodes to %+v", s)
	}
	mod := func(f func(*snapshot)) []byte {
		c := control
		c.Cards = slices.Clone(control.Cards)
		c.Attempts = []attemptEntry{{Partner: "pp", Items: slices.Clone(control.Attempts[0].Items)}}
		c.Idem = slices.Clone(control.Idem)
		f(&c)
		return encodeSnap(t, c)
	}
	cases := map[string][]byte{
		"card of unknown partner": mod(func(c *snapshot) { c.Cards[1].Card.Partner = "nobody" }),
		"card without partner":    mod(func(c *snapshot) { c.Cards[1].Card.Partner = "" }),
		"card without code":       mod(func(c *snapshot) { c.Cards[0].Code = "" }),
		"duplicate code":          mod(func(c *snapshot) { c.Cards[1].Code = "c1" }),
		"attempts out of order":   mod(func(c *snapshot) { c.Attempts[0].Items = []paypay.Attempt{att(2), att(1)} }),
		"attempts equal seq":      mod(func(c *snapshot) { c.Attempts[0].Items = []paypay.Attempt{att(2), att(2)} }),
		"attempt seq > counter":   mod(func(c *snapshot) { c.Attempts[0].Items = []paypay.Attempt{att(1), att(3)} }),
		"attempts, counter 0":     mod(func(c *snapshot) { c.Attempt = 0 }),
		"empty attempt log":       mod(func(c *snapshot) { c.Attempts[0].Items = nil }),
		"attempts without partner": mod(func(c *snapshot) {
			c.Attempts[0].Partner = ""
		}),
		"attempt log twice": mod(func(c *snapshot) {
			c.Attempts = append(c.Attempts, attemptEntry{Partner: "pp", Items: []paypay.Attempt{att(2)}})
		}),
		"idem op 0":          mod(func(c *snapshot) { c.Idem[0].Key.Scope = 0 }),
		"idem unknown scope": mod(func(c *snapshot) { c.Idem[0].Key.Scope = 99 }), // no module claims 99
		"idem duplicate key": mod(func(c *snapshot) { c.Idem = append(c.Idem, c.Idem[0]) }),
		"partner key no id": mod(func(c *snapshot) {
			c.Partners = []engine.Partner{{ID: "pp", Keys: []engine.APIKey{{Hash: keyHash(1)}}}}
		}),
		"key hash two owners": mod(func(c *snapshot) { c.Partners = append(c.Partners, engine.Partner{ID: "pq", Keys: p.Keys}) }),
	}
	for name, data := range cases {
		if s, err := engine.DecodeSnapshot(data); err == nil {
			t.Errorf("%s: accepted (%d cards, %d logs, counter %d)", name, len(paypay.Cards(s)), len(paypay.Attempts(s)), paypay.Of(s).Attempt)
		} else if !errors.Is(err, engine.ErrBadRecord) {
			t.Errorf("%s: error %v does not wrap ErrBadRecord", name, err)
		}
	}
}

func TestDecodeBatchRejectsCards(t *testing.T) {
	codes := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "c"
		}
		return out
	}
	issued := func(cs []string) []byte {
		r := newRaw().arr(7).i(int64(paypay.EvCodesIssued)).i(1).s("p").s("gold").s("L").i(100).arr(len(cs))
		for _, c := range cs {
			r.s(c)
		}
		return batchOf(r.out())
	}
	attempt := func(action, outcome int64, ref string) []byte {
		return batchOf(newRaw().arr(13).i(int64(paypay.EvCodeAttempt)).i(1).s("p").s("c").i(action).i(outcome).
			s("req").s("").s(ref).s("t").s("l").i(100).i(0).out())
	}
	keyAdded := func(partner, id string, hash []byte) []byte {
		return batchOf(newRaw().arr(6).i(int64(engine.EvKeyAdded)).i(1).s(partner).s(id).b(hash).s("hint").out())
	}
	rateLimit := func(v int64) []byte {
		return batchOf(newRaw().arr(4).i(int64(engine.EvPartnerRateLimit)).i(1).s("p").i(v).out())
	}
	// Controls: the same shapes with valid values decode.
	for name, data := range map[string][]byte{
		"10,000 codes":            issued(codes(paypay.MaxCodesIssued)),
		"1 code":                  issued([]string{"x"}),
		"validate ok":             attempt(int64(paypay.ActionValidate), int64(engine.CodeOK), ""),
		"redeem revoked with key": attempt(int64(paypay.ActionRedeem), int64(paypay.ResultRevoked), "K"),
		"redeem not found":        attempt(int64(paypay.ActionRedeem), int64(paypay.ResultNotFound), ""),
		"key added":               keyAdded("p", "k", keyHash(1)),
		"rate limit 1":            rateLimit(1),
		"key revoked":             batchOf(newRaw().arr(4).i(int64(engine.EvKeyRevoked)).i(1).s("p").s("k").out()),
		"code revoked":            batchOf(newRaw().arr(4).i(int64(paypay.EvCodeRevoked)).i(1).s("p").s("c").out()),
		"keys expired":            batchOf(newRaw().arr(3).i(int64(engine.EvKeysExpired)).i(1).i(0).out()),
		"attempts expired":        batchOf(newRaw().arr(3).i(int64(paypay.EvAttemptsExpired)).i(1).i(5).out()),
	} {
		if _, err := engine.DecodeBatch(data); err != nil {
			t.Errorf("control %s rejected: %v", name, err)
		}
	}
	withEmpty := codes(3)
	withEmpty[1] = ""
	cases := map[string][]byte{
		"0 codes":                     issued(nil),
		"10,001 codes":                issued(codes(paypay.MaxCodesIssued + 1)),
		"an empty code":               issued(withEmpty),
		"issued without partner":      batchOf(newRaw().arr(7).i(int64(paypay.EvCodesIssued)).i(1).s("").s("t").s("l").i(1).arr(1).s("c").out()),
		"codes not an array":          batchOf(newRaw().arr(7).i(int64(paypay.EvCodesIssued)).i(1).s("p").s("t").s("l").i(1).s("c").out()),
		"codes of ints":               batchOf(newRaw().arr(7).i(int64(paypay.EvCodesIssued)).i(1).s("p").s("t").s("l").i(1).arr(1).i(1).out()),
		"codes count > data":          batchOf(newRaw().arr(7).i(int64(paypay.EvCodesIssued)).i(1).s("p").s("t").s("l").i(1).bytes(0xdd, 0, 0, 0x27, 0x10).out()),
		"issued 6 fields":             batchOf(newRaw().arr(6).i(int64(paypay.EvCodesIssued)).i(1).s("p").s("t").s("l").i(1).out()),
		"action 0":                    attempt(0, int64(engine.CodeOK), ""),
		"action 3":                    attempt(3, int64(engine.CodeOK), ""),
		"action 256":                  attempt(256+int64(paypay.ActionRedeem), int64(engine.CodeOK), ""),
		"action -1":                   attempt(-1, int64(engine.CodeOK), ""),
		"outcome insufficient":        attempt(int64(paypay.ActionRedeem), int64(payshards.CodeInsufficient), ""),
		"outcome unknown user":        attempt(int64(paypay.ActionRedeem), int64(payshards.CodeUnknownUser), ""),
		"outcome refund exceeds":      attempt(int64(paypay.ActionValidate), int64(payshards.CodeRefundExceeds), ""),
		"outcome 8":                   attempt(int64(paypay.ActionRedeem), int64(paypay.ResultRevoked)+1, ""),
		"outcome 260":                 attempt(int64(paypay.ActionRedeem), 256+int64(paypay.ResultNotFound), ""),
		"Idempotency-Key on validate": attempt(int64(paypay.ActionValidate), int64(engine.CodeOK), "K"),
		"attempt without code": batchOf(newRaw().arr(13).i(int64(paypay.EvCodeAttempt)).i(1).s("p").s("").i(1).i(0).
			s("req").s("").s("").s("t").s("l").i(100).i(0).out()),
		"attempt without partner": batchOf(newRaw().arr(13).i(int64(paypay.EvCodeAttempt)).i(1).s("").s("c").i(1).i(0).
			s("req").s("").s("").s("t").s("l").i(100).i(0).out()),
		"attempt 12 fields": batchOf(newRaw().arr(12).i(int64(paypay.EvCodeAttempt)).i(1).s("p").s("c").i(1).i(0).
			s("req").s("").s("").s("t").s("l").i(100).out()),
		"key added short hash":     keyAdded("p", "k", keyHash(1)[:31]),
		"key added long hash":      keyAdded("p", "k", append(keyHash(1), 0)),
		"key added no hash":        keyAdded("p", "k", nil),
		"key added empty key id":   keyAdded("p", "", keyHash(1)),
		"key added empty partner":  keyAdded("", "k", keyHash(1)),
		"key added hash as str":    batchOf(newRaw().arr(6).i(int64(engine.EvKeyAdded)).i(1).s("p").s("k").s(strings.Repeat("x", 32)).s("h").out()),
		"key revoked empty key id": batchOf(newRaw().arr(4).i(int64(engine.EvKeyRevoked)).i(1).s("p").s("").out()),
		"key revoked no partner":   batchOf(newRaw().arr(4).i(int64(engine.EvKeyRevoked)).i(1).s("").s("k").out()),
		"rate limit 0":             rateLimit(0),
		"rate limit -1":            rateLimit(-1),
		"rate limit no partner":    batchOf(newRaw().arr(4).i(int64(engine.EvPartnerRateLimit)).i(1).s("").i(5).out()),
		"code revoked no code":     batchOf(newRaw().arr(4).i(int64(paypay.EvCodeRevoked)).i(1).s("p").s("").out()),
		"keys expired cutoff < 0":  batchOf(newRaw().arr(3).i(int64(engine.EvKeysExpired)).i(1).i(-1).out()),
		"attempts expired < 0":     batchOf(newRaw().arr(3).i(int64(paypay.EvAttemptsExpired)).i(1).i(-1).out()),
	}
	for name, data := range cases {
		got, err := engine.DecodeBatch(data)
		if err == nil {
			t.Errorf("%s: accepted as %+v", name, got)
		} else if !errors.Is(err, engine.ErrBadRecord) {
			t.Errorf("%s: error %v does not wrap ErrBadRecord", name, err)
		}
	}
	// The type after the last one is unknown, not corrupt (it used to be
	// ErrBadRecord; see TestDecodeBatchUnknownType).
	data := batchOf(newRaw().arr(3).i(int64(paypay.EvAttemptsExpired) + 1).i(1).i(1).out())
	if got, err := engine.DecodeBatch(data); err == nil {
		t.Errorf("unknown type 17: accepted as %+v", got)
	} else if !errors.Is(err, engine.ErrUnknownEventType) {
		t.Errorf("unknown type 17: error %v does not wrap ErrUnknownEventType", err)
	}
}

// TestSnapshotDeterminismCards: the generator's logs hold every cards
// structure at the midpoints the determinism test cuts at, so that test
// exercises them rather than an empty Cards map.
func TestSnapshotDeterminismCards(t *testing.T) {
	evs := randomEvents(10, 800)
	half := applyAll(engine.NewState(), evs[:len(evs)/2])
	if len(paypay.Cards(half)) == 0 || len(paypay.Attempts(half)) == 0 || paypay.Of(half).Attempt == 0 {
		t.Fatalf("midpoint state has %d cards, %d attempt logs", len(paypay.Cards(half)), len(paypay.Attempts(half)))
	}
	keys, revokedKeys, redeemed, revoked := 0, 0, 0, 0
	for _, p := range half.Partners {
		for _, k := range p.Keys {
			keys++
			if k.RevokedMs != 0 {
				revokedKeys++
			}
		}
	}
	for _, c := range paypay.Cards(half) {
		if c.RedeemedMs != 0 {
			redeemed++
		}
		if c.RevokedMs != 0 {
			revoked++
		}
	}
	redeemKeys := 0
	for k := range half.IdemRecords() {
		if k.Scope == paypay.ScopeRedeemKey {
			redeemKeys++
		}
	}
	if keys <= len(half.Partners) || revokedKeys == 0 || redeemed == 0 || revoked == 0 || redeemKeys == 0 {
		t.Fatalf("midpoint: %d keys for %d partners, %d revoked keys, %d redeemed, %d revoked codes, %d Idempotency-Keys",
			keys, len(half.Partners), revokedKeys, redeemed, revoked, redeemKeys)
	}
}
