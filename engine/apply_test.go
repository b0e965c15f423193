package engine_test

import (
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

// State.Apply of the core and PayShards events through the engine's table.
// The Decide functions' own tests are in engine/payshards.

// ledger builds a small state through Decide + Apply, the way actors do.
func ledger(t *testing.T) *engine.State {
	t.Helper()
	s := engine.NewState()
	s.Apply(&engine.PartnerCreated{Stamp: at(1), Partner: "p1", API: "payshards", Name: "One", RateLimit: 60, Key: key("key_1", 1, "abcd")})
	s.Apply(&engine.PartnerCreated{Stamp: at(2), Partner: "p2", API: "payshards", Name: "Two", RateLimit: 60, Key: key("key_1", 2, "abcd")})
	ev, _ := payshards.DecideCredit(nil, "u1", "c1", 1000, 3)
	s.Apply(ev)
	return s
}

func TestApplyEveryType(t *testing.T) {
	s := ledger(t)

	// PartnerCreated
	p := s.Partners["p1"]
	if p == nil || p.ID != "p1" || p.API != "payshards" || p.Name != "One" || p.RateLimit != 60 || p.CreatedMs != 1 || !p.Active() {
		t.Fatalf("partner after create: %+v", p)
	}
	var h [engine.KeyHashLen]byte
	copy(h[:], keyHash(1))
	if s.Keys[h] != "p1" {
		t.Fatal("key hash not indexed")
	}

	// PartnerStatus
	s.Apply(&engine.PartnerStatusChanged{Partner: "p1", Status: engine.StatusInactive})
	if s.Partners["p1"].Active() || s.Partners["p1"].Status != engine.StatusInactive {
		t.Fatal("status not applied")
	}
	s.Apply(&engine.PartnerStatusChanged{Partner: "p1", Status: engine.StatusActive})
	if !s.Partners["p1"].Active() {
		t.Fatal("status not re-activated")
	}

	// Credited (existing wallet)
	ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", "c2", 500, 4)
	s.Apply(ev)
	if payshards.Wallets(s)["u1"].Balance != 1500 {
		t.Fatal("credit")
	}
	if r, _ := s.Record(engine.IdemKey{Scope: payshards.ScopeCredit, Reference: "c2"}); r != (engine.IdemRecord{Fingerprint: "u1", Amount: 500, Code: engine.CodeOK, Value: 1500, TimeMs: 4}) {
		t.Fatalf("credit idem record %+v", r)
	}

	// Deducted by two partners
	for _, d := range []struct {
		partner, ref string
		amount       int64
	}{{"p1", "d1", 300}, {"p2", "d1", 200}, {"p1", "d2", 100}} {
		ev := payshards.DecideDeduct(payshards.Wallets(s)["u1"], d.partner, "u1", d.ref, d.amount, 5)
		if ev.EventType() != payshards.EvDeducted {
			t.Fatalf("deduct %+v", ev)
		}
		s.Apply(ev)
	}
	w := payshards.Wallets(s)["u1"]
	if w.Balance != 900 || w.RefundableFor("p1") != 400 || w.RefundableFor("p2") != 200 {
		t.Fatalf("after deducts: %+v", w)
	}
	if r, _ := s.Record(engine.IdemKey{Partner: "p2", Scope: payshards.ScopeDeduct, Reference: "d1"}); r.Value != 1000 || r.Amount != 200 || r.Code != engine.CodeOK {
		t.Fatalf("deduct idem record %+v", r)
	}

	// DeductRejected: no state change except the idem record.
	s.Apply(payshards.DecideDeduct(w, "p1", "u1", "d3", 901, 6))
	if w.Balance != 900 {
		t.Fatal("rejected deduct changed the balance")
	}
	if r, _ := s.Record(engine.IdemKey{Partner: "p1", Scope: payshards.ScopeDeduct, Reference: "d3"}); r.Code != payshards.CodeInsufficient || r.Value != 900 || r.Amount != 901 {
		t.Fatalf("rejected deduct record %+v", r)
	}
	s.Apply(payshards.DecideDeduct(nil, "p1", "ghost", "d4", 1, 6))
	if payshards.Wallets(s)["ghost"] != nil {
		t.Fatal("rejected deduct for unknown user created a wallet")
	}
	if r, _ := s.Record(engine.IdemKey{Partner: "p1", Scope: payshards.ScopeDeduct, Reference: "d4"}); r.Code != payshards.CodeUnknownUser {
		t.Fatalf("unknown user record %+v", r)
	}

	// Refunded: refundable is tracked per partner and removed at zero.
	s.Apply(payshards.DecideRefund(w, "p2", "u1", "r1", 200, 7))
	if w.Balance != 1100 || w.RefundableFor("p2") != 0 || w.RefundableFor("p1") != 400 || len(w.Refundable) != 1 {
		t.Fatalf("after refund: %+v", w)
	}
	s.Apply(payshards.DecideRefund(w, "p1", "u1", "r1", 150, 7))
	if w.Balance != 1250 || w.RefundableFor("p1") != 250 {
		t.Fatalf("after partial refund: %+v", w)
	}

	// RefundRejected
	ev = payshards.DecideRefund(w, "p2", "u1", "r2", 1, 8)
	if code, _ := payshards.Result(ev); ev.EventType() != payshards.EvRefundRejected || code != payshards.CodeRefundExceeds {
		t.Fatalf("p2 refund after full refund: %+v", ev)
	}
	s.Apply(ev)
	if w.Balance != 1250 {
		t.Fatal("rejected refund changed the balance")
	}
	s.Apply(payshards.DecideRefund(nil, "p1", "ghost", "r3", 1, 8))
	if payshards.Wallets(s)["ghost"] != nil {
		t.Fatal("rejected refund for unknown user created a wallet")
	}

	if s.Events != 3+2+1+3+2+2+2 {
		t.Fatalf("Events = %d", s.Events)
	}
	// Same reference, different op or partner: separate keys.
	if s.IdemLen() != 11 {
		t.Fatalf("idem records = %d", s.IdemLen())
	}
}

func TestApplyInvariantPanics(t *testing.T) {
	cases := []struct {
		name string
		ev   func(s *engine.State) engine.Event
	}{
		{"same credit reference twice", func(s *engine.State) engine.Event {
			ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", "c1", 1, 0)
			return ev
		}},
		{"same deduct reference twice", func(s *engine.State) engine.Event {
			s.Apply(payshards.DecideDeduct(payshards.Wallets(s)["u1"], "p1", "u1", "d1", 1, 0))
			return payshards.DecideDeduct(payshards.Wallets(s)["u1"], "p1", "u1", "d1", 1, 0)
		}},
		{"same deduct reference rejected twice", func(s *engine.State) engine.Event {
			ev := payshards.DecideDeduct(nil, "p1", "nobody", "d1", 1, 0)
			s.Apply(ev)
			return ev
		}},
		{"deducted balance mismatch", func(s *engine.State) engine.Event {
			ev := payshards.DecideDeduct(payshards.Wallets(s)["u1"], "p1", "u1", "d1", 10, 0)
			ev.(*payshards.Deducted).BalanceAfter++
			return ev
		}},
		{"credited balance mismatch", func(s *engine.State) engine.Event {
			ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", "c9", 10, 0)
			ev.(*payshards.Credited).BalanceAfter--
			return ev
		}},
		{"deduct below zero", func(s *engine.State) engine.Event {
			return &payshards.Deducted{Partner: "p1", User: "u1", Reference: "x", Amount: 1001, BalanceAfter: -1}
		}},
		{"deducted on missing wallet", func(s *engine.State) engine.Event {
			return &payshards.Deducted{Partner: "p1", User: "nobody", Reference: "x", Amount: 1, BalanceAfter: 0}
		}},
		{"insufficient on missing wallet", func(s *engine.State) engine.Event {
			return &payshards.DeductRejected{Partner: "p1", User: "nobody", Reference: "x", Amount: 1, Code: payshards.CodeInsufficient}
		}},
		{"refund without deduction", func(s *engine.State) engine.Event {
			return &payshards.Refunded{Partner: "p1", User: "u1", Reference: "x", Amount: 1, BalanceAfter: 1001}
		}},
		{"refund beyond refundable", func(s *engine.State) engine.Event {
			s.Apply(payshards.DecideDeduct(payshards.Wallets(s)["u1"], "p1", "u1", "d1", 10, 0))
			return &payshards.Refunded{Partner: "p1", User: "u1", Reference: "x", Amount: 11, BalanceAfter: 1001}
		}},
		{"status of unknown partner", func(s *engine.State) engine.Event {
			return &engine.PartnerStatusChanged{Partner: "nope", Status: engine.StatusActive}
		}},
		{"duplicate partner id", func(s *engine.State) engine.Event {
			return &engine.PartnerCreated{Partner: "p1", Key: key("key_1", 9, "abcd")}
		}},
		{"short key hash", func(s *engine.State) engine.Event {
			return &engine.PartnerCreated{Partner: "p9", Key: engine.NewKeyRecord{ID: "key_1", Hash: []byte{1, 2, 3}}}
		}},
		{"unknown type", func(s *engine.State) engine.Event { return &unknownEvent{typ: 99} }},
		{"zero type", func(s *engine.State) engine.Event { return &unknownEvent{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ledger(t)
			ev := tc.ev(s)
			mustPanic(t, tc.name, func() { s.Apply(ev) })
		})
	}
	mustPanic(t, "ApplyWallet non-wallet event", func() { payshards.ApplyWallet(&payshards.Wallet{}, &engine.PartnerStatusChanged{}) })
}

func TestInvariantMessage(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "reference applied once") || !strings.Contains(msg, `"c1"`) {
			t.Fatalf("panic message %q does not name the invariant and reference", msg)
		}
	}()
	s := ledger(t)
	ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", "c1", 1, 0)
	s.Apply(ev)
}

