package paysmart

import (
	"fmt"
	"testing"

	"ledgerd/engine"
)

// BenchmarkCopySteps is the committer's whole share of a snapshot of
// 100,000 payments, each with its payment method and event: the stepped
// copy from start to Value, in the committer's steps of 512.
func BenchmarkCopySteps(b *testing.B) {
	st := engine.NewState()
	o := Owner{Account: "acct_1"}
	for i := range 100_000 {
		m := method(o, fmt.Sprintf("pm_%d", i))
		st.Apply(&PaymentCreated{Stamp: stamp(int64(i)), Payment: payment(o, fmt.Sprintf("pay_%d", i), m.ID, 100, StatusSucceeded),
			Method: &m, Notice: notice(fmt.Sprintf("evt_%d", i), EventPaymentSucceeded)})
	}
	for b.Loop() {
		c := copySteps(st)
		for !c.Step(st, 512) {
		}
		if books := c.Value().([]bookCopy); len(books[0].payments) != 100_000 {
			b.Fatalf("%d payments copied", len(books[0].payments))
		}
	}
}
