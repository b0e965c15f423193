package httpx

import (
	"strings"
	"testing"
)

// TestRandomString: the prefix, then n characters of the alphabet; over
// many draws every character turns up about equally often, and no two long
// strings repeat. Folding every byte in by modulo would draw the first
// 256 % len characters 5/4 (62 characters) or 8/7 (36) as often as the
// others.
func TestRandomString(t *testing.T) {
	for _, n := range []int{0, 1, 6, 24, 60, 200} {
		s := RandomString("pay_", Alphabet62, n)
		if !strings.HasPrefix(s, "pay_") || len(s) != 4+n {
			t.Fatalf("n=%d: %q", n, s)
		}
		if i := strings.IndexFunc(s[4:], func(r rune) bool { return !strings.ContainsRune(Alphabet62, r) }); i >= 0 {
			t.Fatalf("n=%d: %q has a character outside the alphabet", n, s)
		}
	}
	for _, alphabet := range []string{Alphabet62, Alphabet36} {
		counts := map[byte]int{}
		const draws = 5000
		seen := map[string]bool{}
		for range draws {
			s := RandomString("", alphabet, 62)
			if seen[s] {
				t.Fatalf("%q drawn twice", s)
			}
			seen[s] = true
			for i := range len(s) {
				counts[s[i]]++
			}
		}
		mean := float64(draws*62) / float64(len(alphabet))
		for i := range len(alphabet) {
			// 310,000 characters: a count's standard deviation is about
			// 70 around a mean of 5,000 (62) and 91 around 8,611 (36), so
			// 10 % of the mean is 7 or more deviations (never by chance),
			// and the bias above is 25 % or 14 %.
			if c := float64(counts[alphabet[i]]); c < mean*0.9 || c > mean*1.1 {
				t.Fatalf("alphabet %q: %q drawn %v times, mean %v", alphabet, alphabet[i], c, mean)
			}
		}
	}
}

func BenchmarkRandomString(b *testing.B) {
	for b.Loop() {
		_ = RandomString("pay_", Alphabet62, 24)
	}
}
