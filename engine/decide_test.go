package engine

import (
	"strings"
	"testing"
)

func TestDecideDeduct(t *testing.T) {
	tests := []struct {
		name    string
		w       *Wallet
		amount  int64
		want    EventType
		code    Code
		balance int64
	}{
		{"unknown user", nil, 10, EvDeductRejected, CodeUnknownUser, 0},
		{"insufficient", &Wallet{Balance: 100}, 101, EvDeductRejected, CodeInsufficient, 100},
		{"insufficient empty", &Wallet{}, 1, EvDeductRejected, CodeInsufficient, 0},
		{"exact balance", &Wallet{Balance: 100}, 100, EvDeducted, CodeOK, 0},
		{"partial", &Wallet{Balance: 1500}, 250, EvDeducted, CodeOK, 1250},
		{"max amount", &Wallet{Balance: MaxBalance}, MaxAmount, EvDeducted, CodeOK, MaxBalance - MaxAmount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before int64
			if tc.w != nil {
				before = tc.w.Balance
			}
			ev := DecideDeduct(tc.w, "p1", "u1", "ref", tc.amount, 42)
			if ev.Type != tc.want || ev.Code != tc.code || ev.Balance != tc.balance {
				t.Fatalf("got type %d code %d balance %d, want %d %d %d", ev.Type, ev.Code, ev.Balance, tc.want, tc.code, tc.balance)
			}
			if ev.Partner != "p1" || ev.User != "u1" || ev.Reference != "ref" || ev.Amount != tc.amount || ev.TimeMs != 42 {
				t.Fatalf("identity fields not carried: %+v", ev)
			}
			if tc.w != nil && tc.w.Balance != before {
				t.Fatal("Decide mutated the wallet")
			}
			if err := ev.Validate(); err != nil {
				t.Fatalf("decided event does not validate: %v", err)
			}
		})
	}
}

func TestDecideRefund(t *testing.T) {
	w := &Wallet{Balance: 50, Refundable: []Refundable{{"p1", 300}, {"p2", 20}}}
	tests := []struct {
		name    string
		w       *Wallet
		partner string
		amount  int64
		want    EventType
		code    Code
		balance int64
	}{
		{"unknown user", nil, "p1", 10, EvRefundRejected, CodeUnknownUser, 0},
		{"within refundable", w, "p1", 100, EvRefunded, CodeOK, 150},
		{"exact refundable", w, "p1", 300, EvRefunded, CodeOK, 350},
		{"exceeds own refundable", w, "p1", 301, EvRefundRejected, CodeRefundExceeds, 300},
		// p2 deducted only 20; p1's 300 must not be refundable by p2.
		{"per partner", w, "p2", 21, EvRefundRejected, CodeRefundExceeds, 20},
		{"per partner ok", w, "p2", 20, EvRefunded, CodeOK, 70},
		{"partner never deducted", w, "p3", 1, EvRefundRejected, CodeRefundExceeds, 0},
		{"overflow guard", &Wallet{Balance: MaxBalance, Refundable: []Refundable{{"p1", 10}}}, "p1", 5, EvRefundRejected, CodeRefundExceeds, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := DecideRefund(tc.w, tc.partner, "u1", "ref", tc.amount, 7)
			if ev.Type != tc.want || ev.Code != tc.code || ev.Balance != tc.balance {
				t.Fatalf("got type %d code %d balance %d, want %d %d %d", ev.Type, ev.Code, ev.Balance, tc.want, tc.code, tc.balance)
			}
			if ev.Partner != tc.partner || ev.Amount != tc.amount || ev.TimeMs != 7 {
				t.Fatalf("identity fields not carried: %+v", ev)
			}
		})
	}
	if w.Balance != 50 || w.RefundableFor("p1") != 300 || w.RefundableFor("p2") != 20 {
		t.Fatal("Decide mutated the wallet")
	}
}

