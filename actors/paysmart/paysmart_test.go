package paysmart_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"ledgerd/actors"
	aps "ledgerd/actors/paysmart"
	"ledgerd/engine"
	_ "ledgerd/engine/modules"
	"ledgerd/engine/outbox"
	ps "ledgerd/engine/paysmart"
	"ledgerd/verify"
)

var auth = aps.Auth{Account: "ptr_shop", KeyHash: [engine.KeyHashLen]byte{1}}

func start(t *testing.T, dir string) *actors.System {
	t.Helper()
	s, err := actors.Start(actors.Config{DataDir: dir, SnapshotEvery: 40, SnapshotFixed: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// render is a stand-in for the API's JSON.
func render(v any) (int64, []byte) {
	var out any
	status := int64(200)
	switch x := v.(type) {
	case *ps.PaymentView:
		out = map[string]any{"id": x.Payment.ID, "amount": x.Payment.Amount, "refunded": x.Payment.AmountRefunded, "pm": x.Method.ID,
			"last4": x.Method.Card.Last4, "customer": x.Payment.Customer, "description": x.Payment.Description, "status": x.Payment.Status}
		if x.Payment.Status == ps.StatusFailed {
			status = 402
		}
	case *ps.Refund:
		out = map[string]any{"id": x.ID, "amount": x.Amount, "payment": x.Payment}
	case *ps.Customer:
		out = map[string]any{"id": x.ID, "name": x.Name, "deleted": x.Deleted}
	case *ps.Endpoint:
		out = map[string]any{"id": x.ID, "url": x.URL, "deleted": x.Deleted}
	case aps.Refusal:
		out, status = map[string]any{"error": x}, 400
		if x.Code == aps.CodeResourceMissing {
			status = 404
		}
	default:
		panic(fmt.Sprintf("render %T", v))
	}
	b, _ := json.Marshal(out)
	return status, b
}

func ans(key, fp string) ps.Answer { return ps.Answer{Key: key, Fingerprint: fp} }

func card(id string) *ps.PaymentMethod {
	return &ps.PaymentMethod{ID: id, CreatedMs: 1, Card: ps.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "f"}}
}

func payNotice(v *ps.PaymentView) ps.Notice {
	typ := ps.EventPaymentSucceeded
	if v.Payment.Status == ps.StatusFailed {
		typ = ps.EventPaymentFailed
	}
	return ps.Notice{ID: "evt_" + v.Payment.ID, Type: typ, Body: []byte(`{"id":"evt_` + v.Payment.ID + `"}`)}
}

func refundNotice(r *ps.Refund, _ *ps.Payment) ps.Notice {
	return ps.Notice{ID: "evt_" + r.ID, Type: ps.EventRefundCreated, Body: []byte(`{"id":"evt_` + r.ID + `"}`)}
}

func pay(sys *actors.System, id string, amount int64, status, key string) aps.Result {
	p := ps.Payment{ID: id, Amount: amount, Currency: "usd", Status: status, PaymentMethod: "pm_" + id, ReceiptToken: "tok_" + id, CreatedMs: 1}
	if status == ps.StatusFailed {
		p.FailureCode = "card_declined"
	}
	return aps.CreatePayment(sys, auth, p, card("pm_"+id), payNotice, ans(key, fmt.Sprintf("POST /payments %d", amount)), render)
}

func refund(sys *actors.System, id, payment string, amount int64, key string) aps.Result {
	return aps.CreateRefund(sys, auth, ps.Refund{ID: id, Payment: payment, Amount: amount, CreatedMs: 2}, refundNotice,
		ans(key, fmt.Sprintf("POST /refunds %s %d", payment, amount)), render)
}

func ok(t *testing.T, what string, r aps.Result, http int) {
	t.Helper()
	if r.Status != actors.StatusOK || r.HTTP != http {
		t.Fatalf("%s: status %d http %d body %s, want http %d", what, r.Status, r.HTTP, r.Body, http)
	}
}

func balance(sys *actors.System, o ps.Owner) (out []ps.Amount) {
	sys.ReadState(func(st *engine.State) { out = ps.Balance(st, o) })
	return out
}

func TestPaymentsAndRefunds(t *testing.T) {
	sys := start(t, t.TempDir())
	defer sys.Stop()
	ok(t, "endpoint", aps.CreateEndpoint(sys, auth, ps.Endpoint{ID: "we_1", URL: "https://r.test/h", Events: []string{ps.AllEvents}, CreatedMs: 1},
		ps.Answer{Key: "e1", Fingerprint: "ep", Status: 200, Response: []byte(`{"id":"we_1"}`)}), 200)
	ok(t, "payment", pay(sys, "pay_1", 2000, ps.StatusSucceeded, "k1"), 200)
	ok(t, "declined", pay(sys, "pay_2", 3000, ps.StatusFailed, "k2"), 402)
	ok(t, "partial refund", refund(sys, "re_1", "pay_1", 500, "r1"), 200)
	over := refund(sys, "re_2", "pay_1", 1501, "r2")
	ok(t, "over-refund", over, 400)
	if !bytes.Contains(over.Body, []byte(aps.CodeRefundTooLarge)) {
		t.Errorf("over-refund body %s", over.Body)
	}
	ok(t, "refund of failed", refund(sys, "re_3", "pay_2", 100, "r3"), 400)
	ok(t, "refund of unknown", refund(sys, "re_4", "pay_9", 100, "r4"), 404)
	ok(t, "refund the rest", refund(sys, "re_5", "pay_1", 0, ""), 200)
	ok(t, "nothing left", refund(sys, "re_6", "pay_1", 0, ""), 400)
	other := auth
	other.Live = true
	if r := aps.CreateRefund(sys, other, ps.Refund{ID: "re_7", Payment: "pay_1", Amount: 1}, refundNotice, ps.Answer{}, render); r.HTTP != 404 {
		t.Errorf("refund from live mode of a test payment: %d %s", r.HTTP, r.Body)
	}
	if got := balance(sys, auth.Owner()); len(got) != 1 || got[0].Amount != 0 {
		t.Errorf("balance %v, want usd 0", got)
	}
	// An existing payment method by id, a missing one, a missing customer.
	p := ps.Payment{ID: "pay_3", Amount: 700, Currency: "usd", Status: ps.StatusSucceeded, PaymentMethod: "pm_pay_1", CreatedMs: 3}
	r := aps.CreatePayment(sys, auth, p, nil, payNotice, ans("k3", "x"), render)
	ok(t, "existing pm", r, 200)
	if !bytes.Contains(r.Body, []byte(`"last4":"4242"`)) {
		t.Errorf("existing pm body %s", r.Body)
	}
	p.ID, p.PaymentMethod = "pay_4", "pm_nope"
	ok(t, "missing pm", aps.CreatePayment(sys, auth, p, nil, payNotice, ans("k4", "x"), render), 404)
	p.ID, p.PaymentMethod, p.Customer = "pay_5", "pm_pay_1", "cus_nope"
	ok(t, "missing customer", aps.CreatePayment(sys, auth, p, nil, payNotice, ans("k5", "x"), render), 404)
	if r := aps.CreatePayment(sys, other, ps.Payment{ID: "pay_6", Amount: 700, Currency: "usd", Status: ps.StatusSucceeded, PaymentMethod: "pm_pay_1"},
		nil, payNotice, ps.Answer{}, render); r.HTTP != 404 {
		t.Errorf("live payment with a test pm: %d", r.HTTP)
	}
	sys.ReadState(func(st *engine.State) {
		s := ps.Of(st)
		if s.Payments["pay_4"] != nil || s.Payments["pay_5"] != nil || s.Payments["pay_6"] != nil || len(s.Payments) != 3 {
			t.Errorf("refused payments exist: %d payments", len(s.Payments))
		}
		if v, _ := ps.GetPayment(st, auth.Owner(), "pay_1"); v.Payment.AmountRefunded != 2000 {
			t.Errorf("pay_1 refunded %d", v.Payment.AmountRefunded)
		}
		// Deliveries: pay_1, pay_2, pay_3, re_1, re_5 to we_1.
		for _, evt := range []string{"evt_pay_1", "evt_pay_2", "evt_pay_3", "evt_re_1", "evt_re_5"} {
			if outbox.Of(st).Deliveries[outbox.DeliveryID(evt, "we_1")] == nil {
				t.Errorf("no delivery of %s", evt)
			}
		}
	})
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	sys := start(t, dir)
	first := pay(sys, "pay_1", 2000, ps.StatusSucceeded, "k1")
	ok(t, "first", first, 200)
	again := pay(sys, "pay_1b", 2000, ps.StatusSucceeded, "k1")
	if again.Status != actors.StatusOK || !again.Replayed || again.HTTP != 200 || !bytes.Equal(again.Body, first.Body) || first.Replayed {
		t.Fatalf("replay: %+v, first %+v", again, first)
	}
	if r := pay(sys, "pay_1c", 2500, ps.StatusSucceeded, "k1"); r.Status != actors.StatusConflict {
		t.Fatalf("other parameters, same key: status %d", r.Status)
	}
	// A refusal binds its key too.
	refused := refund(sys, "re_1", "pay_1", 5000, "r1")
	ok(t, "refused", refused, 400)
	if r := refund(sys, "re_1b", "pay_1", 5000, "r1"); !r.Replayed || !bytes.Equal(r.Body, refused.Body) || r.HTTP != 400 {
		t.Fatalf("refusal replay %+v", r)
	}
	// Keys are per mode: the same key in live mode is new.
	live := auth
	live.Live = true
	lp := aps.CreatePayment(sys, live, ps.Payment{ID: "pay_live", Amount: 2000, Currency: "usd", Status: ps.StatusSucceeded, PaymentMethod: "pm_live"},
		card("pm_live"), payNotice, ans("k1", "POST /payments 2000"), render)
	if lp.Replayed || lp.HTTP != 200 || !bytes.Contains(lp.Body, []byte("pay_live")) {
		t.Fatalf("live mode, same key: %+v", lp)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	sys = start(t, dir)
	if r := pay(sys, "pay_1d", 2000, ps.StatusSucceeded, "k1"); !r.Replayed || !bytes.Equal(r.Body, first.Body) {
		t.Fatalf("replay after restart: %+v", r)
	}
	if r := refund(sys, "re_2", "pay_1", 100, "r2"); r.HTTP != 200 {
		t.Fatalf("refund after restart: %+v", r)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentCreatesOneKey(t *testing.T) {
	sys := start(t, t.TempDir())
	defer sys.Stop()
	const n = 100
	results := make([]aps.Result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = pay(sys, fmt.Sprintf("pay_%03d", i), 2000, ps.StatusSucceeded, "same")
		}()
	}
	wg.Wait()
	fresh := 0
	for i, r := range results {
		if r.Status != actors.StatusOK || r.HTTP != 200 || !bytes.Equal(r.Body, results[0].Body) {
			t.Fatalf("request %d: %+v (first %s)", i, r, results[0].Body)
		}
		if !r.Replayed {
			fresh++
		}
	}
	sys.ReadState(func(st *engine.State) {
		if got := len(ps.Of(st).Payments); got != 1 || fresh != 1 {
			t.Fatalf("%d payments, %d first answers; want 1 and 1", got, fresh)
		}
	})
	if b := balance(sys, auth.Owner()); len(b) != 1 || b[0].Amount != 2000 {
		t.Fatalf("balance %v", b)
	}
}

func TestCustomersEndpointsRestart(t *testing.T) {
	dir := t.TempDir()
	sys := start(t, dir)
	ok(t, "customer", aps.CreateCustomer(sys, auth, ps.Customer{ID: "cus_1", Name: "Ann", Metadata: []ps.KV{{Key: "a", Value: "1"}}, CreatedMs: 1},
		ps.Notice{ID: "evt_c1", Type: ps.EventCustomerCreated, Body: []byte(`{}`)}, ps.Answer{Key: "c1", Fingerprint: "c", Status: 200, Response: []byte(`{"id":"cus_1"}`)}), 200)
	name := "Bob"
	up := aps.UpdateCustomer(sys, auth, "cus_1", aps.CustomerPatch{Name: &name, Metadata: []ps.KV{{Key: "a", Value: ""}, {Key: "b", Value: "2"}}}, ans("c2", "u"), render)
	ok(t, "update customer", up, 200)
	cus := "cus_1"
	ok(t, "payment of customer", aps.CreatePayment(sys, auth, ps.Payment{ID: "pay_1", Amount: 900, Currency: "eur", Status: ps.StatusSucceeded,
		PaymentMethod: "pm_1", Customer: cus}, card("pm_1"), payNotice, ans("p1", "p"), render), 200)
	desc := "order 7"
	ok(t, "update payment", aps.UpdatePayment(sys, auth, "pay_1", aps.PaymentPatch{Description: &desc}, ans("p2", "u"), render), 200)
	nope := "cus_nope"
	ok(t, "update payment, missing customer", aps.UpdatePayment(sys, auth, "pay_1", aps.PaymentPatch{Customer: &nope}, ans("p3", "u"), render), 404)
	ok(t, "delete customer", aps.DeleteCustomer(sys, auth, "cus_1", ps.Answer{}, render), 200)
	ok(t, "delete again", aps.DeleteCustomer(sys, auth, "cus_1", ps.Answer{}, render), 404)
	ok(t, "update deleted", aps.UpdateCustomer(sys, auth, "cus_1", aps.CustomerPatch{Name: &name}, ps.Answer{}, render), 404)
	ok(t, "endpoint", aps.CreateEndpoint(sys, auth, ps.Endpoint{ID: "we_1", URL: "https://r.test/h", Events: []string{ps.EventPaymentSucceeded}},
		ps.Answer{Status: 200, Response: []byte(`{}`)}), 200)
	off := true
	ok(t, "disable endpoint", aps.UpdateEndpoint(sys, auth, "we_1", aps.EndpointPatch{Disabled: &off}, ps.Answer{}, render), 200)
	bad := aps.UpdateEndpoint(sys, auth, "we_1", aps.EndpointPatch{Events: []string{"nope"}}, ps.Answer{}, render)
	if bad.Status != actors.StatusOverloaded {
		t.Errorf("an update the event's Validate refuses: %+v", bad)
	}
	ok(t, "delete endpoint", aps.DeleteEndpoint(sys, auth, "we_1", ps.Answer{}, render), 200)
	ok(t, "pm", aps.CreatePaymentMethod(sys, auth, *card("pm_2"), ps.Answer{Key: "m1", Fingerprint: "m", Status: 200, Response: []byte(`{"id":"pm_2"}`)}), 200)
	want := func(sys *actors.System) {
		t.Helper()
		sys.ReadState(func(st *engine.State) {
			o := auth.Owner()
			c, _ := ps.GetCustomer(st, o, "cus_1")
			v, _ := ps.GetPayment(st, o, "pay_1")
			_, weOK := ps.GetEndpoint(st, o, "we_1")
			_, pmOK := ps.GetMethod(st, o, "pm_2")
			if !c.Deleted || v.Payment.Description != "order 7" || v.Payment.Customer != "cus_1" || weOK || !pmOK {
				t.Errorf("state: customer %+v payment %+v endpoint found %v pm found %v", c, v.Payment, weOK, pmOK)
			}
			if b := ps.Balance(st, o); len(b) != 1 || b[0] != (ps.Amount{Currency: "eur", Amount: 900}) {
				t.Errorf("balance %v", b)
			}
		})
	}
	want(sys)
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	sys = start(t, dir)
	want(sys)
	if r := aps.UpdateCustomer(sys, auth, "cus_1", aps.CustomerPatch{Name: &name}, ans("c2", "u"), render); !r.Replayed || !bytes.Equal(r.Body, up.Body) {
		t.Errorf("customer update replay after restart: %+v", r)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(verify.Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.ByType["paysmart.payment_created"] == 0 {
		t.Fatalf("verify: ok %v, %d violations %v, events %v", rep.OK, rep.ViolationCount, rep.Violations, rep.ByType)
	}
}

// TestCreateUnderATakenID: ids are drawn at random, so a create needs no
// actor (Op.Fresh); one under an id that is taken is still refused with
// StatusOverloaded before anything is written, and its Idempotency-Key is
// free again. A create after it is decided as before.
func TestCreateUnderATakenID(t *testing.T) {
	sys := start(t, t.TempDir())
	defer sys.Stop()
	ok(t, "payment", pay(sys, "pay_same", 2000, ps.StatusSucceeded, "k1"), 200)
	before := sys.Stats()
	if r := pay(sys, "pay_same", 3000, ps.StatusSucceeded, "k2"); r.Status != actors.StatusOverloaded {
		t.Fatalf("create under a taken id: %+v, want StatusOverloaded", r)
	}
	if after := sys.Stats(); after.Events != before.Events || after.Refused != before.Refused+1 {
		t.Fatalf("stats %+v → %+v: want one refusal and no event", before, after)
	}
	var v ps.PaymentView
	sys.ReadState(func(st *engine.State) { v, _ = ps.GetPayment(st, auth.Owner(), "pay_same") })
	if v.Payment.Amount != 2000 {
		t.Fatalf("the payment changed: %+v", v.Payment)
	}
	if got := balance(sys, auth.Owner()); len(got) != 1 || got[0].Amount != 2000 {
		t.Fatalf("balance %+v, want 2000 from the first payment only", got)
	}
	r := pay(sys, "pay_other", 3000, ps.StatusSucceeded, "k2")
	ok(t, "the refused key on a new id", r, 200)
	if r.Replayed {
		t.Fatalf("the refused key was bound: %+v", r)
	}
}
