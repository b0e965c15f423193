package paychat

import (
	"fmt"
	"testing"

	"ledgerd/engine"
)

// BenchmarkCaptureStart is the committer's pause when a snapshot starts,
// with 100,000 users (each with a withdrawal in its inbox) and 100,000
// payment links: the big maps are copied in steps (512 per Step, between
// batches), so the start takes only the partners.
func BenchmarkCaptureStart(b *testing.B) {
	st := engine.NewState()
	st.Apply(&PartnerRegistered{Stamp: stamp(1), Partner: partner("pcp_a1", "111")})
	st.Apply(&DepositReceived{Stamp: stamp(2), Deposit: Deposit{TxHash: "seed", Amount: MaxAmount / 2, Partner: "pcp_a1", Status: DepositCredited, CreatedMs: 2}})
	for i := range 100_000 {
		st.Apply(&Withdrawn{Stamp: stamp(3), Withdrawal: Withdrawal{ID: fmt.Sprintf("wd_%d", i), Partner: "pcp_a1", User: fmt.Sprint(100_000 + i), Amount: 1, CreatedMs: 3}})
		st.Apply(&PaymentCreated{Stamp: stamp(4), Payment: link(fmt.Sprintf("pay_%d", i), fmt.Sprintf("l%05d", i), "pcp_a1", 1, 4)})
	}
	b.Run("start", func(b *testing.B) {
		for b.Loop() {
			c := st.CaptureStart()
			c.Step(st, 0)
		}
	})
}