func TestDecideCredit(t *testing.T) {
	ev, ok := DecideCredit(nil, "new", "top1", 500, 9)
	if !ok || ev.Type != EvCredited || ev.Balance != 500 || ev.Amount != 500 || ev.User != "new" || ev.Reference != "top1" || ev.TimeMs != 9 || ev.Partner != "" {
		t.Fatalf("credit of a new wallet: ok=%v %+v", ok, ev)
	}
	s := NewState()
	s.Apply(&ev)
	if w := s.Wallets["new"]; w == nil || w.Balance != 500 {
		t.Fatalf("credit did not create the wallet: %+v", w)
	}

	ev, ok = DecideCredit(&Wallet{Balance: 100}, "u", "top2", 50, 9)
	if !ok || ev.Balance != 150 {
		t.Fatalf("credit existing: ok=%v %+v", ok, ev)
	}
	if _, ok := DecideCredit(&Wallet{Balance: MaxBalance - 10}, "u", "r", 10, 0); !ok {
		t.Fatal("credit up to exactly MaxBalance refused")
	}
	if ev, ok := DecideCredit(&Wallet{Balance: MaxBalance - 10}, "u", "r", 11, 0); ok {
		t.Fatalf("credit above MaxBalance accepted: %+v", ev)
	}
	if ev, ok := DecideCredit(&Wallet{Balance: MaxBalance}, "u", "r", MaxAmount, 0); ok {
		t.Fatalf("credit overflowing accepted: %+v", ev)
	}
}

// ledger builds a small state through Decide + Apply, the way actors do.
func ledger(t *testing.T) *State {
	t.Helper()
	s := NewState()
	s.Apply(&Event{Type: EvPartnerCreated, TimeMs: 1, Partner: "p1", API: "payshards", Name: "One", RateLimit: 60, KeyID: "key_1", KeyHint: "abcd", KeyHash: keyHash(1)})
	s.Apply(&Event{Type: EvPartnerCreated, TimeMs: 2, Partner: "p2", API: "payshards", Name: "Two", RateLimit: 60, KeyID: "key_1", KeyHint: "abcd", KeyHash: keyHash(2)})
	ev, _ := DecideCredit(nil, "u1", "c1", 1000, 3)
	s.Apply(&ev)
	return s
}

