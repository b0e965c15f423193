package wal

import (
	"fmt"
	"testing"
)

// BenchmarkAppend measures durable (fsynced) appends; one op is one batch.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{64, 512, 4096} {
		for _, batch := range []int{1, 64, 1024} {
			b.Run(fmt.Sprintf("payload=%d/batch=%d", size, batch), func(b *testing.B) {
				benchAppend(b, size, batch)
			})
		}
	}
}

func benchAppend(b *testing.B, size, batch int) {
	const truncateEvery = 256 << 20 // bound disk use of long runs
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payloads := make([][]byte, batch)
	for i := range payloads {
		payloads[i] = make([]byte, size)
	}
	b.SetBytes(int64(size * batch))
	written := 0
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Append(payloads...); err != nil {
			b.Fatal(err)
		}
		if written += size * batch; written > truncateEvery {
			b.StopTimer()
			if err := l.TruncateFront(l.LastIndex()); err != nil {
				b.Fatal(err)
			}
			written = 0
			b.StartTimer()
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
}
