package paysmart

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"ledgerd/engine"
)

// history makes random PaySmart events of every type, each valid for the
// state it is applied to.
type history struct {
	t      *testing.T
	r      *rand.Rand
	st     *engine.State
	now    int64
	n      int
	owners []Owner
}

func (h *history) id(prefix string) string { h.n++; return fmt.Sprintf("%s%05d", prefix, h.n) }

func (h *history) apply(ev engine.Event) {
	h.t.Helper()
	if err := engine.Validate(ev); err != nil {
		h.t.Fatalf("%T: %v", ev, err)
	}
	h.st.Apply(ev)
}

// pick is a random id of owner o's list l whose object ok accepts ("" if none).
func pick[T any](h *history, l []string, m map[string]*T, ok func(*T) bool) string {
	if len(l) == 0 {
		return ""
	}
	for range 8 {
		if id := l[h.r.IntN(len(l))]; ok(m[id]) {
			return id
		}
	}
	return ""
}

// event is the next random event (nil when the one drawn has nothing to act on).
func (h *history) event() engine.Event {
	h.now += h.r.Int64N(20)
	s := Of(h.st)
	o := h.owners[h.r.IntN(len(h.owners))]
	b := s.book(o)
	at := engine.Stamp{TimeMs: h.now}
	ntc := func(typ string) Notice { return notice(h.id("evt_"), typ) }
	switch h.r.IntN(10) {
	case 0:
		return &PaymentMethodCreated{Stamp: at, Method: method(o, h.id("pm_"))}
	case 1:
		return &CustomerCreated{Stamp: at, Customer: Customer{Owner: o, ID: h.id("cus_"), Email: "a@b.test", CreatedMs: h.now}, Notice: ntc(EventCustomerCreated)}
	case 2:
		if id := pick(h, b.Customers, s.Customers, func(c *Customer) bool { return !c.Deleted }); id != "" {
			if h.r.IntN(3) == 0 {
				return &CustomerDeleted{Stamp: at, Owner: o, ID: id}
			}
			return &CustomerUpdated{Stamp: at, Customer: Customer{Owner: o, ID: id, Name: h.id("n"), CreatedMs: s.Customers[id].CreatedMs}}
		}
	case 3, 4:
		pm := pick(h, b.Methods, s.Methods, func(*PaymentMethod) bool { return true })
		if pm == "" {
			return nil
		}
		status, typ := StatusSucceeded, EventPaymentSucceeded
		if h.r.IntN(4) == 0 {
			status, typ = StatusFailed, EventPaymentFailed
		}
		p := payment(o, h.id("pay_"), pm, 100+h.r.Int64N(900), status)
		p.Customer = pick(h, b.Customers, s.Customers, func(*Customer) bool { return true })
		return &PaymentCreated{Stamp: at, Payment: p, Notice: ntc(typ)}
	case 5:
		if id := pick(h, b.Payments, s.Payments, func(*Payment) bool { return true }); id != "" {
			return &PaymentUpdated{Stamp: at, Owner: o, ID: id, Description: h.id("d")}
		}
	case 6, 7:
		if id := pick(h, b.Payments, s.Payments, func(p *Payment) bool { return p.Status == StatusSucceeded && p.AmountRefunded < p.Amount }); id != "" {
			p := s.Payments[id]
			amt := min(p.Amount-p.AmountRefunded, 1+h.r.Int64N(300))
			return &RefundCreated{Stamp: at, Refund: Refund{Owner: o, ID: h.id("re_"), Payment: id, Amount: amt, Currency: p.Currency, CreatedMs: h.now},
				AmountRefundedAfter: p.AmountRefunded + amt, Notice: ntc(EventRefundCreated)}
		}
	case 8:
		id := pick(h, b.Endpoints, s.Endpoints, func(e *Endpoint) bool { return !e.Deleted })
		switch {
		case id == "" || h.r.IntN(3) == 0:
			return &EndpointCreated{Stamp: at, Endpoint: Endpoint{Owner: o, ID: h.id("we_"), URL: "https://a.test/h", Events: []string{AllEvents}, CreatedMs: h.now}}
		case h.r.IntN(4) == 0:
			return &EndpointDeleted{Stamp: at, Owner: o, ID: id}
		default:
			e := *s.Endpoints[id]
			e.Disabled = !e.Disabled
			return &EndpointUpdated{Stamp: at, Endpoint: e}
		}
	case 9:
		return &Refused{Stamp: at, Owner: o, Answer: Answer{Key: h.id("k"), Fingerprint: "f", Status: 400, Response: []byte(`{"error":{}}`)}}
	}
	return nil
}