func TestApplyEveryType(t *testing.T) {
	s := ledger(t)

	// PartnerCreated
	p := s.Partners["p1"]
	if p == nil || p.ID != "p1" || p.API != "payshards" || p.Name != "One" || p.RateLimit != 60 || p.CreatedMs != 1 || !p.Active() {
		t.Fatalf("partner after create: %+v", p)
	}
	var h [KeyHashLen]byte
	copy(h[:], keyHash(1))
	if s.Keys[h] != "p1" {
		t.Fatal("key hash not indexed")
	}

	// PartnerStatus
	s.Apply(&Event{Type: EvPartnerStatus, Partner: "p1", Status: StatusInactive})
	if s.Partners["p1"].Active() || s.Partners["p1"].Status != StatusInactive {
		t.Fatal("status not applied")
	}
	s.Apply(&Event{Type: EvPartnerStatus, Partner: "p1", Status: StatusActive})
	if !s.Partners["p1"].Active() {
		t.Fatal("status not re-activated")
	}

	// Credited (existing wallet)
	ev, _ := DecideCredit(s.Wallets["u1"], "u1", "c2", 500, 4)
	s.Apply(&ev)
	if s.Wallets["u1"].Balance != 1500 {
		t.Fatal("credit")
	}
	if r := s.Idem[IdemKey{Op: OpCredit, Reference: "c2"}]; r != (IdemRecord{User: "u1", Amount: 500, Code: CodeOK, Value: 1500, TimeMs: 4}) {
		t.Fatalf("credit idem record %+v", r)
	}

	// Deducted by two partners
	for _, d := range []struct {
		partner, ref string
		amount       int64
	}{{"p1", "d1", 300}, {"p2", "d1", 200}, {"p1", "d2", 100}} {
		ev := DecideDeduct(s.Wallets["u1"], d.partner, "u1", d.ref, d.amount, 5)
		if ev.Type != EvDeducted {
			t.Fatalf("deduct %+v", ev)
		}
		s.Apply(&ev)
	}
	w := s.Wallets["u1"]
	if w.Balance != 900 || w.RefundableFor("p1") != 400 || w.RefundableFor("p2") != 200 {
		t.Fatalf("after deducts: %+v", w)
	}
	if r := s.Idem[IdemKey{Partner: "p2", Op: OpDeduct, Reference: "d1"}]; r.Value != 1000 || r.Amount != 200 || r.Code != CodeOK {
		t.Fatalf("deduct idem record %+v", r)
	}

	// DeductRejected: no state change except the idem record.
	ev = DecideDeduct(w, "p1", "u1", "d3", 901, 6)
	s.Apply(&ev)
	if w.Balance != 900 {
		t.Fatal("rejected deduct changed the balance")
	}
	if r := s.Idem[IdemKey{Partner: "p1", Op: OpDeduct, Reference: "d3"}]; r.Code != CodeInsufficient || r.Value != 900 || r.Amount != 901 {
		t.Fatalf("rejected deduct record %+v", r)
	}
	ev = DecideDeduct(nil, "p1", "ghost", "d4", 1, 6)
	s.Apply(&ev)
	if s.Wallets["ghost"] != nil {
		t.Fatal("rejected deduct for unknown user created a wallet")
	}
	if r := s.Idem[IdemKey{Partner: "p1", Op: OpDeduct, Reference: "d4"}]; r.Code != CodeUnknownUser {
		t.Fatalf("unknown user record %+v", r)
	}

	// Refunded: refundable is tracked per partner and removed at zero.
	ev = DecideRefund(w, "p2", "u1", "r1", 200, 7)
	s.Apply(&ev)
	if w.Balance != 1100 || w.RefundableFor("p2") != 0 || w.RefundableFor("p1") != 400 || len(w.Refundable) != 1 {
		t.Fatalf("after refund: %+v", w)
	}
	ev = DecideRefund(w, "p1", "u1", "r1", 150, 7)
	s.Apply(&ev)
	if w.Balance != 1250 || w.RefundableFor("p1") != 250 {
		t.Fatalf("after partial refund: %+v", w)
	}

	// RefundRejected
	ev = DecideRefund(w, "p2", "u1", "r2", 1, 8)
	if ev.Type != EvRefundRejected || ev.Code != CodeRefundExceeds {
		t.Fatalf("p2 refund after full refund: %+v", ev)
	}
	s.Apply(&ev)
	if w.Balance != 1250 {
		t.Fatal("rejected refund changed the balance")
	}
	ev = DecideRefund(nil, "p1", "ghost", "r3", 1, 8)
	s.Apply(&ev)
	if s.Wallets["ghost"] != nil {
		t.Fatal("rejected refund for unknown user created a wallet")
	}

	if s.Events != 3+2+1+3+2+2+2 {
		t.Fatalf("Events = %d", s.Events)
	}
	// Same reference, different op or partner: separate keys.
	if len(s.Idem) != 11 {
		t.Fatalf("idem records = %d", len(s.Idem))
	}
}

func TestApplyWalletWorkingState(t *testing.T) {
	// ApplyWallet is what actors use; it must agree with State.Apply.
	ev, _ := DecideCredit(nil, "u", "c", 100, 1)
	w := ApplyWallet(nil, &ev)
	if w == nil || w.Balance != 100 {
		t.Fatalf("first credit: %+v", w)
	}
	ev = DecideDeduct(w, "p", "u", "d", 40, 2)
	if got := ApplyWallet(w, &ev); got != w || w.Balance != 60 || w.RefundableFor("p") != 40 {
		t.Fatalf("deduct: %+v", w)
	}
	ev = DecideDeduct(w, "p", "u", "d2", 61, 2)
	if ApplyWallet(w, &ev) != w || w.Balance != 60 {
		t.Fatal("rejected deduct changed the wallet")
	}
	c := w.Clone()
	ev = DecideRefund(w, "p", "u", "r", 40, 3)
	ApplyWallet(w, &ev)
	if w.Balance != 100 || len(w.Refundable) != 0 {
		t.Fatalf("refund: %+v", w)
	}
	if c.Balance != 60 || c.RefundableFor("p") != 40 {
		t.Fatal("Clone shares state with the original")
	}
	if c.Equal(w) || !w.Equal(&Wallet{Balance: 100}) {
		t.Fatal("Equal")
	}
	if !(&Wallet{Balance: 1, Refundable: []Refundable{{"a", 1}, {"b", 2}}}).Equal(&Wallet{Balance: 1, Refundable: []Refundable{{"b", 2}, {"a", 1}}}) {
		t.Fatal("Equal depends on Refundable order")
	}
}

