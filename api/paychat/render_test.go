package paychat

import (
	"math/rand/v2"
	"testing"
	"time"
)

// timestamp formats by hand what time.Format gives for the layout.
func TestTimestamp(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	cases := []int64{0, 1, 999, 1000, 86_399_999, 951_782_400_000 /* 2000-02-29 */, 253_402_300_799_999 /* 9999-12-31T23:59:59.999 */, 253_402_300_800_000, -1}
	for range 2000 {
		cases = append(cases, r.Int64N(4_102_444_800_000)) // up to 2100
	}
	for _, ms := range cases {
		if got, want := timestamp(ms), time.UnixMilli(ms).UTC().Format(timestampLayout); got != want {
			t.Fatalf("timestamp(%d) = %q, want %q", ms, got, want)
		}
	}
}
