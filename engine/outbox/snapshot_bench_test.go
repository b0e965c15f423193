package outbox_test

import (
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// BenchmarkCaptureStart is the committer's pause when a snapshot starts,
// with 200,000 deliveries in the outbox: the section is copied in steps
// (512 per Step, between batches), so the start takes only the list.
func BenchmarkCaptureStart(b *testing.B) {
	st := engine.NewState()
	for i := range 200_000 {
		outbox.Enqueue(st, delivery(i, []byte(`{"id":"evt"}`)))
	}
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			st.CaptureStart()
		}
	})
	b.Run("step", func(b *testing.B) {
		c := st.CaptureStart()
		for b.Loop() {
			if done, err := c.Step(st, 512); err != nil {
				b.Fatal(err)
			} else if done {
				c = st.CaptureStart()
			}
		}
	})
}
