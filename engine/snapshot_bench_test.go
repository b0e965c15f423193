package engine_test

import (
	"bytes"
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
	entries := float64(len(payshards.Wallets(s)) + s.IdemLen())
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

// TestSnapshotChunks: a state whose idempotency section spans several
// 1-MiB chunks encodes to exactly the bytes of the plain one-buffer
// encoding (paced or not), in chunks none larger than 1 MiB, and decodes back to itself.
func TestSnapshotChunks(t *testing.T) {
	s := benchState(30_000)
	want, err := engine.SnapshotOneBuffer(s)
	if err != nil {
		t.Fatal(err)
	}
	chunks, err := s.Capture().EncodeChunks()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 2<<20 || len(chunks) < 3 {
		t.Fatalf("%d bytes in %d chunks: too small to span chunks", len(want), len(chunks))
	}
	var got []byte
	for i, c := range chunks {
		if len(c) == 0 || len(c) > 1<<20 {
			t.Fatalf("chunk %d has %d bytes", i, len(c))
		}
		got = append(got, c...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("chunked encoding differs from the one-buffer encoding (%d vs %d bytes)", len(got), len(want))
	}
	paced, err := s.Capture().EncodeChunksPaced()
	if err != nil || !bytes.Equal(bytes.Join(paced, nil), want) {
		t.Fatalf("the paced encoding differs from the one-buffer encoding (%v)", err)
	}
	joined, err := s.EncodeSnapshot()
	if err != nil || !bytes.Equal(joined, want) {
		t.Fatalf("EncodeSnapshot differs from the chunks joined (%v)", err)
	}
	back, err := engine.DecodeSnapshot(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.IdemLen() != s.IdemLen() || len(payshards.Wallets(back)) != len(payshards.Wallets(s)) {
		t.Fatalf("decoded %d records and %d wallets, want %d and %d", back.IdemLen(), len(payshards.Wallets(back)), s.IdemLen(), len(payshards.Wallets(s)))
	}
	again, err := back.EncodeSnapshot()
	if err != nil || !bytes.Equal(again, want) {
		t.Fatalf("decoded state re-encodes differently (%v)", err)
	}
}
