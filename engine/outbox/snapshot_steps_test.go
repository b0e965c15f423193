package outbox_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// TestCaptureInSteps: a capture of the outbox copied in steps of 1, 7 or
// 100 deliveries, while deliveries are enqueued, attempted (pending,
// succeeded, failed) and retried between the steps, some before the copy
// reaches them and some after, encodes to exactly the snapshot taken at
// its start.
func TestCaptureInSteps(t *testing.T) {
	for _, step := range []int{1, 7, 100} {
		r := rand.New(rand.NewPCG(uint64(step), 3))
		st := engine.NewState()
		n := 0
		enqueue := func() { outbox.Enqueue(st, delivery(n, []byte(`{"n":1}`))); n++ }
		now := int64(1_700_000_000_000)
		// event is an attempt or a retry of a random delivery (nil if it has none).
		event := func() engine.Event {
			now += r.Int64N(100)
			d := outbox.Of(st).Deliveries[delivery(r.IntN(n), nil).ID]
			switch d.Status {
			case outbox.StatusPending:
				ev := &outbox.DeliveryAttempted{Stamp: engine.Stamp{TimeMs: now}, ID: d.ID, Attempt: d.Attempts + 1, AtMs: now}
				switch r.IntN(3) {
				case 0:
					ev.Outcome, ev.HTTPStatus = outbox.StatusSucceeded, 200
				case 1:
					ev.Outcome, ev.HTTPStatus, ev.Error, ev.NextMs = outbox.StatusPending, 500, "status 500", now+1000
				default:
					ev.Outcome, ev.Error = outbox.StatusFailed, "refused"
				}
				return ev
			case outbox.StatusFailed:
				return &outbox.DeliveryRetried{Stamp: engine.Stamp{TimeMs: now}, ID: d.ID}
			}
			return nil
		}
		apply := func(ev engine.Event) {
			t.Helper()
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("%T: %v", ev, err)
			}
			st.Apply(ev)
		}
		for i := range 900 {
			if i%3 == 0 {
				enqueue()
			} else if ev := event(); ev != nil {
				apply(ev)
			}
		}
		want, err := st.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		c := st.CaptureStart()
		done, steps, changed := false, 0, 0
		for i := range 1500 {
			if i%4 == 0 {
				enqueue() // past the deliveries the copy took
				continue
			}
			ev := event()
			if ev == nil {
				continue
			}
			if !done {
				if err := c.BeforeApply(st, ev); err != nil {
					t.Fatal(err)
				}
				changed++
			}
			apply(ev)
			if !done {
				steps++
				if done, err = c.Step(st, step); err != nil {
					t.Fatal(err)
				}
			}
		}
		if step == 1 && changed < 200 {
			t.Fatalf("step 1: only %d changes met the unfinished copy", changed)
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
