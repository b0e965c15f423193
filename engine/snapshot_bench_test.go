package engine_test

import (
	"strconv"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
)

// benchState builds a state with n wallets, each with a deduct reference.
func benchState(n int) *engine.State {
	s := engine.NewState()
	h := engine.HashKey([]byte("k"))
	s.Apply(&engine.PartnerCreated{Partner: "p", API: "payshards", Name: "n", RateLimit: 1, Key: engine.NewKeyRecord{ID: "k", Hash: h[:]}})
	for i := range n {
		u := "user_" + strconv.Itoa(i)
		s.Apply(&payshards.Credited{Stamp: at(int64(i)), User: u, Reference: "c" + u, Amount: 1000, BalanceAfter: 1000})
		s.Apply(&payshards.Deducted{Stamp: at(int64(i)), Partner: "p", User: u, Reference: "d" + u, Amount: 10, BalanceAfter: 990})
	}
	return s
}

func BenchmarkSnapshot(b *testing.B) {
	s := benchState(200_000)
	data, err := s.EncodeSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	entries := float64(len(payshards.Wallets(s)) + len(s.Idem))
	b.Run("encode", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.EncodeSnapshot(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(entries*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	// capture copies all at once; the committer pauses only for
	// capture-start and then copies records in steps between batches
	b.Run("capture", func(b *testing.B) {
		for b.Loop() {
			s.Capture()
		}
		b.ReportMetric(entries*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
	b.Run("capture-start", func(b *testing.B) {
		for b.Loop() {
			s.CaptureStart()
		}
	})
	// one step of a capture in steps: 512 records, then 512 wallets
	// (the committer's copyStep), the longest a capture holds it
	b.Run("step", func(b *testing.B) {
		c := s.CaptureStart()
		for b.Loop() {
			done, err := c.Step(s, 512)
			if err != nil {
				b.Fatal(err)
			}
			if done {
				c = s.CaptureStart()
			}
		}
	})
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := engine.DecodeSnapshot(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(entries*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
