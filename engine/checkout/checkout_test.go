package checkout_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/checkout"
	"ledgerd/engine/outbox"
)

var owner = checkout.Owner{Shop: "shop_1", Live: false}

func shop(url string) checkout.Shop {
	return checkout.Shop{ID: "shop_1", Name: "Bäckerei", AccentColor: "#0a7cff", Logo: []byte("\x89PNG..."), LogoType: checkout.LogoPNG,
		WebhookURL: url, CreatedMs: 1_000}
}

func newPayment(id string, amount int64) checkout.Payment {
	return checkout.Payment{Owner: owner, ID: id, Amount: amount, Currency: "usd", ReturnURL: "http://127.0.0.1:9/back?x=1",
		CustomerEmail: "a@b.test", CustomerName: "Ann", Metadata: `{"order":12.50,"gift":true}`,
		Token: "tok_" + strings.Repeat("a", 40) + id, Status: checkout.StatusPending, CreatedMs: 2_000, ExpiresMs: 2_000 + 86_400_000}
}

func notice(id, typ string) checkout.Notice {
	return checkout.Notice{ID: id, Type: typ, Body: []byte(`{"type":"` + typ + `"}`)}
}

func stamp(ms int64) engine.Stamp { return engine.Stamp{TimeMs: ms} }

var ans = checkout.Answer{Key: "k1", Fingerprint: "fp", Status: 200, Response: []byte(`{"id":"pay_1"}`)}

// samples is a log with one event of every type.
func samples() []engine.Event {
	return []engine.Event{
		&checkout.ShopCreated{Stamp: stamp(1_000), Shop: shop("")},
		&checkout.ShopUpdated{Stamp: stamp(1_500), Shop: shop("http://127.0.0.1:9/hook")},
		&checkout.PaymentCreated{Stamp: stamp(2_000), Payment: newPayment("pay_1", 5_000), Answer: ans},
		&checkout.PaymentDeclined{Stamp: stamp(3_000), Owner: owner, ID: "pay_1", Attempt: 1, DeclineCode: "generic_decline"},
		&checkout.PaymentCompleted{Stamp: stamp(4_000), Owner: owner, ID: "pay_1", CardBrand: "visa", CardLast4: "4242",
			Notice: notice("evt_1", checkout.EventPaymentCompleted)},
		&checkout.PaymentRefunded{Stamp: stamp(5_000), Owner: owner, ID: "pay_1", Amount: 1_000, AmountRefundedAfter: 1_000,
			Notice: notice("evt_2", checkout.EventPaymentRefunded), Answer: checkout.Answer{Key: "k2", Fingerprint: "r", Status: 200, Response: []byte("{}")}},
		&checkout.Refused{Stamp: stamp(5_500), Owner: owner, Answer: checkout.Answer{Key: "k3", Fingerprint: "r", Status: 400, Response: []byte("{}")}},
		&checkout.PaymentCreated{Stamp: stamp(6_000), Payment: newPayment("pay_2", 50)},
		&checkout.PaymentExpired{Stamp: stamp(2_000 + 86_400_000), Owner: owner, ID: "pay_2", Notice: notice("evt_3", checkout.EventPaymentFailed)},
	}
}

func apply(t *testing.T, st *engine.State, evs ...engine.Event) {
	t.Helper()
	for _, ev := range evs {
		if err := engine.Validate(ev); err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		st.Apply(ev)
	}
}

func TestCodecRoundTrip(t *testing.T) {
	evs := samples()
	data, err := engine.NewEncoder().EncodeBatch(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeBatch(bytes.Clone(data))
	if err != nil || !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, evs)
	}
	again, err := engine.NewEncoder().EncodeBatch(got)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
}

