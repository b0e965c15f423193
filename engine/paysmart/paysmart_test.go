package paysmart

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

var (
	test = Owner{Account: "ptr_a"}
	live = Owner{Account: "ptr_a", Live: true}
)

func stamp(ms int64) engine.Stamp { return engine.Stamp{TimeMs: ms} }

func answer(key string) Answer {
	if key == "" {
		return Answer{}
	}
	return Answer{Key: key, Fingerprint: "fp-" + key, Status: 200, Response: []byte(`{"k":"` + key + `"}`)}
}

func method(o Owner, id string) PaymentMethod {
	return PaymentMethod{Owner: o, ID: id, CreatedMs: 1000,
		Card: Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "fp"}}
}

func payment(o Owner, id, pm string, amount int64, status string) Payment {
	p := Payment{Owner: o, ID: id, Amount: amount, Currency: "usd", Status: status, PaymentMethod: pm, ReceiptToken: "tok_" + id, CreatedMs: 2000}
	if status == StatusFailed {
		p.FailureCode, p.DeclineCode, p.FailureMessage = "card_declined", "generic_decline", "Your card was declined."
	}
	return p
}

func notice(id, typ string) Notice {
	return Notice{ID: id, Type: typ, Body: []byte(`{"id":"` + id + `","type":"` + typ + `"}`)}
}

// scenario is a small history touching every event type and both modes.
func scenario() []engine.Event {
	pm := method(test, "pm_1")
	card := method(test, "pm_2")
	md := []KV{{Key: "a", Value: "1"}, {Key: "b", Value: "2"}}
	return []engine.Event{
		&EndpointCreated{Stamp: stamp(10), Endpoint: Endpoint{Owner: test, ID: "we_all", URL: "https://a.test/h", Events: []string{AllEvents}, CreatedMs: 10}, Answer: answer("k1")},
		&EndpointCreated{Stamp: stamp(11), Endpoint: Endpoint{Owner: test, ID: "we_pay", URL: "https://b.test/h", Events: []string{EventPaymentSucceeded}, CreatedMs: 11}},
		&EndpointCreated{Stamp: stamp(12), Endpoint: Endpoint{Owner: live, ID: "we_live", URL: "https://c.test/h", Events: []string{AllEvents}, CreatedMs: 12}},
		&PaymentMethodCreated{Stamp: stamp(20), Method: pm, Answer: answer("k2")},
		&CustomerCreated{Stamp: stamp(30), Customer: Customer{Owner: test, ID: "cus_1", Email: "a@b.test", Address: &Address{City: "SF"}, Metadata: md, CreatedMs: 30},
			Notice: notice("evt_1", EventCustomerCreated), Answer: answer("k3")},
		&CustomerUpdated{Stamp: stamp(31), Customer: Customer{Owner: test, ID: "cus_1", Name: "N", CreatedMs: 30}, Answer: answer("k4")},
		&PaymentCreated{Stamp: stamp(40), Payment: payment(test, "pay_1", "pm_1", 2000, StatusSucceeded), Notice: notice("evt_2", EventPaymentSucceeded), Answer: answer("k5")},
		&PaymentCreated{Stamp: stamp(41), Payment: payment(test, "pay_2", "pm_2", 5000, StatusFailed), Method: &card, Notice: notice("evt_3", EventPaymentFailed)},
		&PaymentUpdated{Stamp: stamp(42), Owner: test, ID: "pay_1", Description: "order 1", Metadata: md, Customer: "cus_1", Answer: answer("k6")},
		&RefundCreated{Stamp: stamp(50), Refund: Refund{Owner: test, ID: "re_1", Payment: "pay_1", Amount: 500, Currency: "usd", CreatedMs: 50},
			AmountRefundedAfter: 500, Notice: notice("evt_4", EventRefundCreated), Answer: answer("k7")},
		&EndpointUpdated{Stamp: stamp(55), Endpoint: Endpoint{Owner: test, ID: "we_pay", URL: "https://b.test/h", Events: []string{EventPaymentSucceeded}, Disabled: true, Rotation: 1, CreatedMs: 11}},
		&RefundCreated{Stamp: stamp(60), Refund: Refund{Owner: test, ID: "re_2", Payment: "pay_1", Amount: 1500, Currency: "usd", Reason: "duplicate", CreatedMs: 60},
			AmountRefundedAfter: 2000, Notice: notice("evt_5", EventRefundCreated)},
		&Refused{Stamp: stamp(61), Owner: test, Answer: Answer{Key: "k8", Fingerprint: "f", Status: 400, Response: []byte(`{"error":{}}`)}},
		&CustomerDeleted{Stamp: stamp(70), Owner: test, ID: "cus_1", Answer: answer("k9")},
		&EndpointDeleted{Stamp: stamp(71), Owner: test, ID: "we_all"},
		&PaymentMethodCreated{Stamp: stamp(80), Method: method(live, "pm_3")},
		&PaymentCreated{Stamp: stamp(81), Payment: payment(live, "pay_3", "pm_3", 700, StatusSucceeded), Notice: notice("evt_6", EventPaymentSucceeded), Answer: answer("k1")},
		&PaymentCreated{Stamp: stamp(82), Payment: payment(test, "pay_4", "pm_1", 900, StatusSucceeded), Notice: notice("evt_7", EventPaymentSucceeded)},
	}
}

