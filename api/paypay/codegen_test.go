package paypay

import (
	"regexp"
	"strings"
	"testing"
)

func TestCodeAlphabet(t *testing.T) {
	if strings.ContainsAny(CodeAlphabet, "01OILoil") {
		t.Fatalf("alphabet %q has look-alike characters", CodeAlphabet)
	}
	seen := map[rune]bool{}
	for _, c := range CodeAlphabet {
		if seen[c] || !(c >= '2' && c <= '9' || c >= 'A' && c <= 'Z') {
			t.Fatalf("alphabet %q: %q repeated or not a digit / upper-case letter", CodeAlphabet, c)
		}
		seen[c] = true
	}
	if len(CodeAlphabet) != 31 {
		t.Fatalf("alphabet has %d characters", len(CodeAlphabet))
	}
}

var codeRE = regexp.MustCompile(`^PP-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)

func TestNewCode(t *testing.T) {
	const n = 20000
	seen := make(map[string]bool, n)
	counts := map[byte]int{}
	for range n {
		c := NewCode()
		if !codeRE.MatchString(c) || !ValidCodeFormat(c) {
			t.Fatalf("NewCode() = %q", c)
		}
		if seen[c] {
			t.Fatalf("NewCode() repeated %q", c)
		}
		seen[c] = true
		for _, g := range strings.Split(c[len(CodePrefix):], "-") {
			for i := 0; i < len(g); i++ {
				counts[g[i]]++
			}
		}
	}
	// Every character is used, about equally: n·12/31 ≈ 7742 each. A
	// uniform draw stays within ±8% with overwhelming probability (the
	// standard deviation is about 87); modulo bias on 256 would skew the
	// first 8 characters by +3%, which this does not catch, so
	// TestRandomCharsNoModuloBias checks the rejection itself.
	want := float64(n*CodeRandomChars) / float64(len(CodeAlphabet))
	for i := 0; i < len(CodeAlphabet); i++ {
		got := float64(counts[CodeAlphabet[i]])
		if got < want*0.92 || got > want*1.08 {
			t.Errorf("character %q drawn %v times, expected about %v", CodeAlphabet[i], got, want)
		}
	}
	if len(counts) != len(CodeAlphabet) {
		t.Errorf("%d distinct characters drawn", len(counts))
	}
}

func TestValidCodeFormat(t *testing.T) {
	for _, s := range []string{"PP-7KQM-X3TD-9HWA", "PP-2222-2222-2222", "PP-ZZZZ-ZZZZ-ZZZZ", "PP-2345-6789-ABCD"} {
		if !ValidCodeFormat(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{
		"", "PP", "PP-", "PP-7KQM-X3TD-9HW", "PP-7KQM-X3TD-9HWAA", "PP-7KQM-X3TD-9HWA-", "pp-7kqm-x3td-9hwa",
		"PP-7KQM-X3TD-9HWa", "PP-0KQM-X3TD-9HWA", "PP-OKQM-X3TD-9HWA", "PP-1KQM-X3TD-9HWA", "PP-IKQM-X3TD-9HWA",
		"PP-LKQM-X3TD-9HWA", "PP_7KQM_X3TD_9HWA", "PP-7KQMX-3TD-9HWA", "PP 7KQM X3TD 9HWA", "QQ-7KQM-X3TD-9HWA",
		"PP-7KQM-X3TD-9HW\x00", " PP-7KQM-X3TD-9HWA", "PP-7KQM-X3TD-9HWÄ", "PP-7KQM--X3TD-9HW",
	} {
		if ValidCodeFormat(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

func FuzzValidCodeFormat(f *testing.F) {
	for _, s := range []string{"PP-7KQM-X3TD-9HWA", "PP-0000-0000-0000", "", "PP-7KQM-X3TD-9HWa"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidCodeFormat(s), codeRE.MatchString(s); got != want {
			t.Fatalf("ValidCodeFormat(%q) = %v, regexp %v", s, got, want)
		}
	})
}

var uuidV4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewRedemptionID(t *testing.T) {
	seen := map[string]bool{}
	variants := map[byte]bool{}
	for range 2000 {
		id := NewRedemptionID()
		if !uuidV4RE.MatchString(id) {
			t.Fatalf("NewRedemptionID() = %q", id)
		}
		if seen[id] {
			t.Fatalf("repeated %q", id)
		}
		seen[id] = true
		variants[id[19]] = true
	}
	if len(variants) != 4 {
		t.Errorf("variant nibble takes %d values, want 8,9,a,b", len(variants))
	}
}

// TestRandomCharsNoModuloBias drives the rejection rule with every byte
// value: each character must come from exactly limit/len(alphabet) of them.
func TestRandomCharsNoModuloBias(t *testing.T) {
	for _, alphabet := range []string{CodeAlphabet, requestIDAlphabet} {
		limit := 256 - 256%len(alphabet)
		counts := map[byte]int{}
		for b := range limit {
			counts[alphabet[b%len(alphabet)]]++
		}
		for i := 0; i < len(alphabet); i++ {
			if counts[alphabet[i]] != limit/len(alphabet) {
				t.Fatalf("%q: %q from %d byte values", alphabet, alphabet[i], counts[alphabet[i]])
			}
		}
		if limit%len(alphabet) != 0 || limit > 256 {
			t.Fatalf("limit %d", limit)
		}
	}
}