// TestIdemOf (was TestKeyOfRecordOf): the idempotency key and record each
// core and PayShards event leaves.
func TestIdemOf(t *testing.T) {
	for _, ev := range sampleEvents() {
		k, _, ok := engine.IdemOf(ev)
		switch e := ev.(type) {
		case *engine.PartnerCreated, *engine.PartnerStatusChanged, *engine.ReferencesExpired:
			if ok || k != (engine.IdemKey{}) {
				t.Errorf("type %d: key %+v", ev.EventType(), k)
			}
		case *payshards.Credited:
			if !ok || k != (engine.IdemKey{Scope: payshards.ScopeCredit, Reference: e.Reference}) {
				t.Errorf("credit key %+v", k)
			}
		case *payshards.Deducted:
			if !ok || k != (engine.IdemKey{Partner: e.Partner, Scope: payshards.ScopeDeduct, Reference: e.Reference}) {
				t.Errorf("deduct key %+v", k)
			}
		case *payshards.DeductRejected:
			if !ok || k != (engine.IdemKey{Partner: e.Partner, Scope: payshards.ScopeDeduct, Reference: e.Reference}) {
				t.Errorf("deduct key %+v", k)
			}
		case *payshards.Refunded:
			if !ok || k != (engine.IdemKey{Partner: e.Partner, Scope: payshards.ScopeRefund, Reference: e.Reference}) {
				t.Errorf("refund key %+v", k)
			}
		case *payshards.RefundRejected:
			if !ok || k != (engine.IdemKey{Partner: e.Partner, Scope: payshards.ScopeRefund, Reference: e.Reference}) {
				t.Errorf("refund key %+v", k)
			}
		}
	}
	_, r, _ := engine.IdemOf(&payshards.DeductRejected{Stamp: at(8), Partner: "p", User: "u", Reference: "ref", Amount: 5, Code: payshards.CodeInsufficient, Balance: 3})
	if r != (engine.IdemRecord{Fingerprint: "u", Amount: 5, Code: payshards.CodeInsufficient, Value: 3, TimeMs: 8}) {
		t.Fatalf("RecordOf %+v", r)
	}
	if !r.Matches("u", 5) || r.Matches("u", 6) || r.Matches("v", 5) {
		t.Fatal("Matches")
	}
}

