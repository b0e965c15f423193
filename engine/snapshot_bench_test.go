package engine

import (
	"strconv"
	"testing"
)

// benchState builds a state with n wallets, each with a deduct reference.
func benchState(n int) *State {
	s := NewState()
	h := HashKey([]byte("k"))
	s.Apply(&Event{Type: EvPartnerCreated, Partner: "p", API: "payshards", Name: "n", RateLimit: 1, KeyID: "k", KeyHash: h[:]})
	for i := range n {
		u := "user_" + strconv.Itoa(i)
		s.Apply(&Event{Type: EvCredited, TimeMs: int64(i), User: u, Reference: "c" + u, Amount: 1000, Balance: 1000})
		s.Apply(&Event{Type: EvDeducted, TimeMs: int64(i), Partner: "p", User: u, Reference: "d" + u, Amount: 10, Balance: 990})
	}
	return s
}

func BenchmarkSnapshot(b *testing.B) {
	s := benchState(200_000)
	data, err := s.EncodeSnapshot()
	if err != nil {
		b.Fatal(err)
	}
	entries := float64(len(s.Wallets) + len(s.Idem))
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
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			if _, err := DecodeSnapshot(data); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(entries*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