func TestApplyInvariantPanics(t *testing.T) {
	cases := []struct {
		name string
		ev   func(s *State) Event
	}{
		{"same credit reference twice", func(s *State) Event {
			ev, _ := DecideCredit(s.Wallets["u1"], "u1", "c1", 1, 0)
			return ev
		}},
		{"same deduct reference twice", func(s *State) Event {
			ev := DecideDeduct(s.Wallets["u1"], "p1", "u1", "d1", 1, 0)
			s.Apply(&ev)
			ev = DecideDeduct(s.Wallets["u1"], "p1", "u1", "d1", 1, 0)
			return ev
		}},
		{"same deduct reference rejected twice", func(s *State) Event {
			ev := DecideDeduct(nil, "p1", "nobody", "d1", 1, 0)
			s.Apply(&ev)
			return ev
		}},
		{"deducted balance mismatch", func(s *State) Event {
			ev := DecideDeduct(s.Wallets["u1"], "p1", "u1", "d1", 10, 0)
			ev.Balance++
			return ev
		}},
		{"credited balance mismatch", func(s *State) Event {
			ev, _ := DecideCredit(s.Wallets["u1"], "u1", "c9", 10, 0)
			ev.Balance--
			return ev
		}},
		{"deduct below zero", func(s *State) Event {
			return Event{Type: EvDeducted, Partner: "p1", User: "u1", Reference: "x", Amount: 1001, Balance: -1}
		}},
		{"deducted on missing wallet", func(s *State) Event {
			return Event{Type: EvDeducted, Partner: "p1", User: "nobody", Reference: "x", Amount: 1, Balance: 0}
		}},
		{"insufficient on missing wallet", func(s *State) Event {
			return Event{Type: EvDeductRejected, Partner: "p1", User: "nobody", Reference: "x", Amount: 1, Code: CodeInsufficient}
		}},
		{"refund without deduction", func(s *State) Event {
			return Event{Type: EvRefunded, Partner: "p1", User: "u1", Reference: "x", Amount: 1, Balance: 1001}
		}},
		{"refund beyond refundable", func(s *State) Event {
			ev := DecideDeduct(s.Wallets["u1"], "p1", "u1", "d1", 10, 0)
			s.Apply(&ev)
			return Event{Type: EvRefunded, Partner: "p1", User: "u1", Reference: "x", Amount: 11, Balance: 1001}
		}},
		{"status of unknown partner", func(s *State) Event {
			return Event{Type: EvPartnerStatus, Partner: "nope", Status: StatusActive}
		}},
		{"duplicate partner id", func(s *State) Event {
			return Event{Type: EvPartnerCreated, Partner: "p1", KeyID: "key_1", KeyHint: "abcd", KeyHash: keyHash(9)}
		}},
		{"short key hash", func(s *State) Event {
			return Event{Type: EvPartnerCreated, Partner: "p9", KeyID: "key_1", KeyHash: []byte{1, 2, 3}}
		}},
		{"unknown type", func(s *State) Event { return Event{Type: 99} }},
		{"zero type", func(s *State) Event { return Event{} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := ledger(t)
			ev := tc.ev(s)
			mustPanic(t, tc.name, func() { s.Apply(&ev) })
		})
	}
	mustPanic(t, "ApplyWallet non-wallet event", func() { ApplyWallet(&Wallet{}, &Event{Type: EvPartnerStatus}) })
}