func TestApplyIdemExpired(t *testing.T) {
	s := ledger(t) // credit c1 at time 3
	credit := func(ref string, at int64) {
		ev, _ := payshards.DecideCredit(payshards.Wallets(s)["u1"], "u1", ref, 1, at)
		s.Apply(ev)
	}
	expire := func(cutoff int64) engine.Event { return &engine.ReferencesExpired{Stamp: at(100), CutoffMs: cutoff} }
	credit("c2", 10)
	credit("c3", 20)
	credit("c4", 15) // stamped out of order: waits behind c3
	credit("c5", 30)
	key := func(ref string) engine.IdemKey { return engine.IdemKey{Scope: payshards.ScopeCredit, Reference: ref} }
	refs := func() (out []string) {
		for _, k := range s.IdemKeys() {
			out = append(out, k.Reference)
		}
		return out
	}
	if got := strings.Join(refs(), ","); got != "c1,c2,c3,c4,c5" {
		t.Fatalf("IdemKeys not in log order: %s", got)
	}

	s.Apply(expire(3)) // nothing older than 3
	if len(s.Expired) != 0 || s.IdemLen() != 5 {
		t.Fatalf("cutoff 3 expired %v", s.Expired)
	}
	s.Apply(expire(18))
	if len(s.Expired) != 2 || s.Expired[0] != key("c1") || s.Expired[1] != key("c2") {
		t.Fatalf("cutoff 18 expired %v", s.Expired)
	}
	if _, ok := s.Record(key("c4")); !ok {
		t.Fatal("c4 (time 15, behind c3 at 20) expired out of log order")
	}
	if got := strings.Join(refs(), ","); got != "c3,c4,c5" {
		t.Fatalf("IdemKeys after expiry: %s", got)
	}
	// A snapshot keeps the order, and expiry continues identically from it.
	data := mustSnapshot(t, s)
	loaded, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	s.Apply(expire(25))
	loaded.Apply(expire(25))
	if len(s.Expired) != 2 || s.Expired[0] != key("c3") || s.Expired[1] != key("c4") {
		t.Fatalf("cutoff 25 expired %v", s.Expired)
	}
	if diff := statesEqual(s, loaded); diff != "" {
		t.Fatalf("expiry after snapshot differs in %s", diff)
	}
	// An expired reference can be recorded again; a live one cannot.
	credit("c1", 40)
	mustPanic(t, "live reference reused", func() { credit("c5", 41) })
	// Wallets are not touched by expiry.
	if payshards.Wallets(s)["u1"].Balance != 1000+6 {
		t.Fatalf("balance %d", payshards.Wallets(s)["u1"].Balance)
	}
	s.Apply(expire(1 << 62))
	if s.IdemLen() != 0 || len(s.IdemKeys()) != 0 {
		t.Fatalf("expire all left %d records", s.IdemLen())
	}
}
