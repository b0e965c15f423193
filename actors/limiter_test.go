package actors

import (
	"testing"
	"time"

	"ledgerd/engine"
)

// TestWindowTakeReportsRemainingAndReset: the exact window reports how
// many requests remain and when the oldest leaves, before and after it
// fills, and a refusal does not count.
func TestWindowTakeReportsRemainingAndReset(t *testing.T) {
	var w Window
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		d := w.Take(t0.Add(time.Duration(i)*time.Second), 3)
		if !d.Allowed || d.Limit != 3 || d.Remaining != int64(2-i) || d.ResetUnix != 1060 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := w.Take(t0.Add(10*time.Second), 3)
	if d.Allowed || d.Remaining != 0 || d.RetryAfterSec != 50 || d.ResetUnix != 1060 {
		t.Fatalf("the 4th: %+v, want refused, 0 remaining, retry 50 s, reset 1060", d)
	}
	// At 1060.5 the first has left: one slot, and the oldest live is at 1001.
	d = w.Take(t0.Add(60*time.Second+500*time.Millisecond), 3)
	if !d.Allowed || d.Remaining != 0 || d.ResetUnix != 1061 {
		t.Fatalf("after the first left: %+v", d)
	}
	// Two minutes later nothing is in the window.
	d = w.Take(t0.Add(200*time.Second), 3)
	if !d.Allowed || d.Remaining != 2 || d.ResetUnix != 1260 {
		t.Fatalf("empty window: %+v", d)
	}
}

// TestWindowTakeCounted: above the exact limit the window counts per
// second and reports the same fields.
func TestWindowTakeCounted(t *testing.T) {
	var w Window
	t0 := time.Unix(5000, 0)
	const limit = exactLimitMax + 2
	for i := range limit {
		d := w.Take(t0, limit)
		if !d.Allowed || d.Remaining != int64(limit-1-i) || d.ResetUnix != 5060 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	if d := w.Take(t0.Add(time.Second), limit); d.Allowed || d.Remaining != 0 || d.RetryAfterSec != 59 {
		t.Fatalf("over the limit: %+v", d)
	}
}

// TestRateClassesAreSeparate: one key's classes have their own windows
// and limits, through the System; a refusal in one leaves the other open.
func TestRateClassesAreSeparate(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	hash := engine.HashKey([]byte("k"))
	do := func(class uint8, limit int64) *Op {
		op := NewOp()
		op.Kind, op.KeyHash, op.RateClass, op.RateLimit = KindNone, hash, class, limit
		s.Do(op)
		return op
	}
	for i := range 2 {
		if op := do(1, 2); op.Status != StatusOK || op.Rate.Remaining != int64(1-i) || op.Rate.Limit != 2 {
			t.Fatalf("class 1 request %d: status %d rate %+v", i, op.Status, op.Rate)
		}
	}
	if op := do(1, 2); op.Status != StatusRateLimited || op.RetryAfterSec != 60 {
		t.Fatalf("class 1 over its limit: status %d retry %d", op.Status, op.RetryAfterSec)
	}
	if op := do(2, 5); op.Status != StatusOK || op.Rate.Remaining != 4 || op.Rate.Limit != 5 {
		t.Fatalf("class 2 after class 1 filled: status %d rate %+v", op.Status, op.Rate)
	}
	if op := do(MaxRateClasses, 5); op.Status != StatusOverloaded {
		t.Fatalf("a class out of range: status %d", op.Status)
	}
}

// TestAuthenticate: the shared key → partner → API check tells a missing
// key, an unknown one, another API's and an inactive partner's apart.
func TestAuthenticate(t *testing.T) {
	clock := newCardsClock()
	s := startCards(t, t.TempDir(), clock)
	defer s.Stop()
	if _, err := s.CreatePartner("ps", "payshards", "PS", 60, testKey("ps")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreatePartner("pp", "paypay", "PP", 60, testKey("pp")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, key, api string
		want           AuthResult
		partner        string
	}{
		{"missing", "", "payshards", AuthMissing, ""},
		{"unknown", "secret-nobody", "payshards", AuthUnknown, ""},
		{"other API's key", "secret-pp", "payshards", AuthUnknown, ""},
		{"ok", "secret-ps", "payshards", AuthOK, "ps"},
		{"ok other API", "secret-pp", "paypay", AuthOK, "pp"},
	}
	for _, c := range cases {
		p, hash, res := s.Authenticate([]byte(c.key), c.api)
		if res != c.want || (c.partner != "" && (p == nil || p.ID != c.partner)) {
			t.Errorf("%s: result %d partner %v, want %d %q", c.name, res, p, c.want, c.partner)
		}
		if c.key != "" && hash != engine.HashKey([]byte(c.key)) {
			t.Errorf("%s: hash of another key", c.name)
		}
	}
	if _, err := s.SetPartnerStatus("ps", engine.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if p, _, res := s.Authenticate([]byte("secret-ps"), "payshards"); res != AuthInactive || p == nil || p.ID != "ps" {
		t.Fatalf("inactive partner: %d %v", res, p)
	}
}