func TestInvariantMessage(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "reference applied once") || !strings.Contains(msg, `"c1"`) {
			t.Fatalf("panic message %q does not name the invariant and reference", msg)
		}
	}()
	s := ledger(t)
	ev, _ := DecideCredit(s.Wallets["u1"], "u1", "c1", 1, 0)
	s.Apply(&ev)
}

func TestKeyOfRecordOf(t *testing.T) {
	for _, ev := range sampleEvents() {
		k := KeyOf(ev)
		switch ev.Type {
		case EvPartnerCreated, EvPartnerStatus, EvIdemExpired:
			if k != (IdemKey{}) {
				t.Errorf("type %d: key %+v", ev.Type, k)
			}
		case EvCredited:
			if k != (IdemKey{Op: OpCredit, Reference: ev.Reference}) {
				t.Errorf("credit key %+v", k)
			}
		case EvDeducted, EvDeductRejected:
			if k != (IdemKey{Partner: ev.Partner, Op: OpDeduct, Reference: ev.Reference}) {
				t.Errorf("deduct key %+v", k)
			}
		case EvRefunded, EvRefundRejected:
			if k != (IdemKey{Partner: ev.Partner, Op: OpRefund, Reference: ev.Reference}) {
				t.Errorf("refund key %+v", k)
			}
		}
	}
	r := RecordOf(&Event{User: "u", Amount: 5, Code: CodeInsufficient, Balance: 3, TimeMs: 8})
	if r != (IdemRecord{User: "u", Amount: 5, Code: CodeInsufficient, Value: 3, TimeMs: 8}) {
		t.Fatalf("RecordOf %+v", r)
	}
	if !r.Matches("u", 5) || r.Matches("u", 6) || r.Matches("v", 5) {
		t.Fatal("Matches")
	}
}

func TestApplyIdemExpired(t *testing.T) {
	s := ledger(t) // credit c1 at time 3
	apply := func(ev Event) { s.Apply(&ev) }
	credit := func(ref string, at int64) {
		ev, _ := DecideCredit(s.Wallets["u1"], "u1", ref, 1, at)
		apply(ev)
	}
	credit("c2", 10)
	credit("c3", 20)
	credit("c4", 15) // stamped out of order: waits behind c3
	credit("c5", 30)
	key := func(ref string) IdemKey { return IdemKey{Op: OpCredit, Reference: ref} }
	refs := func() (out []string) {
		for _, k := range s.IdemKeys() {
			out = append(out, k.Reference)
		}
		return out
	}
	if got := strings.Join(refs(), ","); got != "c1,c2,c3,c4,c5" {
		t.Fatalf("IdemKeys not in log order: %s", got)
	}

	apply(Event{Type: EvIdemExpired, TimeMs: 100, Amount: 3}) // nothing older than 3
	if len(s.Expired) != 0 || len(s.Idem) != 5 {
		t.Fatalf("cutoff 3 expired %v", s.Expired)
	}
	apply(Event{Type: EvIdemExpired, TimeMs: 100, Amount: 18})
	if len(s.Expired) != 2 || s.Expired[0] != key("c1") || s.Expired[1] != key("c2") {
		t.Fatalf("cutoff 18 expired %v", s.Expired)
	}
	if _, ok := s.Idem[key("c4")]; !ok {
		t.Fatal("c4 (time 15, behind c3 at 20) expired out of log order")
	}
	if got := strings.Join(refs(), ","); got != "c3,c4,c5" {
		t.Fatalf("IdemKeys after expiry: %s", got)
	}
	// A snapshot keeps the order, and expiry continues identically from it.
	data := mustSnapshot(t, s)
	loaded, err := DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	apply(Event{Type: EvIdemExpired, TimeMs: 100, Amount: 25})
	loaded.Apply(&Event{Type: EvIdemExpired, TimeMs: 100, Amount: 25})
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
	if s.Wallets["u1"].Balance != 1000+6 {
		t.Fatalf("balance %d", s.Wallets["u1"].Balance)
	}
	apply(Event{Type: EvIdemExpired, TimeMs: 100, Amount: 1 << 62})
	if len(s.Idem) != 0 || len(s.IdemKeys()) != 0 {
		t.Fatalf("expire all left %d records", len(s.Idem))
	}
}
