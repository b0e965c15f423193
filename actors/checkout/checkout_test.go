package checkout_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
	_ "ledgerd/engine/modules"
	"ledgerd/engine/outbox"
	"ledgerd/verify"
)

// clock is a System clock the test moves.
type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func newClock() *clock               { c := &clock{}; c.ms.Store(1_800_000_000_000); return c }
func key(s string) actors.NewKey {
	return actors.NewKey{ID: "key_" + s, Hash: engine.HashKey([]byte(s)), Hint: s[len(s)-4:]}
}
func ans(k, fp string) ck.Answer { return ck.Answer{Key: k, Fingerprint: fp} }
func startSys(t *testing.T, dir string, c *clock) *actors.System {
	t.Helper()
	s, err := actors.Start(actors.Config{DataDir: dir, SnapshotEvery: 25, SnapshotFixed: true, Now: c.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var auth = ack.Auth{Shop: "shop_1", KeyHash: [engine.KeyHashLen]byte{1}}

func notice(p *ck.Payment, typ string) ck.Notice {
	id := fmt.Sprintf("evt_%s_%s_%d", p.ID, typ, p.AmountRefunded)
	return ck.Notice{ID: id, Type: typ, Body: []byte(`{"type":"` + typ + `","id":"` + p.ID + `","status":"` + p.Status + `"}`)}
}

func render(v any) (int64, []byte) {
	switch x := v.(type) {
	case *ck.Payment:
		return 200, fmt.Appendf(nil, `{"id":%q,"status":%q,"amount_refunded":%d}`, x.ID, x.Status, x.AmountRefunded)
	case ack.Refusal:
		return 400, fmt.Appendf(nil, `{"error":%q}`, x.Code)
	}
	panic(fmt.Sprintf("render %T", v))
}

func shop(t testing.TB, sys *actors.System, webhook string) {
	t.Helper()
	sh := ck.Shop{ID: "shop_1", Name: "Shop", AccentColor: "#123456", WebhookURL: webhook}
	if _, err := ack.CreateShop(sys, sh, 600, key("ck_test_"+strings.Repeat("t", 48)), key("ck_live_"+strings.Repeat("l", 48))); err != nil {
		t.Fatal(err)
	}
}

func payment(c *clock, id string, amount int64) ck.Payment {
	now := c.now().UnixMilli()
	return ck.Payment{ID: id, Amount: amount, Currency: "usd", ReturnURL: "http://127.0.0.1/back", Token: "tok_" + strings.Repeat("x", 32) + id,
		Status: ck.StatusPending, CreatedMs: now, ExpiresMs: now + 24*3600_000}
}

func create(t *testing.T, sys *actors.System, c *clock, id string, amount int64, a ck.Answer) ack.Result {
	t.Helper()
	r := ack.CreatePayment(sys, auth, payment(c, id, amount), 200, []byte(`{"id":"`+id+`"}`), a)
	if r.Status != actors.StatusOK || r.HTTP != 200 {
		t.Fatalf("create %s: %+v", id, r)
	}
	return r
}

func submit(t *testing.T, sys *actors.System, id string, card ack.Card) ack.Submission {
	t.Helper()
	s, err := ack.Submit(sys, id, card, notice)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	approved = ack.Card{Approved: true, Brand: "visa", Last4: "4242"}
	declined = ack.Card{DeclineCode: "generic_decline"}
)

func deliveries(sys *actors.System) map[string]string {
	out := map[string]string{}
	sys.ReadState(func(st *engine.State) {
		for _, d := range outbox.Of(st).Deliveries {
			out[d.EventID] = d.EventType
		}
	})
	return out
}

func TestShop(t *testing.T) {
	c := newClock()
	sys := startSys(t, t.TempDir(), c)
	defer sys.Stop()
	shop(t, sys, "")
	p, ok := sys.PartnerByID("shop_1")
	if !ok || p.API != ck.API || len(p.Keys) != 2 || !p.Active() {
		t.Fatalf("partner %+v", p)
	}
	if _, err := ack.CreateShop(sys, ck.Shop{ID: "shop_1", Name: "x", AccentColor: "#000000"}, 1, key("a1234"), key("b1234")); err != ack.ErrShopExists {
		t.Fatalf("twice: %v", err)
	}
	url, name := "http://127.0.0.1:1/h", "New name"
	sh, err := ack.UpdateShop(sys, "shop_1", ack.ShopPatch{Name: &name, WebhookURL: &url, RotateSecret: true})
	if err != nil || sh.Name != name || sh.WebhookURL != url || sh.WebhookRotation != 1 || sh.AccentColor != "#123456" {
		t.Fatalf("update: %+v %v", sh, err)
	}
	bad := "red"
	if _, err := ack.UpdateShop(sys, "shop_1", ack.ShopPatch{AccentColor: &bad}); err == nil {
		t.Fatal("a bad colour was committed")
	}
	if _, err := ack.UpdateShop(sys, "shop_9", ack.ShopPatch{Name: &name}); err != ack.ErrShopNotFound {
		t.Fatal(err)
	}
}

func TestPaymentLife(t *testing.T) {
	c := newClock()
	dir := t.TempDir()
	sys := startSys(t, dir, c)
	shop(t, sys, "http://127.0.0.1:1/hook")
	create(t, sys, c, "pay_1", 5_000, ck.Answer{})
	for n := int64(1); n <= 4; n++ {
		if s := submit(t, sys, "pay_1", declined); s.Outcome != ack.OutcomeDeclined || s.Payment.Attempts != n || s.Payment.Status != ck.StatusPending {
			t.Fatalf("decline %d: %+v", n, s)
		}
	}
	s := submit(t, sys, "pay_1", approved)
	if s.Outcome != ack.OutcomeCompleted || s.Payment.Status != ck.StatusCompleted || s.Payment.CardLast4 != "4242" {
		t.Fatalf("approved: %+v", s)
	}
	if s := submit(t, sys, "pay_1", approved); s.Outcome != ack.OutcomeClosed || s.Payment.Status != ck.StatusCompleted {
		t.Fatalf("again: %+v", s)
	}
	if s := submit(t, sys, "pay_nope", approved); s.Outcome != ack.OutcomeMissing {
		t.Fatalf("missing: %+v", s)
	}
	// Five declines fail a payment, with one payment.failed.
	create(t, sys, c, "pay_2", 700, ck.Answer{})
	for range ck.MaxAttempts {
		submit(t, sys, "pay_2", declined)
	}
	if s := submit(t, sys, "pay_2", approved); s.Outcome != ack.OutcomeClosed || s.Payment.FailureReason != ck.ReasonTooManyAttempts {
		t.Fatalf("after five declines: %+v", s)
	}
	// Refunds: partial, too large, the rest; of a failed payment.
	if r := ack.Refund(sys, auth, "pay_1", 1_000, notice, ans("r1", "a"), render); r.HTTP != 200 || !bytes.Contains(r.Body, []byte(`"completed"`)) {
		t.Fatalf("partial refund: %+v %s", r, r.Body)
	}
	if r := ack.Refund(sys, auth, "pay_1", 4_001, notice, ans("r2", "a"), render); r.HTTP != 400 || !bytes.Contains(r.Body, []byte(ack.CodeRefundTooLarge)) {
		t.Fatalf("too large: %+v %s", r, r.Body)
	}
	if r := ack.Refund(sys, auth, "pay_1", 4_001, notice, ans("r2", "a"), render); !r.Replayed || r.HTTP != 400 {
		t.Fatalf("refusal replay: %+v", r)
	}
	if r := ack.Refund(sys, auth, "pay_1", 0, notice, ck.Answer{}, render); r.HTTP != 200 || !bytes.Contains(r.Body, []byte(`"refunded","amount_refunded":5000`)) {
		t.Fatalf("rest: %+v %s", r, r.Body)
	}
	if r := ack.Refund(sys, auth, "pay_2", 0, notice, ck.Answer{}, render); r.HTTP != 400 || !bytes.Contains(r.Body, []byte(ack.CodeNotRefundable)) {
		t.Fatalf("failed payment: %+v %s", r, r.Body)
	}
	live := auth
	live.Live = true
	if r := ack.Refund(sys, live, "pay_1", 0, notice, ck.Answer{}, render); r.HTTP != 400 || !bytes.Contains(r.Body, []byte(ack.CodeNotFound)) {
		t.Fatalf("other mode: %+v %s", r, r.Body)
	}
	// Webhooks: completed, failed, two refunds.
	want := map[string]string{"evt_pay_1_payment.completed_0": ck.EventPaymentCompleted, "evt_pay_2_payment.failed_0": ck.EventPaymentFailed,
		"evt_pay_1_payment.refunded_1000": ck.EventPaymentRefunded, "evt_pay_1_payment.refunded_5000": ck.EventPaymentRefunded}
	if got := deliveries(sys); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	sys = startSys(t, dir, c)
	sys.ReadState(func(st *engine.State) {
		p, _ := ck.GetPayment(st, auth.Owner(), "pay_1")
		if p.Status != ck.StatusRefunded || p.Attempts != 4 {
			t.Errorf("after restart: %+v", p)
		}
	})
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(verify.Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.ByType["checkout.payment_refunded"] != 2 {
		t.Fatalf("verify: ok %v, %d violations %v, events %v", rep.OK, rep.ViolationCount, rep.Violations, rep.ByType)
	}
}

func TestIdempotentCreate(t *testing.T) {
	c := newClock()
	sys := startSys(t, t.TempDir(), c)
	defer sys.Stop()
	shop(t, sys, "")
	var wg sync.WaitGroup
	results := make([]ack.Result, 50)
	for i := range results {
		wg.Go(func() {
			results[i] = ack.CreatePayment(sys, auth, payment(c, fmt.Sprintf("pay_c%d", i), 100), 200, fmt.Appendf(nil, `{"id":"pay_c%d"}`, i), ans("same", "fp"))
		})
	}
	wg.Wait()
	first := 0
	for _, r := range results {
		if r.Status != actors.StatusOK || !bytes.Equal(r.Body, results[0].Body) && !r.Replayed {
			t.Fatalf("result %+v", r)
		}
		if !r.Replayed {
			first++
		}
	}
	n := 0
	sys.ReadState(func(st *engine.State) { n = len(ck.Of(st).Payments) })
	if first != 1 || n != 1 {
		t.Fatalf("%d first answers, %d payments", first, n)
	}
	if r := ack.CreatePayment(sys, auth, payment(c, "pay_x", 100), 200, []byte(`{}`), ans("same", "other")); r.Status != actors.StatusConflict {
		t.Fatalf("other parameters: %+v", r)
	}
	live := auth
	live.Live = true
	if r := ack.CreatePayment(sys, live, payment(c, "pay_l", 100), 200, []byte(`{}`), ans("same", "other")); r.Status != actors.StatusOK || r.Replayed {
		t.Fatalf("the same key in live mode is another key: %+v", r)
	}
}

func TestExpiry(t *testing.T) {
	c := newClock()
	sys := startSys(t, t.TempDir(), c)
	defer sys.Stop()
	shop(t, sys, "http://127.0.0.1:1/hook")
	create(t, sys, c, "pay_1", 100, ck.Answer{})
	create(t, sys, c, "pay_2", 100, ck.Answer{})
	c.add(time.Hour)
	create(t, sys, c, "pay_3", 100, ck.Answer{})
	x, err := ack.StartExpirer(sys, ack.ExpirerConfig{Every: time.Hour, Notice: notice, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Stop()
	if n := x.Sweep(); n != 0 {
		t.Fatalf("expired %d early", n)
	}
	if s, _ := ack.Expire(sys, "pay_1", notice); s.Outcome != ack.OutcomeDeclined || s.Payment.Status != ck.StatusPending {
		t.Fatalf("expire before due: %+v", s)
	}
	c.add(23*time.Hour + time.Minute) // pay_1 and pay_2 are due, pay_3 is not
	if s := submit(t, sys, "pay_1", approved); s.Outcome != ack.OutcomeExpired || s.Payment.FailureReason != ck.ReasonExpired {
		t.Fatalf("card after expiry: %+v", s)
	}
	if n := x.Sweep(); n != 1 {
		t.Fatalf("swept %d, want pay_2", n)
	}
	sys.ReadState(func(st *engine.State) {
		for id, want := range map[string]string{"pay_1": ck.StatusFailed, "pay_2": ck.StatusFailed, "pay_3": ck.StatusPending} {
			if p, _ := ck.GetPayment(st, auth.Owner(), id); p.Status != want {
				t.Errorf("%s: %+v", id, p)
			}
		}
	})
	if got := deliveries(sys); len(got) != 2 {
		t.Fatalf("one payment.failed each: %v", got)
	}
}

// TestCreateUnderATakenID: ids are drawn at random, so a create needs no
// actor (Op.Fresh); one under an id that is taken is still refused with
// StatusOverloaded before anything is written, and its Idempotency-Key is
// free again. A create after it is decided as before.
func TestCreateUnderATakenID(t *testing.T) {
	c := newClock()
	sys := startSys(t, t.TempDir(), c)
	defer sys.Stop()
	shop(t, sys, "")
	create(t, sys, c, "pay_same", 500, ans("k1", "f1"))
	before := sys.Stats()
	p := payment(c, "pay_same", 900)
	p.Token = "tok_" + strings.Repeat("y", 32) + "pay_same" // a token of the same shape: Validate passes
	if r := ack.CreatePayment(sys, auth, p, 200, []byte(`{"id":"pay_same"}`), ans("k2", "f2")); r.Status != actors.StatusOverloaded {
		t.Fatalf("create under a taken id: %+v, want StatusOverloaded", r)
	}
	if after := sys.Stats(); after.Events != before.Events || after.Refused != before.Refused+1 {
		t.Fatalf("stats %+v → %+v: want one refusal and no event", before, after)
	}
	var got ck.Payment
	sys.ReadState(func(st *engine.State) { got, _ = ck.PaymentByID(st, "pay_same") })
	if got.Amount != 500 || got.Token != payment(c, "pay_same", 500).Token {
		t.Fatalf("the payment changed: %+v", got)
	}
	if r := create(t, sys, c, "pay_other", 900, ans("k2", "f2")); r.Replayed {
		t.Fatalf("the refused key was bound: %+v", r)
	}
}
