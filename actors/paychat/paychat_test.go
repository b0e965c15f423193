package paychat_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	"ledgerd/engine"
	_ "ledgerd/engine/modules"
	pc "ledgerd/engine/paychat"
	"ledgerd/verify"
)

const usdt = 1_000_000

type clock struct{ ms atomic.Int64 }

func (c *clock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *clock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

func start(t *testing.T, dir string, c *clock) *actors.System {
	t.Helper()
	s, err := actors.Start(actors.Config{DataDir: dir, SnapshotEvery: 50, SnapshotFixed: true, Now: c.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func partner(id, tg string) pc.Partner {
	h := sha256.Sum256([]byte("sk_" + id))
	return pc.Partner{ID: id, TelegramID: tg, Plan: pc.Plan, Memo: "partner_" + id[4:], SecretHash: h[:], CreatedMs: 1}
}

func auth(id string) apc.Auth { return apc.Auth{Partner: id} }

func answer(key string, body string) pc.Answer {
	a := pc.Answer{Status: 200, Response: []byte(body)}
	if key != "" {
		a.Key, a.Fingerprint = key, "fp:"+body
	}
	return a
}

var linkSeq atomic.Int64

func createLink(t *testing.T, sys *actors.System, partner string, amount int64, nowMs int64) pc.Payment {
	t.Helper()
	var p pc.Payment
	r, err := apc.CreatePayment(sys, auth(partner), func() (pc.Payment, pc.Answer) {
		n := linkSeq.Add(1)
		p = pc.Payment{ID: fmt.Sprintf("pay_%d", n), LinkID: fmt.Sprintf("l%05d", n), Partner: partner, Amount: amount,
			Status: pc.StatusPending, CreatedMs: nowMs, ExpiresMs: nowMs + pc.PaymentLifetime}
		return p, answer("", `{"id":"`+p.ID+`"}`)
	})
	if err != nil || r.Status != actors.StatusOK {
		t.Fatalf("create payment: %+v %v", r, err)
	}
	return p
}

func balances(sys *actors.System) (pc.Totals, map[string]pc.Balance) {
	var tot pc.Totals
	out := map[string]pc.Balance{}
	sys.ReadState(func(st *engine.State) {
		tot = pc.TotalsOf(st)
		for id := range pc.Of(st).Partners {
			out[id] = pc.BalanceOf(st, id)
		}
	})
	return tot, out
}

func userBalance(sys *actors.System, tg string) int64 {
	var b int64
	sys.ReadState(func(st *engine.State) {
		u, _ := pc.GetUser(st, tg)
		b = u.Balance
	})
	return b
}

func TestPartnerUserLinkDeposit(t *testing.T) {
	dir := t.TempDir()
	c := &clock{}
	c.ms.Store(1_700_000_000_000)
	sys := start(t, dir, c)
	if st, _ := apc.Register(sys, partner("pcp_a", "111")); st != actors.StatusOK {
		t.Fatalf("register: %v", st)
	}
	if st, existing := apc.Register(sys, partner("pcp_x", "111")); st != actors.StatusConflict || existing != "pcp_a" {
		t.Fatalf("second register of 111: %v %q", st, existing)
	}
	apc.Register(sys, partner("pcp_b", "222"))

	// The partner's actor is live with balance 0 when the deposit credits
	// it: the next withdrawal reloads and sees it.
	w := pc.Withdrawal{ID: "wd_1", User: "999", Amount: 10 * usdt, Memo: "hi", CreatedMs: c.ms.Load()}
	if r := apc.Withdraw(sys, auth("pcp_a"), w, pc.Notice{}, answer("", "{}")); r.Status != actors.StatusInsufficient {
		t.Fatalf("withdrawal from an empty partner: %+v", r)
	}
	if d, st, rep := apc.Deposit(sys, pc.Deposit{TxHash: "tx1", Memo: "partner_a", Amount: 100 * usdt, Partner: "pcp_a"}); st != actors.StatusOK || rep || d.CreatedMs == 0 {
		t.Fatalf("deposit: %+v %v %v", d, st, rep)
	}
	if r := apc.Withdraw(sys, auth("pcp_a"), w, pc.Notice{}, answer("k1", `{"id":"wd_1"}`)); r.Status != actors.StatusOK || string(r.Body) != `{"id":"wd_1"}` {
		t.Fatalf("withdrawal after a deposit: %+v", r)
	}
	w2 := w
	w2.ID = "wd_2"
	if r := apc.Withdraw(sys, auth("pcp_a"), w2, pc.Notice{}, answer("k1", `{"id":"wd_1"}`)); !r.Replayed || string(r.Body) != `{"id":"wd_1"}` {
		t.Fatalf("replay: %+v", r)
	}
	w2.Amount = 11
	if r := apc.Withdraw(sys, auth("pcp_a"), w2, pc.Notice{}, answer("k1", `{"other":1}`)); r.Status != actors.StatusConflict {
		t.Fatalf("same key, other parameters: %+v", r)
	}
	if r := apc.Withdraw(sys, auth("pcp_zz"), w2, pc.Notice{}, answer("", "{}")); r.Status != actors.StatusUnknownUser {
		t.Fatalf("unknown partner: %+v", r)
	}

	// Deposits: replay, conflict, held then assigned, the cap.
	if _, st, rep := apc.Deposit(sys, pc.Deposit{TxHash: "tx1", Memo: "partner_a", Amount: 100 * usdt, Partner: "pcp_a"}); st != actors.StatusOK || !rep {
		t.Fatalf("deposit replay: %v %v", st, rep)
	}
	if _, st, _ := apc.Deposit(sys, pc.Deposit{TxHash: "tx1", Memo: "partner_a", Amount: 99 * usdt, Partner: "pcp_a"}); st != actors.StatusConflict {
		t.Fatalf("deposit conflict: %v", st)
	}
	if d, st, _ := apc.Deposit(sys, pc.Deposit{TxHash: "tx2", Memo: "partner_nobody", Amount: 5 * usdt}); st != actors.StatusOK || d.Status != pc.DepositHeld {
		t.Fatalf("held deposit: %+v %v", d, st)
	}
	if _, st, _ := apc.Deposit(sys, pc.Deposit{TxHash: "tx3", Amount: pc.MaxAmount, User: "1"}); st != actors.StatusBalanceLimit {
		t.Fatalf("past the cap: %v", st)
	}
	if d, st := apc.AssignDeposit(sys, "tx2", "pcp_b"); st != actors.StatusOK || d.Partner != "pcp_b" {
		t.Fatalf("assign: %+v %v", d, st)
	}
	if _, st := apc.AssignDeposit(sys, "tx2", "pcp_b"); st != actors.StatusAlreadyRedeemed {
		t.Fatalf("assign twice: %v", st)
	}
	if _, st := apc.AssignDeposit(sys, "tx9", "pcp_b"); st != actors.StatusNotFound {
		t.Fatalf("assign unknown: %v", st)
	}

	// Payments: the payer (999, holding 10 from the withdrawal) pays a
	// link of b; a second pay of it is refused; a payer short of funds is
	// refused; funding first pays; an expired link is refused.
	p := createLink(t, sys, "pcp_b", 4*usdt, c.ms.Load())
	notice := func(q pc.Payment) pc.Notice {
		return pc.Notice{ID: "evt_" + q.LinkID, Type: pc.EventPaymentCompleted, Body: []byte(`{"payment_id":"` + q.LinkID + `"}`)}
	}
	if got, out := apc.Pay(sys, apc.PayRequest{Link: p.LinkID, Payer: "999", Notice: notice}); out != apc.PayCompleted || got.Payer != "999" {
		t.Fatalf("pay: %+v %v", got, out)
	}
	if _, out := apc.Pay(sys, apc.PayRequest{Link: p.LinkID, Payer: "998"}); out != apc.PayAlreadyPaid {
		t.Fatalf("pay twice: %v", out)
	}
	q := createLink(t, sys, "pcp_b", 50*usdt, c.ms.Load())
	if _, out := apc.Pay(sys, apc.PayRequest{Link: q.LinkID, Payer: "999"}); out != apc.PayInsufficient {
		t.Fatalf("pay short: %v", out)
	}
	if _, out := apc.Pay(sys, apc.PayRequest{Link: q.LinkID, Payer: "777", Fund: true, FundTx: "sandbox_1"}); out != apc.PayCompleted {
		t.Fatalf("pay funded: %v", out)
	}
	r := createLink(t, sys, "pcp_b", 1, c.ms.Load())
	c.add(24 * time.Hour)
	if _, out := apc.Pay(sys, apc.PayRequest{Link: r.LinkID, Payer: "999"}); out != apc.PayExpired {
		t.Fatalf("pay expired: %v", out)
	}
	if _, out := apc.Pay(sys, apc.PayRequest{Link: "zzzzzz", Payer: "999"}); out != apc.PayNotFound {
		t.Fatalf("pay unknown: %v", out)
	}

	tot, bal := balances(sys)
	if bal["pcp_a"].Available != 90*usdt || bal["pcp_a"].Referral != 6*usdt || bal["pcp_b"].Available != 59*usdt {
		t.Fatalf("balances %+v", bal)
	}
	if tot.Partners+tot.Users+tot.FeeAccount+tot.Held != tot.Deposited || tot.Deposited != 155*usdt {
		t.Fatalf("totals %+v", tot)
	}
	if err := sys.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	sys = start(t, dir, c)
	if tot2, bal2 := balances(sys); tot2 != tot || fmt.Sprint(bal2) != fmt.Sprint(bal) {
		t.Fatalf("after a restart: %+v %+v", tot2, bal2)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(verify.Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.ByType["paychat.payment_paid"] != 2 {
		t.Fatalf("verify: ok %v, %d violations %v, events %v", rep.OK, rep.ViolationCount, rep.Violations, rep.ByType)
	}
}

// TestHotPartnerAndRacingPayers: concurrent withdrawals from one partner
// never overdraw it (exactly what the balance covers succeeds), and
// payers racing for one link complete it once.
func TestHotPartnerAndRacingPayers(t *testing.T) {
	dir := t.TempDir()
	c := &clock{}
	c.ms.Store(1_700_000_000_000)
	sys := start(t, dir, c)
	apc.Register(sys, partner("pcp_h", "1"))
	apc.Deposit(sys, pc.Deposit{TxHash: "tx_h", Amount: 50 * usdt, Partner: "pcp_h"})
	var ok, short atomic.Int64
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := pc.Withdrawal{ID: fmt.Sprintf("wd_%d", i), User: fmt.Sprint(100 + i%7), Amount: 1 * usdt, CreatedMs: 1}
			switch r := apc.Withdraw(sys, auth("pcp_h"), w, pc.Notice{}, answer("", "{}")); r.Status {
			case actors.StatusOK:
				ok.Add(1)
			case actors.StatusInsufficient:
				short.Add(1)
			default:
				t.Errorf("withdrawal %d: %+v", i, r)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 || short.Load() != 30 {
		t.Fatalf("%d withdrawals went through, %d refused; want 50 and 30", ok.Load(), short.Load())
	}
	p := createLink(t, sys, "pcp_h", 3*usdt, c.ms.Load())
	var won atomic.Int64
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, out := apc.Pay(sys, apc.PayRequest{Link: p.LinkID, Payer: fmt.Sprint(500 + i), Fund: true, FundTx: fmt.Sprint("fund_", i)})
			switch out {
			case apc.PayCompleted:
				won.Add(1)
			case apc.PayAlreadyPaid:
			default:
				t.Errorf("payer %d: %v", i, out)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d payers completed the link", won.Load())
	}
	tot, bal := balances(sys)
	if bal["pcp_h"].Available != 3*usdt || tot.Partners+tot.Users+tot.FeeAccount+tot.Held != tot.Deposited {
		t.Fatalf("balances %+v totals %+v", bal, tot)
	}
	if err := sys.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(verify.Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep.Violations)
	}
}

// TestFeesAndWebhook: a fee schedule charges withdrawals (on top) and
// payments (out of the amount), with the holdings discount; the test
// webhook is enqueued only with a URL.
func TestFeesAndWebhook(t *testing.T) {
	c := &clock{}
	c.ms.Store(1_700_000_000_000)
	sys := start(t, t.TempDir(), c)
	defer sys.Stop()
	apc.Register(sys, partner("pcp_f", "5"))
	apc.Deposit(sys, pc.Deposit{TxHash: "tx_f", Amount: 20 * usdt, Partner: "pcp_f"})
	if err := apc.SetFeeSchedule(sys, pc.FeeSchedule{Payment: pc.FeeRule{Bps: 100}, Tiers: []pc.FeeTier{{MinHoldings: 1000 * usdt, DiscountBps: 10_000}}}); err != nil {
		t.Fatal(err)
	}
	if err := apc.SetFeeSchedule(sys, pc.FeeSchedule{Payment: pc.FeeRule{Bps: -1}}); err == nil {
		t.Fatal("a bad schedule is accepted")
	}
	p := createLink(t, sys, "pcp_f", 10*usdt, c.ms.Load())
	if got, out := apc.Pay(sys, apc.PayRequest{Link: p.LinkID, Payer: "6", Fund: true, FundTx: "fund_f"}); out != apc.PayCompleted || got.Fee != 100_000 {
		t.Fatalf("pay with a fee: %+v %v", got, out)
	}
	_, bal := balances(sys)
	if bal["pcp_f"].Available != 20*usdt+10*usdt-100_000 {
		t.Fatalf("balance %+v", bal["pcp_f"])
	}
	if err := apc.TestWebhook(sys, "pcp_f", pc.Notice{ID: "evt_t", Type: pc.EventTest, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if r := apc.SetWebhook(sys, auth("pcp_f"), "https://shop.test/hook"); r.Status != actors.StatusOK {
		t.Fatalf("set webhook: %+v", r)
	}
	if err := apc.TestWebhook(sys, "pcp_f", pc.Notice{ID: "evt_t2", Type: pc.EventTest, Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	var n int
	sys.ReadState(func(st *engine.State) {
		p, _ := pc.GetPartner(st, "pcp_f")
		if p.WebhookURL != "https://shop.test/hook" {
			t.Errorf("webhook %q", p.WebhookURL)
		}
		n = len(pc.Of(st).Partners)
	})
	if n != 1 || userBalance(sys, "6") != 0 {
		t.Fatalf("partners %d, payer balance %d", n, userBalance(sys, "6"))
	}
}

// TestLinkIDTaken: a payment link is created without an actor (Op.Fresh);
// a draw whose link id is taken is refused before anything is written and
// CreatePayment draws again, leaving the first link as it was.
func TestLinkIDTaken(t *testing.T) {
	c := &clock{}
	c.ms.Store(1_700_000_000_000)
	sys := start(t, t.TempDir(), c)
	defer sys.Stop()
	apc.Register(sys, partner("pcp_a", "111"))
	first := createLink(t, sys, "pcp_a", 5*usdt, c.ms.Load())
	before := sys.Stats()
	draws := 0
	r, err := apc.CreatePayment(sys, auth("pcp_a"), func() (pc.Payment, pc.Answer) {
		draws++
		link := first.LinkID // the first draw collides
		if draws > 1 {
			link = "lfresh"
		}
		p := pc.Payment{ID: fmt.Sprintf("pay_d%d", draws), LinkID: link, Partner: "pcp_a", Amount: 7 * usdt,
			Status: pc.StatusPending, CreatedMs: c.ms.Load(), ExpiresMs: c.ms.Load() + pc.PaymentLifetime}
		return p, answer("k1", `{"id":"`+p.ID+`"}`)
	})
	if err != nil || r.Status != actors.StatusOK || string(r.Body) != `{"id":"pay_d2"}` || draws != 2 {
		t.Fatalf("create over a taken link id: %+v %v after %d draws, want pay_d2 on the second", r, err, draws)
	}
	after := sys.Stats()
	if after.Refused != before.Refused+1 || after.Events != before.Events+1 {
		t.Fatalf("stats %+v → %+v: want one refusal and one event", before, after)
	}
	sys.ReadState(func(st *engine.State) {
		if p, ok := pc.PaymentByLink(st, first.LinkID); !ok || p.ID != first.ID || p.Amount != first.Amount {
			t.Errorf("the first link changed: %+v %v", p, ok)
		}
		if p, ok := pc.PaymentByLink(st, "lfresh"); !ok || p.ID != "pay_d2" {
			t.Errorf("the second draw: %+v %v", p, ok)
		}
	})
}
