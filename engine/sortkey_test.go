package engine_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"ledgerd/engine"
)

type sortItem struct {
	key     string
	payload [12]int64 // an element as wide as a snapshot entry
}

// randomKeys draws n unique keys: empty, short, sharing prefixes longer
// than 8 bytes, with zero and high bytes, so heads tie and differ.
func randomKeys(r *rand.Rand, n int) []sortItem {
	seen := map[string]bool{}
	var out []sortItem
	for len(out) < n {
		var b []byte
		switch r.IntN(4) {
		case 0:
			b = []byte("PP-ABCDEFGH-")
		case 1:
			b = []byte("pay_")
		}
		for range r.IntN(12) {
			b = append(b, []byte{0, 'A', 'B', 'z', 0xff, 0x80}[r.IntN(6)])
		}
		if k := string(b); !seen[k] {
			seen[k] = true
			out = append(out, sortItem{key: k, payload: [12]int64{int64(len(out))}})
		}
	}
	return out
}

func TestSortByKeyMatchesSortFunc(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 7))
		items := randomKeys(r, r.IntN(300))
		want := slices.Clone(items)
		slices.SortFunc(want, func(a, b sortItem) int { return cmp.Compare(a.key, b.key) })
		engine.SortByKey(items, func(it *sortItem) string { return it.key })
		if !slices.Equal(items, want) {
			t.Fatalf("seed %d: got %q, want %q", seed, keysOf(items), keysOf(want))
		}
	}
}

func keysOf(items []sortItem) []string {
	out := make([]string, len(items))
	for i := range items {
		out[i] = items[i].key
	}
	return out
}

// BenchmarkSortByKey sorts 600,000 redeem-code-like keys on 112-byte
// entries, as the PayPay section does at each snapshot of the
// paypay-redeem benchmark, against slices.SortFunc.
func BenchmarkSortByKey(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	items := make([]sortItem, 600_000)
	for i := range items {
		code := []byte("PP-")
		for j := range 12 {
			if j > 0 && j%4 == 0 {
				code = append(code, '-')
			}
			code = append(code, alphabet[r.IntN(len(alphabet))])
		}
		items[i].key = string(code)
	}
	for _, name := range []string{"SortByKey", "SortFunc"} {
		b.Run(name, func(b *testing.B) {
			s := slices.Clone(items)
			for b.Loop() {
				b.StopTimer()
				copy(s, items)
				b.StartTimer()
				if name == "SortFunc" {
					slices.SortFunc(s, func(a, b sortItem) int { return cmp.Compare(a.key, b.key) })
				} else {
					engine.SortByKey(s, func(it *sortItem) string { return it.key })
				}
			}
		})
	}
}
