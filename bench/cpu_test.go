package bench

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// a command name with a space and a parenthesis, utime 250, stime 50 ticks
	line := "4242 (led) gerd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 9 0 100 2000000 3000 18446744073709551615\n"
	got, err := parseProcStat(line)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{
		"",
		"4242 led S 1",           // no name in parentheses
		"4242 (ledgerd) S 1 2 3", // too few fields
		"4242 (ledgerd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 x 50 0",  // utime not a number
		"4242 (ledgerd) S 1 4242 4242 0 -1 4194560 1234 0 0 0 -5 50 0", // negative
	} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat(%q) accepted", bad)
		}
	}
}

// TestProcCPUMoves: this process's reading grows while it spins.
func TestProcCPUMoves(t *testing.T) {
	start, err := procCPU(0)
	if err != nil {
		t.Skip(err) // not Linux
	}
	deadline := time.Now().Add(10 * time.Second)
	x := 0
	for time.Now().Before(deadline) {
		for i := range 1_000_000 {
			x += i
		}
		if now, err := procCPU(0); err != nil {
			t.Fatal(err)
		} else if now > start {
			return
		}
	}
	t.Fatalf("CPU time stayed at %v for 10 s of spinning (%d)", start, x)
}
