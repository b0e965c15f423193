package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestSummarizeGaps(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000) // a whole second
	var gaps []Gap
	for i := range 8 { // a throttle: 10-17 ms gaps ending at x.x89
		gaps = append(gaps, Gap{End: base.Add(time.Duration(i*100+89) * time.Millisecond), Len: time.Duration(10+i) * time.Millisecond})
	}
	gaps = append(gaps, Gap{End: base.Add(2_042 * time.Millisecond), Len: 3 * time.Millisecond}) // and one elsewhere
	r := SummarizeGaps(gaps, 2, time.Second)
	if r.Gaps != 9 || r.Longest != 17*time.Millisecond || r.P50 != 13*time.Millisecond || r.Stalled != 111*time.Millisecond {
		t.Fatalf("report %+v", r)
	}
	if r.PhaseMode < 84 || r.PhaseMode > 94 || r.PhaseShare < 8.0/9-1e-9 || r.PhaseShare > 8.0/9+1e-9 {
		t.Fatalf("phase %d share %.3f: want about 89 and 8/9", r.PhaseMode, r.PhaseShare)
	}
	if r := SummarizeGaps(nil, 2, time.Second); r.Gaps != 0 || r.PhaseMode != -1 {
		t.Fatalf("no gaps: %+v", r)
	}
}

// The probe runs, syncs, and says what it found; how many gaps a machine
// has is its business, not the test's.
func TestStallsCmd(t *testing.T) {
	var out, errb bytes.Buffer
	if code := StallsCmd([]string{"--duration", "300ms", "--spinners", "1", "--dir", t.TempDir()}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "1 spinners, 300ms:") || !strings.Contains(s, "fsync loop: ") || strings.Contains(s, "fsync loop: 0 syncs") {
		t.Fatalf("output %q", s)
	}
	out.Reset()
	if code := StallsCmd([]string{"--duration", "100ms", "--spinners", "1", "--fsync=false"}, &out, &errb); code != 0 || strings.Contains(out.String(), "fsync loop") {
		t.Fatalf("--fsync=false: exit %d, output %q", code, out.String())
	}
}