func applyAll(evs []engine.Event) *engine.State {
	st := engine.NewState()
	for _, ev := range evs {
		st.Apply(ev)
	}
	return st
}

func TestCodecRoundTrip(t *testing.T) {
	enc := engine.NewEncoder()
	seen := map[engine.EventType]bool{}
	for _, ev := range scenario() {
		seen[ev.EventType()] = true
		b, err := enc.EncodeBatch([]engine.Event{ev})
		if err != nil {
			t.Fatalf("%T: %v", ev, err)
		}
		first := bytes.Clone(b)
		got, err := engine.DecodeBatch(first)
		if err != nil {
			t.Fatalf("%T: decode: %v", ev, err)
		}
		if !reflect.DeepEqual(got[0], ev) {
			t.Errorf("%T: decoded %#v, want %#v", ev, got[0], ev)
		}
		again, _ := enc.EncodeBatch(got)
		if !bytes.Equal(again, first) {
			t.Errorf("%T: re-encoding differs", ev)
		}
	}
	for typ := EvPaymentMethodCreated; typ <= EvRefused; typ++ {
		if !seen[typ] {
			t.Errorf("type %d (%s) not in the scenario", typ, engine.Name(typ))
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	big := make([]byte, MaxBody+1)
	p := payment(test, "pay_1", "pm_1", 2000, StatusSucceeded)
	mod := func(f func(*Payment)) engine.Event {
		q := p
		f(&q)
		return &PaymentCreated{Payment: q}
	}
	cases := map[string]engine.Event{
		"amount below min":     mod(func(q *Payment) { q.Amount = MinAmount - 1 }),
		"amount above max":     mod(func(q *Payment) { q.Amount = MaxAmount + 1 }),
		"currency":             mod(func(q *Payment) { q.Currency = "jpy" }),
		"id prefix":            mod(func(q *Payment) { q.ID = "py_1" }),
		"bare prefix":          mod(func(q *Payment) { q.ID = "pay_" }),
		"status":               mod(func(q *Payment) { q.Status = "pending" }),
		"failed without code":  mod(func(q *Payment) { q.Status = StatusFailed }),
		"succeeded with code":  mod(func(q *Payment) { q.FailureCode = "x" }),
		"created refunded":     mod(func(q *Payment) { q.AmountRefunded = 1 }),
		"metadata unsorted":    mod(func(q *Payment) { q.Metadata = []KV{{"b", ""}, {"a", ""}} }),
		"metadata key long":    mod(func(q *Payment) { q.Metadata = []KV{{strings.Repeat("k", MaxMetadataKey+1), ""}} }),
		"metadata value long":  mod(func(q *Payment) { q.Metadata = []KV{{"k", strings.Repeat("v", MaxMetadataValue+1)}} }),
		"no owner":             mod(func(q *Payment) { q.Account = "" }),
		"customer prefix":      mod(func(q *Payment) { q.Customer = "cu_1" }),
		"notice wrong type":    &PaymentCreated{Payment: p, Notice: notice("evt_1", EventPaymentFailed)},
		"notice body too big":  &PaymentCreated{Payment: p, Notice: Notice{ID: "evt_1", Type: EventPaymentSucceeded, Body: big}},
		"answer too big":       &PaymentCreated{Payment: p, Answer: Answer{Key: "k", Status: 200, Response: big}},
		"answer status":        &PaymentCreated{Payment: p, Answer: Answer{Key: "k", Status: 42}},
		"method other payment": &PaymentCreated{Payment: p, Method: &PaymentMethod{Owner: test, ID: "pm_9", Card: method(test, "pm_9").Card}},
		"refund zero":          &RefundCreated{Refund: Refund{Owner: test, ID: "re_1", Payment: "pay_1", Currency: "usd"}},
		"refund after < amount": &RefundCreated{Refund: Refund{Owner: test, ID: "re_1", Payment: "pay_1", Amount: 10, Currency: "usd"},
			AmountRefundedAfter: 5},
		"refund reason":       &RefundCreated{Refund: Refund{Owner: test, ID: "re_1", Payment: "pay_1", Amount: 10, Currency: "usd", Reason: "x"}, AmountRefundedAfter: 10},
		"endpoint no events":  &EndpointCreated{Endpoint: Endpoint{Owner: test, ID: "we_1", URL: "https://x"}},
		"endpoint bad event":  &EndpointCreated{Endpoint: Endpoint{Owner: test, ID: "we_1", URL: "https://x", Events: []string{"x.y"}}},
		"endpoint no url":     &EndpointCreated{Endpoint: Endpoint{Owner: test, ID: "we_1", Events: []string{AllEvents}}},
		"card last4":          &PaymentMethodCreated{Method: PaymentMethod{Owner: test, ID: "pm_1", Card: Card{Brand: "visa", Last4: "42a2", ExpMonth: 1, ExpYear: 2030}}},
		"card month":          &PaymentMethodCreated{Method: PaymentMethod{Owner: test, ID: "pm_1", Card: Card{Brand: "visa", Last4: "4242", ExpMonth: 13, ExpYear: 2030}}},
		"customer deleted":    &CustomerCreated{Customer: Customer{Owner: test, ID: "cus_1", Deleted: true}},
		"refused without key": &Refused{Owner: test},
	}
	for name, ev := range cases {
		err := engine.Validate(ev)
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", name, err)
		}
		if _, err := engine.NewEncoder().EncodeBatch([]engine.Event{ev}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
}

func TestApply(t *testing.T) {
	st := applyAll(scenario())
	s := Of(st)
	if got := Balance(st, test); !reflect.DeepEqual(got, []Amount{{"usd", 900}}) {
		t.Errorf("test balance %v, want usd 900 (2000 - 2000 refunded + 900; the failed 5000 not counted)", got)
	}
	if got := Balance(st, live); !reflect.DeepEqual(got, []Amount{{"usd", 700}}) {
		t.Errorf("live balance %v", got)
	}
	v, ok := GetPayment(st, test, "pay_1")
	if !ok || v.Payment.AmountRefunded != 2000 || v.Payment.Customer != "cus_1" || v.Payment.Description != "order 1" || v.Method.Card.Last4 != "4242" {
		t.Errorf("pay_1: %+v %v", v, ok)
	}
	if _, ok := GetPayment(st, live, "pay_1"); ok {
		t.Error("a test payment is visible in live mode")
	}
	if v, ok := PaymentByReceipt(st, "tok_pay_2"); !ok || v.Payment.ID != "pay_2" || v.Method.ID != "pm_2" {
		t.Errorf("receipt: %+v %v", v, ok)
	}
	if c, ok := GetCustomer(st, test, "cus_1"); !ok || !c.Deleted || c.Name != "" || c.CreatedMs != 30 {
		t.Errorf("deleted customer: %+v %v", c, ok)
	}
	if _, ok := GetEndpoint(st, test, "we_all"); ok {
		t.Error("a deleted endpoint is found")
	}
	if got := RefundsOf(st, test, "pay_1"); len(got) != 2 || got[0].ID != "re_1" {
		t.Errorf("refunds of pay_1: %+v", got)
	}
	// Deliveries: we_all takes every event until deleted (evt_1..5); we_pay
	// only payment.succeeded while enabled (evt_2); we_live live's evt_6.
	want := map[string]string{}
	for _, d := range [][2]string{{"evt_1", "we_all"}, {"evt_2", "we_all"}, {"evt_2", "we_pay"}, {"evt_3", "we_all"},
		{"evt_4", "we_all"}, {"evt_5", "we_all"}, {"evt_6", "we_live"}} {
		want[outbox.DeliveryID(d[0], d[1])] = d[0]
	}
	out := outbox.Of(st)
	if len(out.Deliveries) != len(want) {
		t.Errorf("%d deliveries, want %d", len(out.Deliveries), len(want))
	}
	for id, evt := range want {
		d := out.Deliveries[id]
		if d == nil || d.EventID != evt || d.API != API || d.Partner != "ptr_a" || !bytes.Equal(d.Body, s.Events[evt].Body) {
			t.Errorf("delivery %s of %s: %+v", id, evt, d)
		}
	}
	if rec, ok := st.Record(engine.IdemKey{Partner: "ptr_a", Scope: ScopeLive, Reference: "k1"}); !ok || rec.Status != 200 || rec.Response != `{"k":"k1"}` {
		t.Errorf("live k1 record %+v %v", rec, ok)
	}
	if rec, ok := st.Record(engine.IdemKey{Partner: "ptr_a", Scope: ScopeTest, Reference: "k8"}); !ok || rec.Status != 400 || rec.Fingerprint != "f" {
		t.Errorf("refusal record %+v %v", rec, ok)
	}
}

func TestLists(t *testing.T) {
	evs := []engine.Event{&PaymentMethodCreated{Stamp: stamp(1), Method: method(test, "pm_1")}}
	for i := range 25 {
		p := payment(test, fmt.Sprintf("pay_%02d", i), "pm_1", 100, StatusSucceeded)
		p.CreatedMs = int64(1000 * i)
		p.ReceiptToken = ""
		if i%2 == 0 {
			evs = append(evs, &CustomerCreated{Stamp: stamp(2), Customer: Customer{Owner: test, ID: fmt.Sprintf("cus_%02d", i)}})
			p.Customer = fmt.Sprintf("cus_%02d", i)
		}
		evs = append(evs, &PaymentCreated{Stamp: stamp(3), Payment: p})
	}
	st := applyAll(evs)
	ids := func(ps []PaymentView) string {
		var b []string
		for _, p := range ps {
			b = append(b, strings.TrimPrefix(p.Payment.ID, "pay_"))
		}
		return strings.Join(b, ",")
	}
	cases := []struct {
		q    Query
		want string
		more bool
	}{
		{Query{Limit: 3}, "24,23,22", true},
		{Query{}, "24,23,22,21,20,19,18,17,16,15", true},
		{Query{Limit: 3, StartingAfter: "pay_22"}, "21,20,19", true},
		{Query{Limit: 3, StartingAfter: "pay_02"}, "01,00", false},
		{Query{Limit: 3, EndingBefore: "pay_10"}, "13,12,11", true},
		{Query{Limit: 3, EndingBefore: "pay_22"}, "24,23", false},
		{Query{Limit: 3, CreatedFromMs: 5000, CreatedToMs: 7000}, "07,06,05", false},
		{Query{Limit: 2, CreatedFromMs: 5000, CreatedToMs: 7000}, "07,06", true},
		{Query{Limit: 100, Customer: "cus_04"}, "04", false},
		{Query{Limit: 2, Customer: "cus_04", StartingAfter: "pay_20"}, "04", false},
	}
	for _, c := range cases {
		c.q.Owner = test
		got, more, err := ListPayments(st, c.q)
		if err != nil || ids(got) != c.want || more != c.more {
			t.Errorf("%+v: %s more %v err %v, want %s more %v", c.q, ids(got), more, err, c.want, c.more)
		}
	}
	for _, q := range []Query{{Owner: test, StartingAfter: "pay_99"}, {Owner: test, EndingBefore: "cus_00"}, {Owner: live, StartingAfter: "pay_01"}} {
		if _, _, err := ListPayments(st, q); !errors.Is(err, ErrNoSuchCursor) {
			t.Errorf("%+v: err %v", q, err)
		}
	}
	if _, _, err := ListPayments(st, Query{Owner: test, Limit: 101}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("limit 101: %v", err)
	}
	if got, more, err := ListPayments(st, Query{Owner: live}); len(got) != 0 || more || err != nil {
		t.Errorf("live list: %v %v %v", got, more, err)
	}
	if got, _, _ := ListCustomers(st, Query{Owner: test, Limit: 100}); len(got) != 13 || got[0].ID != "cus_24" {
		t.Errorf("customers: %d", len(got))
	}
}

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestApplyPanics(t *testing.T) {
	base := scenario()[:8] // pay_1 succeeded 2000, pay_2 failed
	refund := func(id, pay string, amount, after int64) engine.Event {
		return &RefundCreated{Stamp: stamp(90), Refund: Refund{Owner: test, ID: id, Payment: pay, Amount: amount, Currency: "usd"}, AmountRefundedAfter: after}
	}
	cases := map[string]engine.Event{
		"over-refund":              refund("re_9", "pay_1", 2001, 2001),
		"after != before+amount":   refund("re_9", "pay_1", 100, 200),
		"refund of failed":         refund("re_9", "pay_2", 100, 100),
		"refund of unknown":        refund("re_9", "pay_9", 100, 100),
		"refund of other mode":     &RefundCreated{Refund: Refund{Owner: live, ID: "re_9", Payment: "pay_1", Amount: 1, Currency: "usd"}, AmountRefundedAfter: 1},
		"payment id twice":         &PaymentCreated{Payment: payment(test, "pay_1", "pm_1", 100, StatusSucceeded)},
		"payment of unknown pm":    &PaymentCreated{Payment: payment(test, "pay_9", "pm_9", 100, StatusSucceeded)},
		"payment of other mode pm": &PaymentCreated{Payment: payment(live, "pay_9", "pm_1", 100, StatusSucceeded)},
		"update unknown customer":  &CustomerUpdated{Customer: Customer{Owner: test, ID: "cus_9"}},
		"update unknown endpoint":  &EndpointUpdated{Endpoint: Endpoint{Owner: test, ID: "we_9", URL: "https://x", Events: []string{AllEvents}}},
		"receipt token twice": &PaymentCreated{Payment: func() Payment {
			p := payment(test, "pay_9", "pm_1", 100, StatusSucceeded)
			p.ReceiptToken = "tok_pay_1"
			return p
		}()},
	}
	for name, ev := range cases {
		st := applyAll(base)
		mustPanic(t, name, func() { st.Apply(ev) })
	}
}

func encode(t testing.TB, st *engine.State) []byte {
	var buf bytes.Buffer
	c := copySteps(st)
	c.Step(st, math.MaxInt)
	if err := encodeSection(c.Value(), msgpack.NewEncoder(&buf)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSnapshotRoundTrip(t *testing.T) {
	st := applyAll(scenario())
	first := encode(t, st)
	got := engine.NewState()
	if err := decodeSection(1, first, got); err != nil {
		t.Fatal(err)
	}
	if again := encode(t, got); !bytes.Equal(again, first) {
		t.Fatal("re-encoded section differs")
	}
	a, b := Of(st), Of(got)
	for o, ba := range a.Books {
		bb := b.Books[o]
		if bb == nil || !reflect.DeepEqual(ba, bb) {
			t.Errorf("book %v: %+v, decoded %+v", o, ba, bb)
		}
	}
	if !reflect.DeepEqual(a.Receipts, b.Receipts) || !reflect.DeepEqual(a.Payments, b.Payments) || !reflect.DeepEqual(a.Events, b.Events) {
		t.Error("objects differ after the round trip")
	}
	// Through the whole container too, and the empty state.
	data, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := engine.DecodeSnapshot(data)
	if err != nil || !bytes.Equal(encode(t, whole), first) {
		t.Fatalf("container round trip: %v", err)
	}
	if err := decodeSection(1, encode(t, engine.NewState()), engine.NewState()); err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotRejects(t *testing.T) {
	good := applyAll(scenario())
	mod := func(f func(s *State)) []byte {
		st := applyAll(scenario())
		f(Of(st))
		return encode(t, st)
	}
	cases := map[string][]byte{
		"refunded without refunds": mod(func(s *State) { p := *s.Payments["pay_4"]; p.AmountRefunded = 10; s.Payments["pay_4"] = &p }),
		"refund of failed payment": mod(func(s *State) {
			p := *s.Payments["pay_1"]
			p.Status, p.FailureCode = StatusFailed, "x"
			s.Payments["pay_1"] = &p
		}),
		"payment of unknown pm": mod(func(s *State) {
			b := s.Books[test]
			b.Methods = b.Methods[1:]
		}),
		"bad id":    mod(func(s *State) { e := *s.Events["evt_1"]; e.ID = "ev_1"; s.Events["evt_1"] = &e }),
		"truncated": encode(t, good)[:30],
		"trailing":  append(encode(t, good), 0xc0),
	}
	for name, data := range cases {
		if err := decodeSection(1, data, engine.NewState()); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrBadSection) && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v wraps neither ErrBadSection nor ErrInvalid", name, err)
		}
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
		if d.Module == "paysmart" {
			c = d.New(&v, start, true)
		}
	}
	for i, ev := range evs {
		c.Event(fmt.Sprint("event ", i), ev)
	}
	c.Finish(end)
	return v
}

func TestChecker(t *testing.T) {
	evs := scenario()
	if v := runChecker(engine.NewState(), evs, applyAll(evs)); len(v) != 0 {
		t.Fatalf("clean history: %v", v)
	}
	// From a snapshot of the first half.
	half := applyAll(evs[:9])
	start := engine.NewState()
	if err := decodeSection(1, encode(t, half), start); err != nil {
		t.Fatal(err)
	}
	if v := runChecker(start, evs[9:], applyAll(evs)); len(v) != 0 {
		t.Fatalf("from a snapshot: %v", v)
	}
	broken := map[string]func(st *engine.State){
		"refunded amount": func(st *engine.State) {
			p := *Of(st).Payments["pay_1"]
			p.AmountRefunded = 1500
			Of(st).Payments["pay_1"] = &p
		},
		"balance": func(st *engine.State) { Of(st).Books[test].Balance["usd"] += 1 },
		"refund of failed": func(st *engine.State) {
			p := *Of(st).Payments["pay_1"]
			p.Status = StatusFailed
			Of(st).Payments["pay_1"] = &p
		},
		"lost delivery": func(st *engine.State) {
			delete(outbox.Of(st).Deliveries, outbox.DeliveryID("evt_2", "we_pay"))
		},
	}
	for name, f := range broken {
		end := applyAll(evs)
		f(end)
		if v := runChecker(engine.NewState(), evs, end); len(v) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	// An event the log should not hold: a refund of a failed payment.
	bad := append(append([]engine.Event{}, evs...), &RefundCreated{Refund: Refund{Owner: test, ID: "re_x", Payment: "pay_2", Amount: 1, Currency: "usd"}, AmountRefundedAfter: 1})
	if v := runChecker(engine.NewState(), bad, applyAll(evs)); len(v) == 0 {
		t.Error("refund of a failed payment in the log: not caught")
	}
	// Refunds in the log that add up to more than the payment (pay_4 is
	// 900), each event consistent with the one before it.
	over := append(append([]engine.Event{}, evs...),
		&RefundCreated{Refund: Refund{Owner: test, ID: "re_y", Payment: "pay_4", Amount: 600, Currency: "usd"}, AmountRefundedAfter: 600},
		&RefundCreated{Refund: Refund{Owner: test, ID: "re_z", Payment: "pay_4", Amount: 400, Currency: "usd"}, AmountRefundedAfter: 1000})
	if v := runChecker(engine.NewState(), over, applyAll(evs)); !strings.Contains(fmt.Sprint(v), "refunded 1000 of 900") {
		t.Errorf("refunds over the amount in the log: %v", v)
	}
	// A refund in the other mode's name (live owner, test payment).
	cross := append(append([]engine.Event{}, evs...),
		&RefundCreated{Refund: Refund{Owner: live, ID: "re_w", Payment: "pay_4", Amount: 100, Currency: "usd"}, AmountRefundedAfter: 100})
	if v := runChecker(engine.NewState(), cross, applyAll(evs)); len(v) == 0 {
		t.Error("a live refund of a test payment: not caught")
	}
	// The live book's balance off by one (each mode has its own).
	end := applyAll(evs)
	Of(end).Books[live].Balance["usd"]--
	if v := runChecker(engine.NewState(), evs, end); !strings.Contains(fmt.Sprint(v), "live true") {
		t.Errorf("live balance: %v", v)
	}
}
