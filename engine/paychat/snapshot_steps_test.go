package paychat

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"ledgerd/engine"
)

// history makes random PAYchat events of every type, each valid for the
// state it is applied to.
type history struct {
	t        *testing.T
	r        *rand.Rand
	st       *engine.State
	now      int64
	n        int
	partners []string
	users    []string
	links    []string
	held     []string
}

func (h *history) apply(ev engine.Event) {
	h.t.Helper()
	if err := engine.Validate(ev); err != nil {
		h.t.Fatalf("%T: %v", ev, err)
	}
	h.st.Apply(ev)
}

func (h *history) seq() int { h.n++; return h.n }

// event is the next random event (nil when the one drawn has nothing to act on).
func (h *history) event() engine.Event {
	h.now += 1 + h.r.Int64N(20)
	s := Of(h.st)
	at := engine.Stamp{TimeMs: h.now}
	pt := h.partners[h.r.IntN(len(h.partners))]
	user := func() string {
		if len(h.users) == 0 || h.r.IntN(4) == 0 {
			u := fmt.Sprint(100_000 + h.seq())
			h.users = append(h.users, u)
			return u
		}
		return h.users[h.r.IntN(len(h.users))]
	}
	switch h.r.IntN(11) {
	case 0:
		return &WebhookSet{Stamp: at, Partner: pt, URL: fmt.Sprintf("https://%d.test/hook", h.seq())}
	case 1:
		d := Deposit{TxHash: fmt.Sprintf("tx%d", h.seq()), Amount: 1 + h.r.Int64N(100*usdt), Status: DepositCredited, CreatedMs: h.now}
		switch h.r.IntN(3) {
		case 0:
			d.Partner = pt
		case 1:
			d.User = user()
		default:
			d.Status, d.Memo = DepositHeld, "partner_nobody"
			h.held = append(h.held, d.TxHash)
		}
		return &DepositReceived{Stamp: at, Deposit: d}
	case 2:
		if len(h.held) > 0 {
			tx := h.held[0]
			h.held = h.held[1:]
			return &DepositAssigned{Stamp: at, TxHash: tx, Partner: pt}
		}
	case 3:
		return &FeeScheduleSet{Stamp: at, Schedule: FeeSchedule{Withdrawal: FeeRule{Fixed: h.r.Int64N(10_000)}, Payment: FeeRule{Bps: h.r.Int64N(100)}}}
	case 4, 5:
		id := fmt.Sprintf("pay_%d", h.seq())
		l := fmt.Sprintf("l%05d", h.n)
		h.links = append(h.links, l)
		return &PaymentCreated{Stamp: at, Payment: link(id, l, pt, 1+h.r.Int64N(5*usdt), h.now)}
	case 6, 7:
		if len(h.links) == 0 || len(h.users) == 0 {
			return nil
		}
		l := h.links[h.r.IntN(len(h.links))]
		p := s.Payments[s.Links[l]]
		payer := h.users[h.r.IntN(len(h.users))]
		if u := s.Users[payer]; u == nil || u.Balance < p.Amount {
			return nil
		}
		return &PaymentPaid{Stamp: at, Link: l, Partner: p.Partner, Payer: payer, Amount: p.Amount, Fee: p.Amount / 100, PaidMs: h.now,
			Notice: notice(fmt.Sprintf("evt_%d", h.seq()), EventPaymentCompleted)}
	case 8, 9:
		amount, fee := 1+h.r.Int64N(usdt), h.r.Int64N(1000)
		if s.Books[pt].Balance < amount+fee {
			return nil
		}
		return &Withdrawn{Stamp: at, Withdrawal: Withdrawal{ID: fmt.Sprintf("wd_%d", h.seq()), Partner: pt, User: user(), Amount: amount, Fee: fee, CreatedMs: h.now},
			Notice: notice(fmt.Sprintf("evt_%d", h.n), EventWithdrawCompleted)}
	case 10:
		return &WebhookTested{Stamp: at, Partner: pt, Notice: notice(fmt.Sprintf("evt_%d", h.seq()), EventTest)}
	}
	return nil
}

// TestCaptureInSteps: a capture of the PAYchat section copied in steps of
// 1, 7 or 100 entries, while every kind of event (deposits to partners and
// users and held, assignments, payments created and paid, withdrawals to
// new and known users, webhooks and fee schedules) is applied between the
// steps, encodes to exactly the snapshot taken at its start.
func TestCaptureInSteps(t *testing.T) {
	for _, step := range []int{1, 7, 100} {
		h := &history{t: t, r: rand.New(rand.NewPCG(uint64(step), 11)), st: engine.NewState(), partners: []string{"pcp_a1", "pcp_b2", "pcp_c3"}}
		for i, id := range h.partners {
			h.apply(&PartnerRegistered{Stamp: engine.Stamp{TimeMs: 1}, Partner: partner(id, fmt.Sprint(111*(i+1)))})
			h.apply(&DepositReceived{Stamp: engine.Stamp{TimeMs: 2}, Deposit: Deposit{TxHash: "seed" + id, Amount: 10_000 * usdt, Partner: id, Status: DepositCredited, CreatedMs: 2}})
		}
		for range 900 {
			if ev := h.event(); ev != nil {
				h.apply(ev)
			}
		}
		want, err := h.st.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := h.st.CaptureStart()
		done, events := false, 0
		for range 2000 {
			ev := h.event()
			if ev == nil {
				continue
			}
			if !done {
				if err := c.BeforeApply(h.st, ev); err != nil {
					t.Fatal(err)
				}
				events++
			}
			h.apply(ev)
			if !done {
				if done, err = c.Step(h.st, step); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step == 1 && events < 500 {
			t.Fatalf("step 1: the copy met only %d events", events)
		}
		for !done {
			if done, err = c.Step(h.st, step); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := c.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("step %d: capture copied in steps differs (%v)", step, err)
		}
	}
}
