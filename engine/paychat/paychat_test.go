package paychat

import (
	"bytes"
	"crypto/sha256"
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

func stamp(ms int64) engine.Stamp { return engine.Stamp{TimeMs: ms} }

const usdt = 1_000_000 // micro-USDT per USDT

func partner(id, tg string) Partner {
	h := sha256.Sum256([]byte("sk_" + id))
	return Partner{ID: id, TelegramID: tg, Name: "Shop " + tg, Plan: Plan, Memo: "partner_" + strings.TrimPrefix(id, PrefixPartner),
		SecretHash: h[:], CreatedMs: 10}
}

func link(id, l, partner string, amount, createdMs int64) Payment {
	return Payment{ID: id, LinkID: l, Partner: partner, Amount: amount, Description: "T-shirt & <b>", Metadata: []byte(`{"user_id":"u1"}`),
		Status: StatusPending, CreatedMs: createdMs, ExpiresMs: createdMs + PaymentLifetime}
}

func notice(id, typ string) Notice {
	return Notice{ID: id, Type: typ, Body: []byte(`{"event":"` + typ + `","id":"` + id + `"}`)}
}

func answer(key string) Answer {
	if key == "" {
		return Answer{}
	}
	return Answer{Key: key, Fingerprint: "fp-" + key, Status: 200, Response: []byte(`{"success":true}`)}
}

// scenario touches every event type: two partners, deposits (one held,
// then assigned), fees, withdrawals (a referral registered by the first),
// payments (one completed, one void: a second payer too late, one expired
// attempt void too), a webhook set and tested.
func scenario() []engine.Event {
	a, b := partner("pcp_a1", "111"), partner("pcp_b2", "222")
	return []engine.Event{
		&PartnerRegistered{Stamp: stamp(10), Partner: a},
		&PartnerRegistered{Stamp: stamp(11), Partner: b},
		&WebhookSet{Stamp: stamp(12), Partner: "pcp_a1", URL: "https://a.test/hook"},
		&DepositReceived{Stamp: stamp(20), Deposit: Deposit{TxHash: "tx1", Memo: a.Memo, Amount: 1000 * usdt, Partner: "pcp_a1", Status: DepositCredited, CreatedMs: 20}},
		&DepositReceived{Stamp: stamp(21), Deposit: Deposit{TxHash: "tx2", Memo: "partner_nobody", Amount: 50 * usdt, Status: DepositHeld, CreatedMs: 21}},
		&DepositReceived{Stamp: stamp(22), Deposit: Deposit{TxHash: "sandbox_fund_1", Amount: 30 * usdt, User: "999", Status: DepositCredited, CreatedMs: 22}},
		&FeeScheduleSet{Stamp: stamp(25), Schedule: FeeSchedule{Withdrawal: FeeRule{Fixed: 10_000, Bps: 100}, Payment: FeeRule{Bps: 50},
			Tiers: []FeeTier{{MinHoldings: 100 * usdt, DiscountBps: 5000}, {MinHoldings: 10_000 * usdt, DiscountBps: BasisPoints}}}},
		&Withdrawn{Stamp: stamp(30), Withdrawal: Withdrawal{ID: "wd_1", Partner: "pcp_a1", User: "999", Amount: 10 * usdt, Fee: 55_000, Memo: "Referral bonus ✓ <&>", CreatedMs: 30},
			Notice: notice("evt_w1", EventWithdrawCompleted), Answer: answer("k1")},
		&Withdrawn{Stamp: stamp(31), Withdrawal: Withdrawal{ID: "wd_2", Partner: "pcp_a1", User: "888", Amount: 5 * usdt, CreatedMs: 31}},
		&Withdrawn{Stamp: stamp(32), Withdrawal: Withdrawal{ID: "wd_3", Partner: "pcp_a1", User: "888", Amount: 1, CreatedMs: 32}},
		&DepositAssigned{Stamp: stamp(40), TxHash: "tx2", Partner: "pcp_b2"},
		&PaymentCreated{Stamp: stamp(50), Payment: link("pay_1", "x7k2m9", "pcp_b2", 2999*usdt/100, 50), Answer: answer("k2")},
		&PaymentCreated{Stamp: stamp(51), Payment: link("pay_2", "abc123", "pcp_a1", 1*usdt, 51)},
		&PaymentPaid{Stamp: stamp(60), Link: "x7k2m9", Partner: "pcp_b2", Payer: "999", Amount: 2999 * usdt / 100, Fee: 149_950, PaidMs: 60,
			Notice: notice("evt_p1", EventPaymentCompleted)},
		&PaymentPaid{Stamp: stamp(61), Link: "x7k2m9", Partner: "pcp_b2", Payer: "888", Amount: 2999 * usdt / 100, PaidMs: 61,
			Notice: notice("evt_p2", EventPaymentCompleted)},
		&PaymentPaid{Stamp: stamp(62), Link: "abc123", Partner: "pcp_a1", Payer: "888", Amount: 1 * usdt, PaidMs: 51 + PaymentLifetime,
			Notice: notice("evt_p3", EventPaymentCompleted)},
		&WebhookTested{Stamp: stamp(70), Partner: "pcp_a1", Notice: notice("evt_t1", EventTest)},
		&WebhookTested{Stamp: stamp(71), Partner: "pcp_b2", Notice: notice("evt_t2", EventTest)},
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
	for typ := EvPartnerRegistered; typ <= EvWebhookTested; typ++ {
		if !seen[typ] {
			t.Errorf("type %d (%s) not in the scenario", typ, engine.Name(typ))
		}
	}
}

func TestApply(t *testing.T) {
	st := applyAll(scenario())
	s := Of(st)
	// a: 1000 - (10 + 0.055 fee) - 5 - 0.000001 = 984.944999
	if got := BalanceOf(st, "pcp_a1"); got.Available != 984_944_999 || got.Referral != 15_010_001 || got.Total != 984_944_999+15_010_001 {
		t.Errorf("a's balance %+v", got)
	}
	// b: 50 assigned + 29.99 - 0.14995 fee
	if got := BalanceOf(st, "pcp_b2"); got.Available != 50*usdt+2999*usdt/100-149_950 || got.Referral != 0 {
		t.Errorf("b's balance %+v", got)
	}
	// 999: 30 funded + 10 received - 29.99 paid; 888: 5.000001, its two payments void.
	if u, _ := GetUser(st, "999"); u.Balance != 40*usdt-2999*usdt/100 || u.Referrer != "pcp_a1" {
		t.Errorf("user 999 %+v", u)
	}
	if u, _ := GetUser(st, "888"); u.Balance != 5*usdt+1 || u.Referrer != "pcp_a1" {
		t.Errorf("user 888 %+v", u)
	}
	if s.Void != 2 || s.FeeAccount != 55_000+149_950 || s.Deposited != 1080*usdt || s.HeldTotal != 0 {
		t.Errorf("void %d fees %d deposited %d held %d", s.Void, s.FeeAccount, s.Deposited, s.HeldTotal)
	}
	tot := TotalsOf(st)
	if tot.Partners+tot.Users+tot.FeeAccount+tot.Held != tot.Deposited {
		t.Errorf("conservation: %+v", tot)
	}
	p, ok := GetPayment(st, "pcp_b2", "x7k2m9")
	if !ok || p.Status != StatusCompleted || p.Payer != "999" || p.PaidMs != 60 || p.Fee != 149_950 {
		t.Errorf("paid link %+v %v", p, ok)
	}
	if q, ok := GetPayment(st, "pcp_b2", "pay_1"); !ok || q.ID != p.ID {
		t.Error("a payment is not found by its pay_ id")
	}
	if _, ok := GetPayment(st, "pcp_a1", "x7k2m9"); ok {
		t.Error("another partner's payment is found")
	}
	if q, _ := GetPayment(st, "pcp_a1", "abc123"); q.StatusAt(52) != StatusPending || q.StatusAt(51+PaymentLifetime) != StatusExpired {
		t.Errorf("the expired attempt changed the link: %+v", q)
	}
	// a's transactions, newest first: the three withdrawals and a fee, and
	// the pending payment.
	page, total, err := Transactions(st, "pcp_a1", TxQuery{NowMs: 100})
	if err != nil || total != 5 {
		t.Fatalf("transactions: %d %v", total, err)
	}
	ids := []string{}
	for _, v := range page {
		ids = append(ids, fmt.Sprint(v.ID, v.Type, v.Ref, v.Amount, v.Status, v.TelegramID))
	}
	want := []string{"5paymentpay_21000000pending", "4withdrawwd_31completed888", "3withdrawwd_25000000completed888",
		"2feewd_155000completed999", "1withdrawwd_110000000completed999"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("transactions %v, want %v", ids, want)
	}
	if page, total, _ := Transactions(st, "pcp_a1", TxQuery{Type: TxWithdraw, FromMs: 31, HasFrom: true, ToMs: 31, HasTo: true, NowMs: 100}); total != 1 || page[0].Ref != "wd_2" {
		t.Errorf("filtered: %d %+v", total, page)
	}
	if page, total, _ := Transactions(st, "pcp_a1", TxQuery{Limit: 2, Offset: 3, NowMs: 100}); total != 5 || len(page) != 2 || page[0].ID != 2 {
		t.Errorf("paged: %d %+v", total, page)
	}
	if _, total, _ := Transactions(st, "pcp_a1", TxQuery{Status: StatusExpired, NowMs: 51 + PaymentLifetime}); total != 1 {
		t.Errorf("expired filter: %d", total)
	}
	for _, q := range []TxQuery{{Limit: MaxLimit + 1}, {Limit: -1}, {Offset: -1}} {
		if _, _, err := Transactions(st, "pcp_a1", q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("%+v: %v", q, err)
		}
	}
	if n := Notifications(st, "888"); len(n) != 2 || n[0].ID != "wd_2" {
		t.Errorf("notifications %+v", n)
	}
	// Deliveries: a has a webhook (wd_1's notice, its test); b has none.
	out := outbox.Of(st)
	if len(out.Deliveries) != 2 || out.Deliveries[outbox.DeliveryID("evt_w1", "pcp_a1")] == nil || out.Deliveries[outbox.DeliveryID("evt_t1", "pcp_a1")] == nil {
		t.Errorf("deliveries %v", out.Deliveries)
	}
	if d, ok := GetDeposit(st, "tx2"); !ok || d.Status != DepositCredited || d.Partner != "pcp_b2" || d.AssignedMs != 40 || len(HeldDeposits(st)) != 0 {
		t.Errorf("assigned deposit %+v", d)
	}
	if p, ok := PartnerByMemo(st, "partner_a1"); !ok || p.ID != "pcp_a1" {
		t.Error("partner by memo")
	}
	if p, ok := PartnerByTelegram(st, "222"); !ok || p.ID != "pcp_b2" {
		t.Error("partner by telegram")
	}
}

func TestFees(t *testing.T) {
	s := FeeSchedule{Withdrawal: FeeRule{Fixed: 10_000, Bps: 100}, Payment: FeeRule{Fixed: 2 * usdt},
		Tiers: []FeeTier{{MinHoldings: 100, DiscountBps: 2500}, {MinHoldings: 1000, DiscountBps: BasisPoints}}}
	cases := []struct {
		rule             FeeRule
		amount, holdings int64
		want             int64
	}{
		{s.Withdrawal, 10 * usdt, 0, 110_000},
		{s.Withdrawal, 10 * usdt, 100, 82_500},
		{s.Withdrawal, 10 * usdt, 1000, 0},
		{s.Withdrawal, MaxAmount, 0, 10_000 + MaxAmount/100},
		{FeeRule{Bps: BasisPoints}, MaxAmount, 0, MaxAmount},
		{FeeRule{Bps: 1}, 9_999, 0, 0}, // rounded down
	}
	for _, c := range cases {
		if got := s.Fee(c.rule, c.amount, c.holdings); got != c.want {
			t.Errorf("fee %+v on %d at %d: %d, want %d", c.rule, c.amount, c.holdings, got, c.want)
		}
	}
	if got := s.PaymentFee(1*usdt, 0); got != 1*usdt {
		t.Errorf("a payment fee is capped at the amount: %d", got)
	}
	var zero FeeSchedule
	if !zero.Zero() || zero.WithdrawalFee(MaxAmount, 0) != 0 || zero.PaymentFee(MaxAmount, 0) != 0 {
		t.Error("the zero schedule charges")
	}
}

func TestValidateRefuses(t *testing.T) {
	big := make([]byte, MaxBody+1)
	a := partner("pcp_a1", "111")
	p := link("pay_1", "x7k2m9", "pcp_a1", 100, 50)
	modP := func(f func(*Payment)) engine.Event {
		q := p
		f(&q)
		return &PaymentCreated{Payment: q}
	}
	w := Withdrawal{ID: "wd_1", Partner: "pcp_a1", User: "999", Amount: 10, CreatedMs: 1}
	modW := func(f func(*Withdrawal)) engine.Event {
		q := w
		f(&q)
		return &Withdrawn{Withdrawal: q}
	}
	cases := map[string]engine.Event{
		"partner id":          &PartnerRegistered{Partner: func() Partner { q := a; q.ID = "ptr_1"; return q }()},
		"partner telegram":    &PartnerRegistered{Partner: func() Partner { q := a; q.TelegramID = "12a"; return q }()},
		"partner memo":        &PartnerRegistered{Partner: func() Partner { q := a; q.Memo = "memo"; return q }()},
		"partner secret hash": &PartnerRegistered{Partner: func() Partner { q := a; q.SecretHash = nil; return q }()},
		"partner plan":        &PartnerRegistered{Partner: func() Partner { q := a; q.Plan = "free"; return q }()},
		"partner webhook":     &PartnerRegistered{Partner: func() Partner { q := a; q.WebhookURL = "https://x"; return q }()},
		"webhook url":         &WebhookSet{Partner: "pcp_a1", URL: "ftp://x"},
		"amount zero":         modP(func(q *Payment) { q.Amount = 0 }),
		"amount above max":    modP(func(q *Payment) { q.Amount = MaxAmount + 1 }),
		"link id length":      modP(func(q *Payment) { q.LinkID = "abc" }),
		"link id upper":       modP(func(q *Payment) { q.LinkID = "ABCDEF" }),
		"expiry":              modP(func(q *Payment) { q.ExpiresMs++ }),
		"created completed":   modP(func(q *Payment) { q.Status = StatusCompleted }),
		"metadata not object": modP(func(q *Payment) { q.Metadata = []byte(`[1]`) }),
		"description long":    modP(func(q *Payment) { q.Description = strings.Repeat("é", MaxDescription+1) }),
		"paid fee > amount":   &PaymentPaid{Link: "x7k2m9", Partner: "pcp_a1", Payer: "1", Amount: 1, Fee: 2},
		"paid payer":          &PaymentPaid{Link: "x7k2m9", Partner: "pcp_a1", Payer: "", Amount: 1},
		"paid notice type":    &PaymentPaid{Link: "x7k2m9", Partner: "pcp_a1", Payer: "1", Amount: 1, Notice: notice("evt_1", EventTest)},
		"withdrawal telegram": modW(func(q *Withdrawal) { q.User = strings.Repeat("1", MaxTelegramID+1) }),
		"withdrawal memo":     modW(func(q *Withdrawal) { q.Memo = strings.Repeat("m", MaxMemo+1) }),
		"withdrawal fee":      modW(func(q *Withdrawal) { q.Fee = -1 }),
		"withdrawal sum":      modW(func(q *Withdrawal) { q.Amount, q.Fee = MaxAmount, 1 }),
		"withdrawal id":       modW(func(q *Withdrawal) { q.ID = "wd_" }),
		"answer too big":      &Withdrawn{Withdrawal: w, Answer: Answer{Key: "k", Status: 200, Response: big}},
		"notice too big":      &Withdrawn{Withdrawal: w, Notice: Notice{ID: "evt_1", Type: EventWithdrawCompleted, Body: big}},
		"deposit both":        &DepositReceived{Deposit: Deposit{TxHash: "t", Amount: 1, Partner: "pcp_a1", User: "1", Status: DepositCredited}},
		"deposit held to":     &DepositReceived{Deposit: Deposit{TxHash: "t", Amount: 1, Partner: "pcp_a1", Status: DepositHeld}},
		"deposit hash":        &DepositReceived{Deposit: Deposit{TxHash: "t x", Amount: 1, User: "1", Status: DepositCredited}},
		"deposit status":      &DepositReceived{Deposit: Deposit{TxHash: "t", Amount: 1, User: "1", Status: "x"}},
		"schedule bps":        &FeeScheduleSet{Schedule: FeeSchedule{Payment: FeeRule{Bps: BasisPoints + 1}}},
		"schedule tiers":      &FeeScheduleSet{Schedule: FeeSchedule{Tiers: []FeeTier{{MinHoldings: 5}, {MinHoldings: 5}}}},
		"test without notice": &WebhookTested{Partner: "pcp_a1"},
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

func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestApplyPanicsOnBrokenInvariants(t *testing.T) {
	base := scenario()
	cases := map[string]engine.Event{
		"partner twice":        &PartnerRegistered{Partner: partner("pcp_a1", "333")},
		"telegram twice":       &PartnerRegistered{Partner: partner("pcp_c3", "111")},
		"webhook of nobody":    &WebhookSet{Partner: "pcp_zz", URL: "https://x"},
		"link twice":           &PaymentCreated{Payment: link("pay_9", "x7k2m9", "pcp_a1", 1, 80)},
		"payment of nobody":    &PaymentCreated{Payment: link("pay_9", "zzzzzz", "pcp_zz", 1, 80)},
		"paid unknown link":    &PaymentPaid{Link: "zzzzzz", Partner: "pcp_a1", Payer: "999", Amount: 1, PaidMs: 80},
		"paid payer unknown":   &PaymentPaid{Link: "abc123", Partner: "pcp_a1", Payer: "777", Amount: 1 * usdt, PaidMs: 80, Fee: 0},
		"paid wrong amount":    &PaymentPaid{Link: "abc123", Partner: "pcp_a1", Payer: "999", Amount: 2, PaidMs: 80},
		"overdraw partner":     &Withdrawn{Withdrawal: Withdrawal{ID: "wd_9", Partner: "pcp_b2", User: "1", Amount: 100 * usdt, CreatedMs: 80}},
		"withdrawal id twice":  &Withdrawn{Withdrawal: Withdrawal{ID: "wd_1", Partner: "pcp_a1", User: "1", Amount: 1, CreatedMs: 80}},
		"deposit twice":        &DepositReceived{Deposit: Deposit{TxHash: "tx1", Amount: 1, User: "1", Status: DepositCredited}},
		"deposit past the cap": &DepositReceived{Deposit: Deposit{TxHash: "tx9", Amount: MaxAmount, User: "1", Status: DepositCredited}},
		"deposit to nobody":    &DepositReceived{Deposit: Deposit{TxHash: "tx9", Amount: 1, Partner: "pcp_zz", Status: DepositCredited}},
		"assign credited":      &DepositAssigned{TxHash: "tx1", Partner: "pcp_a1"},
		"test of nobody":       &WebhookTested{Partner: "pcp_zz", Notice: notice("evt_9", EventTest)},
		"delivery id twice":    &WebhookTested{Partner: "pcp_a1", Notice: notice("evt_t1", EventTest)},
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
	if !reflect.DeepEqual(a, b) {
		t.Errorf("state differs after the round trip:\n%+v\n%+v", a, b)
	}
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
		"money created":    mod(func(s *State) { s.Books["pcp_a1"].Balance++ }),
		"negative balance": mod(func(s *State) { s.Users["888"].Balance = -1; s.Deposited -= 5*usdt + 2 }),
		"unknown referrer": mod(func(s *State) { s.Users["888"].Referrer = "pcp_zz" }),
		"tx of nothing":    mod(func(s *State) { b := s.Books["pcp_a1"]; b.Txs = append(b.Txs, Tx{Type: TxPayment, Ref: "pay_zz"}) }),
		"tx of other": mod(func(s *State) {
			b := s.Books["pcp_b2"]
			b.Txs = append(b.Txs, Tx{Type: TxWithdraw, Ref: "wd_1", CreatedMs: 30})
		}),
		"inbox of other":     mod(func(s *State) { s.Inbox["999"] = append(s.Inbox["999"], "wd_2") }),
		"payment of nobody":  mod(func(s *State) { p := *s.Payments["pay_1"]; p.Partner = "pcp_zz"; s.Payments["pay_1"] = &p }),
		"completed no payer": mod(func(s *State) { p := *s.Payments["pay_1"]; p.Payer = ""; s.Payments["pay_1"] = &p }),
		"bad schedule":       mod(func(s *State) { s.Schedule.Payment.Bps = -1 }),
		"truncated":          encode(t, good)[:30],
		"trailing":           append(encode(t, good), 0xc0),
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
		if d.Module == "paychat" {
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
	for cut := range len(evs) {
		half := applyAll(evs[:cut])
		start := engine.NewState()
		if err := decodeSection(1, encode(t, half), start); err != nil {
			t.Fatal(err)
		}
		if v := runChecker(start, evs[cut:], applyAll(evs)); len(v) != 0 {
			t.Fatalf("from a snapshot after %d events: %v", cut, v)
		}
	}
	broken := map[string]func(st *engine.State){
		"partner balance": func(st *engine.State) { Of(st).Books["pcp_a1"].Balance++ },
		"user balance":    func(st *engine.State) { Of(st).Users["999"].Balance-- },
		"referral":        func(st *engine.State) { Of(st).Books["pcp_a1"].Referral++ },
		"fee account":     func(st *engine.State) { Of(st).FeeAccount++ },
		"void count":      func(st *engine.State) { Of(st).Void = 0 },
		"link unpaid": func(st *engine.State) {
			p := *Of(st).Payments["pay_1"]
			p.Status, p.Payer = StatusPending, ""
			Of(st).Payments["pay_1"] = &p
		},
		"lost delivery": func(st *engine.State) { delete(outbox.Of(st).Deliveries, outbox.DeliveryID("evt_w1", "pcp_a1")) },
	}
	for name, f := range broken {
		end := applyAll(evs)
		f(end)
		if v := runChecker(engine.NewState(), evs, end); len(v) == 0 {
			t.Errorf("%s: not caught", name)
		}
	}
	bad := append(append([]engine.Event{}, evs...),
		&Withdrawn{Withdrawal: Withdrawal{ID: "wd_x", Partner: "pcp_b2", User: "1", Amount: 1000 * usdt, CreatedMs: 90}})
	if v := runChecker(engine.NewState(), bad, applyAll(evs)); len(v) == 0 {
		t.Error("an overdraft in the log: not caught")
	}
}