func TestLifecycle(t *testing.T) {
	st := engine.NewState()
	apply(t, st, samples()...)
	p1, _ := checkout.GetPayment(st, owner, "pay_1")
	if p1.Status != checkout.StatusCompleted || p1.AmountRefunded != 1_000 || p1.Attempts != 1 || p1.LastDecline != "generic_decline" ||
		p1.CardLast4 != "4242" || p1.CompletedMs != 4_000 {
		t.Fatalf("pay_1: %+v", p1)
	}
	p2, _ := checkout.GetPayment(st, owner, "pay_2")
	if p2.Status != checkout.StatusFailed || p2.FailureReason != checkout.ReasonExpired || p2.FailedMs == 0 {
		t.Fatalf("pay_2: %+v", p2)
	}
	if _, ok := checkout.GetPayment(st, checkout.Owner{Shop: "shop_1", Live: true}, "pay_1"); ok {
		t.Fatal("a test payment is visible in live mode")
	}
	if got, ok := checkout.PaymentByToken(st, p1.Token); !ok || got.ID != "pay_1" {
		t.Fatal("token lookup")
	}
	// Completed, refunded and expired each enqueued a delivery to the shop.
	out := outbox.Of(st)
	if len(out.Deliveries) != 3 {
		t.Fatalf("%d deliveries", len(out.Deliveries))
	}
	for _, ev := range []string{"evt_1", "evt_2", "evt_3"} {
		d := out.Deliveries[outbox.DeliveryID(ev, "shop_1")]
		if d == nil || d.API != checkout.API || d.Target != "shop_1" || d.Partner != "shop_1" {
			t.Fatalf("delivery of %s: %+v", ev, d)
		}
	}
	// The rest of pay_1 refunded: refunded.
	apply(t, st, &checkout.PaymentRefunded{Stamp: stamp(7_000), Owner: owner, ID: "pay_1", Amount: 4_000, AmountRefundedAfter: 5_000,
		Notice: notice("evt_4", checkout.EventPaymentRefunded)})
	if p, _ := checkout.GetPayment(st, owner, "pay_1"); p.Status != checkout.StatusRefunded {
		t.Fatalf("after full refund: %+v", p)
	}
	if v := runChecker(engine.NewState(), append(samples(), &checkout.PaymentRefunded{Stamp: stamp(7_000), Owner: owner, ID: "pay_1",
		Amount: 4_000, AmountRefundedAfter: 5_000, Notice: notice("evt_4", checkout.EventPaymentRefunded)}), st); len(v) != 0 {
		t.Fatalf("checker: %v", v)
	}
}

func TestFiveDeclinesFail(t *testing.T) {
	st := engine.NewState()
	apply(t, st, &checkout.ShopCreated{Stamp: stamp(1), Shop: shop("http://127.0.0.1:9/hook")},
		&checkout.PaymentCreated{Stamp: stamp(2_000), Payment: newPayment("pay_1", 5_000)})
	for n := int64(1); n <= checkout.MaxAttempts; n++ {
		ev := &checkout.PaymentDeclined{Stamp: stamp(2_000 + n), Owner: owner, ID: "pay_1", Attempt: n, DeclineCode: "insufficient_funds"}
		if n == checkout.MaxAttempts {
			ev.Notice = notice("evt_f", checkout.EventPaymentFailed)
		}
		apply(t, st, ev)
	}
	p, _ := checkout.GetPayment(st, owner, "pay_1")
	if p.Status != checkout.StatusFailed || p.FailureReason != checkout.ReasonTooManyAttempts || p.Attempts != 5 {
		t.Fatalf("%+v", p)
	}
	if len(outbox.Of(st).Deliveries) != 1 || len(checkout.Of(st).Pending) != 0 {
		t.Fatal("one payment.failed delivery, nothing pending")
	}
	if due := checkout.DuePayments(st, 1<<60, 10); len(due) != 0 {
		t.Fatalf("due %v", due)
	}
}