// TestCaptureInSteps: a capture of the PaySmart section copied in steps of
// 1, 7 or 100 objects, while every kind of event (new objects, customers
// and endpoints updated and deleted, payments updated and refunded) is
// applied between the steps, to objects the copy has reached and ones it
// has not, encodes to exactly the snapshot taken at its start.
func TestCaptureInSteps(t *testing.T) {
	for _, step := range []int{1, 7, 100} {
		h := &history{t: t, r: rand.New(rand.NewPCG(uint64(step), 9)), st: engine.NewState(),
			owners: []Owner{test, live, {Account: "ptr_b"}}}
		for range 600 {
			if ev := h.event(); ev != nil {
				h.apply(ev)
			}
		}
		want, err := h.st.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := h.st.CaptureStart()
		done, steps := false, 0
		for range 1500 {
			ev := h.event()
			if ev == nil {
				continue
			}
			if !done {
				if err := c.BeforeApply(h.st, ev); err != nil {
					t.Fatal(err)
				}
			}
			h.apply(ev)
			if !done {
				steps++
				if done, err = c.Step(h.st, step); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step == 1 && steps < 300 {
			t.Fatalf("step 1: the copy lasted %d events: too few to meet objects it had not reached", steps)
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

// Without the pre-images the test above would fail: a payment refunded
// after the start and before the copy reached it is copied as it is now.
func TestCaptureInStepsNeedsPreImages(t *testing.T) {
	h := &history{t: t, r: rand.New(rand.NewPCG(1, 1)), st: engine.NewState(), owners: []Owner{test}}
	h.apply(&PaymentMethodCreated{Stamp: engine.Stamp{TimeMs: 1}, Method: method(test, "pm_1")})
	h.apply(&PaymentCreated{Stamp: engine.Stamp{TimeMs: 2}, Payment: payment(test, "pay_1", "pm_1", 500, StatusSucceeded)})
	c := copySteps(h.st).(*stepCopy)
	ev := &RefundCreated{Stamp: engine.Stamp{TimeMs: 3}, Refund: Refund{Owner: test, ID: "re_1", Payment: "pay_1", Amount: 5, Currency: "usd", CreatedMs: 3},
		AmountRefundedAfter: 5}
	c.Before(h.st, ev)
	h.apply(ev)
	c.Step(h.st, 100)
	if p := c.Value().([]bookCopy)[0].payments[0]; p.AmountRefunded != 0 {
		t.Fatalf("copied payment refunded %d, want its value at the start (0)", p.AmountRefunded)
	}
	c = copySteps(h.st).(*stepCopy)
	h.apply(&RefundCreated{Stamp: engine.Stamp{TimeMs: 4}, Refund: Refund{Owner: test, ID: "re_2", Payment: "pay_1", Amount: 5, Currency: "usd", CreatedMs: 4},
		AmountRefundedAfter: 10}) // no Before
	c.Step(h.st, 100)
	if p := c.Value().([]bookCopy)[0].payments[0]; p.AmountRefunded != 10 {
		t.Fatalf("without Before the copy holds %d, want the changed 10 (the test's premise)", p.AmountRefunded)
	}
}
