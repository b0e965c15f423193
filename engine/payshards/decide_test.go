package payshards

import (
	"testing"

	"ledgerd/engine"
)

// Moved from engine/decide_test.go: the Decide functions and ApplyWallet.

// fields are the identity fields every wallet event carries.
func fields(t *testing.T, ev engine.Event) (partner, user, reference string, amount int64) {
	t.Helper()
	switch e := ev.(type) {
	case *Credited:
		return "", e.User, e.Reference, e.Amount
	case *Deducted:
		return e.Partner, e.User, e.Reference, e.Amount
	case *DeductRejected:
		return e.Partner, e.User, e.Reference, e.Amount
	case *Refunded:
		return e.Partner, e.User, e.Reference, e.Amount
	case *RefundRejected:
		return e.Partner, e.User, e.Reference, e.Amount
	}
	t.Fatalf("not a wallet event: %+v", ev)
	return
}

func TestDecideDeduct(t *testing.T) {
	tests := []struct {
		name    string
		w       *Wallet
		amount  int64
		want    engine.EventType
		code    engine.Code
		balance int64
	}{
		{"unknown user", nil, 10, EvDeductRejected, CodeUnknownUser, 0},
		{"insufficient", &Wallet{Balance: 100}, 101, EvDeductRejected, CodeInsufficient, 100},
		{"insufficient empty", &Wallet{}, 1, EvDeductRejected, CodeInsufficient, 0},
		{"exact balance", &Wallet{Balance: 100}, 100, EvDeducted, engine.CodeOK, 0},
		{"partial", &Wallet{Balance: 1500}, 250, EvDeducted, engine.CodeOK, 1250},
		{"max amount", &Wallet{Balance: MaxBalance}, engine.MaxAmount, EvDeducted, engine.CodeOK, MaxBalance - engine.MaxAmount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before int64
			if tc.w != nil {
				before = tc.w.Balance
			}
			ev := DecideDeduct(tc.w, "p1", "u1", "ref", tc.amount, 42)
			code, balance := Result(ev)
			if ev.EventType() != tc.want || code != tc.code || balance != tc.balance {
				t.Fatalf("got type %d code %d balance %d, want %d %d %d", ev.EventType(), code, balance, tc.want, tc.code, tc.balance)
			}
			if p, u, r, a := fields(t, ev); p != "p1" || u != "u1" || r != "ref" || a != tc.amount || ev.Time() != 42 {
				t.Fatalf("identity fields not carried: %+v", ev)
			}
			if tc.w != nil && tc.w.Balance != before {
				t.Fatal("Decide mutated the wallet")
			}
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("decided event does not validate: %v", err)
			}
		})
	}
}

func TestDecideRefund(t *testing.T) {
	w := &Wallet{Balance: 50, Refundable: []Refundable{{Partner: "p1", Amount: 300}, {Partner: "p2", Amount: 20}}}
	tests := []struct {
		name    string
		w       *Wallet
		partner string
		amount  int64
		want    engine.EventType
		code    engine.Code
		balance int64
	}{
		{"unknown user", nil, "p1", 10, EvRefundRejected, CodeUnknownUser, 0},
		{"within refundable", w, "p1", 100, EvRefunded, engine.CodeOK, 150},
		{"exact refundable", w, "p1", 300, EvRefunded, engine.CodeOK, 350},
		{"exceeds own refundable", w, "p1", 301, EvRefundRejected, CodeRefundExceeds, 300},
		// p2 deducted only 20; p1's 300 must not be refundable by p2.
		{"per partner", w, "p2", 21, EvRefundRejected, CodeRefundExceeds, 20},
		{"per partner ok", w, "p2", 20, EvRefunded, engine.CodeOK, 70},
		{"partner never deducted", w, "p3", 1, EvRefundRejected, CodeRefundExceeds, 0},
		{"overflow guard", &Wallet{Balance: MaxBalance, Refundable: []Refundable{{Partner: "p1", Amount: 10}}}, "p1", 5, EvRefundRejected, CodeRefundExceeds, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := DecideRefund(tc.w, tc.partner, "u1", "ref", tc.amount, 7)
			code, balance := Result(ev)
			if ev.EventType() != tc.want || code != tc.code || balance != tc.balance {
				t.Fatalf("got type %d code %d balance %d, want %d %d %d", ev.EventType(), code, balance, tc.want, tc.code, tc.balance)
			}
			if p, _, _, a := fields(t, ev); p != tc.partner || a != tc.amount || ev.Time() != 7 {
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
	c, _ := ev.(*Credited)
	// A Credited has no partner field: operator top-ups belong to no partner.
	if !ok || c == nil || c.BalanceAfter != 500 || c.Amount != 500 || c.User != "new" || c.Reference != "top1" || c.TimeMs != 9 {
		t.Fatalf("credit of a new wallet: ok=%v %+v", ok, ev)
	}
	s := engine.NewState()
	s.Apply(ev)
	if w := Wallets(s)["new"]; w == nil || w.Balance != 500 {
		t.Fatalf("credit did not create the wallet: %+v", w)
	}

	ev, ok = DecideCredit(&Wallet{Balance: 100}, "u", "top2", 50, 9)
	if _, bal := Result(ev); !ok || bal != 150 {
		t.Fatalf("credit existing: ok=%v %+v", ok, ev)
	}
	if _, ok := DecideCredit(&Wallet{Balance: MaxBalance - 10}, "u", "r", 10, 0); !ok {
		t.Fatal("credit up to exactly MaxBalance refused")
	}
	if ev, ok := DecideCredit(&Wallet{Balance: MaxBalance - 10}, "u", "r", 11, 0); ok {
		t.Fatalf("credit above MaxBalance accepted: %+v", ev)
	}
	if ev, ok := DecideCredit(&Wallet{Balance: MaxBalance}, "u", "r", engine.MaxAmount, 0); ok {
		t.Fatalf("credit overflowing accepted: %+v", ev)
	}
}

func TestApplyWalletWorkingState(t *testing.T) {
	// ApplyWallet is what actors use; it must agree with State.Apply.
	ev, _ := DecideCredit(nil, "u", "c", 100, 1)
	w := ApplyWallet(nil, ev)
	if w == nil || w.Balance != 100 {
		t.Fatalf("first credit: %+v", w)
	}
	ev = DecideDeduct(w, "p", "u", "d", 40, 2)
	if got := ApplyWallet(w, ev); got != w || w.Balance != 60 || w.RefundableFor("p") != 40 {
		t.Fatalf("deduct: %+v", w)
	}
	ev = DecideDeduct(w, "p", "u", "d2", 61, 2)
	if ApplyWallet(w, ev) != w || w.Balance != 60 {
		t.Fatal("rejected deduct changed the wallet")
	}
	c := w.Clone()
	ev = DecideRefund(w, "p", "u", "r", 40, 3)
	ApplyWallet(w, ev)
	if w.Balance != 100 || len(w.Refundable) != 0 {
		t.Fatalf("refund: %+v", w)
	}
	if c.Balance != 60 || c.RefundableFor("p") != 40 {
		t.Fatal("Clone shares state with the original")
	}
	if c.Equal(w) || !w.Equal(&Wallet{Balance: 100}) {
		t.Fatal("Equal")
	}
	a := &Wallet{Balance: 1, Refundable: []Refundable{{Partner: "a", Amount: 1}, {Partner: "b", Amount: 2}}}
	b := &Wallet{Balance: 1, Refundable: []Refundable{{Partner: "b", Amount: 2}, {Partner: "a", Amount: 1}}}
	if !a.Equal(b) {
		t.Fatal("Equal depends on Refundable order")
	}
}
