package checkout

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"ledgerd/engine"
)

// TestCaptureInSteps: a capture of the checkout section copied in steps of
// 1, 7 or 100 payments, while payments are created, declined, completed,
// expired and refunded between the steps (some before the copy reaches
// them, some after), encodes to exactly the snapshot taken at its start.
func TestCaptureInSteps(t *testing.T) {
	for _, step := range []int{1, 7, 100} {
		r := rand.New(rand.NewPCG(uint64(step), 5))
		st := engine.NewState()
		apply := func(ev engine.Event) {
			t.Helper()
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("%T: %v", ev, err)
			}
			st.Apply(ev)
		}
		owners := []Owner{{Shop: "shop_a"}, {Shop: "shop_a", Live: true}, {Shop: "shop_b"}}
		for _, id := range []string{"shop_a", "shop_b"} {
			apply(&ShopCreated{Stamp: engine.Stamp{TimeMs: 1}, Shop: Shop{ID: id, Name: "S", AccentColor: "#000000", CreatedMs: 1}})
		}
		now, n := int64(1_000), 0
		var ids []string
		created := func() engine.Event {
			n++
			o := owners[r.IntN(len(owners))]
			id := fmt.Sprintf("pay_%05d", n)
			ids = append(ids, id)
			return &PaymentCreated{Stamp: engine.Stamp{TimeMs: now}, Payment: Payment{Owner: o, ID: id, Amount: 100, Currency: "usd",
				ReturnURL: "http://127.0.0.1:9/r", Token: "tok_" + strings.Repeat("a", 40) + id, Status: StatusPending,
				CreatedMs: now, ExpiresMs: now + 1 + r.Int64N(3_000)}}
		}
		create := func() { apply(created()) }
		change := func(step int) {
			p := Of(st).Payments[ids[r.IntN(len(ids))]]
			notice := Notice{ID: fmt.Sprintf("evt_%d", step), Body: []byte("{}")}
			switch {
			case p.Status == StatusCompleted && r.IntN(2) == 0:
				notice.Type = EventPaymentRefunded
				apply(&PaymentRefunded{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Amount: 10,
					AmountRefundedAfter: p.AmountRefunded + 10, Notice: notice})
			case p.Status != StatusPending:
			case now >= p.ExpiresMs:
				notice.Type = EventPaymentFailed
				apply(&PaymentExpired{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Notice: notice})
			case r.IntN(2) == 0:
				notice.Type = EventPaymentCompleted
				apply(&PaymentCompleted{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, CardBrand: "visa", CardLast4: "4242", Notice: notice})
			default:
				apply(&PaymentDeclined{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Attempt: p.Attempts + 1, DeclineCode: "generic_decline"})
			}
		}
		for i := range 400 {
			now += r.Int64N(50)
			if i%3 == 0 {
				create()
			} else {
				change(i)
			}
		}
		want, err := st.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := st.CaptureStart()
		done := false
		for i := range 600 {
			now += r.Int64N(50)
			var ev engine.Event
			p := Of(st).Payments[ids[r.IntN(len(ids))]]
			if i%4 == 0 {
				ev = created() // in no list the copy took
			} else if p.Status == StatusPending && now < p.ExpiresMs {
				ev = &PaymentDeclined{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Attempt: p.Attempts + 1, DeclineCode: "generic_decline"}
				if p.Attempts+1 == MaxAttempts {
					ev.(*PaymentDeclined).Notice = Notice{ID: fmt.Sprintf("evt_x%d", i), Type: EventPaymentFailed, Body: []byte("{}")}
				}
			} else if p.Status == StatusPending {
				ev = &PaymentExpired{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Notice: Notice{ID: fmt.Sprintf("evt_x%d", i), Type: EventPaymentFailed, Body: []byte("{}")}}
			} else if p.Status == StatusCompleted {
				ev = &PaymentRefunded{Stamp: engine.Stamp{TimeMs: now}, Owner: p.Owner, ID: p.ID, Amount: 5, AmountRefundedAfter: p.AmountRefunded + 5,
					Notice: Notice{ID: fmt.Sprintf("evt_x%d", i), Type: EventPaymentRefunded, Body: []byte("{}")}}
			} else {
				continue
			}
			if !done {
				if err := c.BeforeApply(st, ev); err != nil {
					t.Fatal(err)
				}
			}
			apply(ev)
			if !done {
				if done, err = c.Step(st, step); err != nil {
					t.Fatal(err)
				}
			}
		}
		for !done {
			if done, err = c.Step(st, step); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := c.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("step %d: capture copied in steps differs (%v)", step, err)
		}
	}
}