func TestValidateRefuses(t *testing.T) {
	good := func() *checkout.PaymentCreated {
		return &checkout.PaymentCreated{Stamp: stamp(2_000), Payment: newPayment("pay_1", 5_000)}
	}
	for name, mod := range map[string]func(*checkout.PaymentCreated){
		"amount 49":     func(e *checkout.PaymentCreated) { e.Payment.Amount = 49 },
		"eur":           func(e *checkout.PaymentCreated) { e.Payment.Currency = "eur" },
		"no return url": func(e *checkout.PaymentCreated) { e.Payment.ReturnURL = "" },
		"short token":   func(e *checkout.PaymentCreated) { e.Payment.Token = "abc" },
		"not pending":   func(e *checkout.PaymentCreated) { e.Payment.Status = checkout.StatusCompleted },
		"expires first": func(e *checkout.PaymentCreated) { e.Payment.ExpiresMs = e.Payment.CreatedMs },
		"big metadata": func(e *checkout.PaymentCreated) {
			e.Payment.Metadata = strings.Repeat("x", checkout.MaxMetadataBytes+1)
		},
		"refunded pending": func(e *checkout.PaymentCreated) { e.Payment.AmountRefunded = 1 },
		"bad owner":        func(e *checkout.PaymentCreated) { e.Payment.Shop = "ptr_1" },
		"answer status":    func(e *checkout.PaymentCreated) { e.Answer = checkout.Answer{Key: "k", Status: 42} },
	} {
		e := good()
		mod(e)
		if err := engine.Validate(e); !errors.Is(err, checkout.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := engine.NewEncoder().EncodeBatch([]engine.Event{e}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	for name, ev := range map[string]engine.Event{
		"attempt 6":           &checkout.PaymentDeclined{Owner: owner, ID: "pay_1", Attempt: 6, DeclineCode: "x"},
		"5th without notice":  &checkout.PaymentDeclined{Owner: owner, ID: "pay_1", Attempt: 5, DeclineCode: "x"},
		"2nd with notice":     &checkout.PaymentDeclined{Owner: owner, ID: "pay_1", Attempt: 2, DeclineCode: "x", Notice: notice("evt_1", checkout.EventPaymentFailed)},
		"completed no notice": &checkout.PaymentCompleted{Owner: owner, ID: "pay_1", CardBrand: "visa", CardLast4: "4242"},
		"bad last4":           &checkout.PaymentCompleted{Owner: owner, ID: "pay_1", CardBrand: "visa", CardLast4: "42a2", Notice: notice("evt_1", checkout.EventPaymentCompleted)},
		"wrong notice type":   &checkout.PaymentExpired{Owner: owner, ID: "pay_1", Notice: notice("evt_1", checkout.EventPaymentCompleted)},
		"refund 0":            &checkout.PaymentRefunded{Owner: owner, ID: "pay_1", Amount: 0, AmountRefundedAfter: 0, Notice: notice("evt_1", checkout.EventPaymentRefunded)},
		"refund after < amt":  &checkout.PaymentRefunded{Owner: owner, ID: "pay_1", Amount: 10, AmountRefundedAfter: 5, Notice: notice("evt_1", checkout.EventPaymentRefunded)},
		"refused without key": &checkout.Refused{Owner: owner},
		"accent upper":        &checkout.ShopCreated{Shop: checkout.Shop{ID: "shop_1", Name: "n", AccentColor: "#ABCDEF"}},
		"logo without type":   &checkout.ShopCreated{Shop: checkout.Shop{ID: "shop_1", Name: "n", AccentColor: "#abcdef", Logo: []byte{1}}},
		"logo too big":        &checkout.ShopCreated{Shop: checkout.Shop{ID: "shop_1", Name: "n", AccentColor: "#abcdef", Logo: make([]byte, checkout.MaxLogo+1), LogoType: checkout.LogoPNG}},
		"no shop name":        &checkout.ShopUpdated{Shop: checkout.Shop{ID: "shop_1", AccentColor: "#abcdef"}},
	} {
		if err := engine.Validate(ev); !errors.Is(err, checkout.ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestApplyPanics(t *testing.T) {
	base := []engine.Event{&checkout.ShopCreated{Stamp: stamp(1), Shop: shop("")},
		&checkout.PaymentCreated{Stamp: stamp(2_000), Payment: newPayment("pay_1", 5_000)}}
	completed := &checkout.PaymentCompleted{Stamp: stamp(3_000), Owner: owner, ID: "pay_1", CardBrand: "visa", CardLast4: "4242",
		Notice: notice("evt_1", checkout.EventPaymentCompleted)}
	refund := func(amount, after int64) engine.Event {
		return &checkout.PaymentRefunded{Stamp: stamp(4_000), Owner: owner, ID: "pay_1", Amount: amount, AmountRefundedAfter: after,
			Notice: notice("evt_2", checkout.EventPaymentRefunded)}
	}
	for name, evs := range map[string][]engine.Event{
		"payment of no shop":     {&checkout.PaymentCreated{Stamp: stamp(2_000), Payment: newPayment("pay_9", 5_000)}},
		"payment twice":          {base[1]},
		"completed twice":        {completed, completed},
		"declined skips":         {&checkout.PaymentDeclined{Stamp: stamp(3_000), Owner: owner, ID: "pay_1", Attempt: 2, DeclineCode: "x"}},
		"expired early":          {&checkout.PaymentExpired{Stamp: stamp(3_000), Owner: owner, ID: "pay_1", Notice: notice("evt_1", checkout.EventPaymentFailed)}},
		"refund of pending":      {refund(10, 10)},
		"refund past the amount": {completed, refund(5_001, 5_001)},
		"refund after is wrong":  {completed, refund(10, 20)},
		"other owner":            {&checkout.PaymentDeclined{Stamp: stamp(3_000), Owner: checkout.Owner{Shop: "shop_1", Live: true}, ID: "pay_1", Attempt: 1, DeclineCode: "x"}},
		"update of no shop":      {&checkout.ShopUpdated{Stamp: stamp(3_000), Shop: checkout.Shop{ID: "shop_2", Name: "n", AccentColor: "#000000"}}},
	} {
		t.Run(name, func(t *testing.T) {
			st := engine.NewState()
			if name != "payment of no shop" {
				apply(t, st, base...)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			for _, ev := range evs {
				st.Apply(ev)
			}
		})
	}
}

func TestListAndDue(t *testing.T) {
	st := engine.NewState()
	apply(t, st, &checkout.ShopCreated{Stamp: stamp(1), Shop: shop("")})
	for i := range 25 {
		p := newPayment(fmt.Sprintf("pay_%02d", i), 100)
		p.CreatedMs, p.ExpiresMs = int64(2_000+i), int64(10_000-i)
		apply(t, st, &checkout.PaymentCreated{Stamp: stamp(p.CreatedMs), Payment: p})
	}
	apply(t, st, &checkout.PaymentCompleted{Stamp: stamp(5_000), Owner: owner, ID: "pay_03", CardBrand: "visa", CardLast4: "4242",
		Notice: notice("evt_1", checkout.EventPaymentCompleted)})
	page, more, err := checkout.ListPayments(st, checkout.Query{Owner: owner})
	if err != nil || !more || len(page) != 10 || page[0].ID != "pay_24" || page[9].ID != "pay_15" {
		t.Fatalf("first page: %d %v %v", len(page), more, err)
	}
	page, more, err = checkout.ListPayments(st, checkout.Query{Owner: owner, Limit: 100, StartingAfter: "pay_15"})
	if err != nil || more || len(page) != 15 || page[0].ID != "pay_14" || page[14].ID != "pay_00" {
		t.Fatalf("second page: %d %v %v", len(page), more, err)
	}
	page, _, _ = checkout.ListPayments(st, checkout.Query{Owner: owner, Status: checkout.StatusCompleted})
	if len(page) != 1 || page[0].ID != "pay_03" {
		t.Fatalf("completed: %+v", page)
	}
	if _, _, err := checkout.ListPayments(st, checkout.Query{Owner: owner, StartingAfter: "pay_nope"}); !errors.Is(err, checkout.ErrNoSuchCursor) {
		t.Fatal(err)
	}
	if page, _, _ := checkout.ListPayments(st, checkout.Query{Owner: checkout.Owner{Shop: "shop_1", Live: true}}); len(page) != 0 {
		t.Fatal("live mode sees test payments")
	}
	due := checkout.DuePayments(st, 9_980, 3) // expiries 9_976..10_000: pay_24..pay_20 are due
	if len(due) != 3 || due[0].ID != "pay_24" || due[2].ID != "pay_22" {
		t.Fatalf("due %+v", due)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	st := engine.NewState()
	apply(t, st, samples()...)
	data, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := got.EncodeSnapshot()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
	a, b := checkout.Of(st), checkout.Of(got)
	if !reflect.DeepEqual(a.Payments, b.Payments) || !reflect.DeepEqual(a.Shops, b.Shops) || !reflect.DeepEqual(a.Tokens, b.Tokens) ||
		!reflect.DeepEqual(a.Pending, b.Pending) {
		t.Fatal("decoded state differs")
	}
	// The checker starting from the snapshot is clean with the events after it.
	more := []engine.Event{&checkout.PaymentRefunded{Stamp: stamp(9_000), Owner: owner, ID: "pay_1", Amount: 4_000, AmountRefundedAfter: 5_000,
		Notice: notice("evt_9", checkout.EventPaymentRefunded)}}
	apply(t, st, more...)
	if v := runChecker(got, more, st); len(v) != 0 {
		t.Fatalf("from a snapshot: %v", v)
	}
}

type violations []string

func (v *violations) Violate(kind, format string, args ...any) {
	*v = append(*v, kind+": "+fmt.Sprintf(format, args...))
}

func runChecker(start *engine.State, evs []engine.Event, end *engine.State) violations {
	var v violations
	var c engine.Checker
	for _, d := range engine.Checkers() {
		if d.Module == "checkout" {
			c = d.New(&v, start, true)
		}
	}
	for i, ev := range evs {
		c.Event(fmt.Sprint(i), ev)
	}
	c.Finish(end)
	return v
}

func TestCheckerCatches(t *testing.T) {
	evs := samples()
	st := engine.NewState()
	apply(t, st, evs...)
	// A log that completes pay_2 after it expired, and a state that lost a refund.
	bad := append(append([]engine.Event(nil), evs...), &checkout.PaymentCompleted{Stamp: stamp(1 << 40), Owner: owner, ID: "pay_2",
		CardBrand: "visa", CardLast4: "4242", Notice: notice("evt_x", checkout.EventPaymentCompleted)})
	if v := runChecker(engine.NewState(), bad, st); len(v) < 2 {
		t.Fatalf("completed after failed: %v", v)
	}
	lost := engine.NewState()
	apply(t, lost, evs[:5]...)
	apply(t, lost, evs[6:]...)
	if v := runChecker(engine.NewState(), evs, lost); len(v) == 0 {
		t.Fatal("a lost refund went unnoticed")
	}
}
