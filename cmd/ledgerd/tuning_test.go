package main

import (
	"io"
	"runtime/debug"
	"testing"

	"ledgerd/actors"
	"ledgerd/wal"
)

// TestTuneGC: without GOGC and GOMEMLIMIT the flag's target and half the
// machine's memory are set; with them in the environment nothing changes.
func TestTuneGC(t *testing.T) {
	oldPercent, oldLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1)
	defer func() { debug.SetGCPercent(oldPercent); debug.SetMemoryLimit(oldLimit) }()

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	tuneGC(400)
	if got := debug.SetGCPercent(100); got != 400 {
		t.Fatalf("GC percent %d, want 400", got)
	}
	if got := debug.SetMemoryLimit(oldLimit); got != actors.HalfMachineMemory() {
		t.Fatalf("memory limit %d, want half the machine (%d)", got, actors.HalfMachineMemory())
	}

	t.Setenv("GOGC", "50")
	t.Setenv("GOMEMLIMIT", "1GiB")
	tuneGC(400)
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("GC percent %d with GOGC set, want it left at 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != oldLimit {
		t.Fatalf("memory limit %d with GOMEMLIMIT set, want it left at %d", got, oldLimit)
	}
}

// TestWALSegmentFlag: the default is wal's, a size below the minimum is
// refused.
func TestWALSegmentFlag(t *testing.T) {
	if o, err := parseFlags(nil, io.Discard); err != nil || o.walSegment != wal.DefaultSegmentSize || o.gcPercent != defaultGCPercent {
		t.Fatalf("defaults: %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"--wal-segment-size", "65536"}, io.Discard); err != nil || o.walSegment != 65536 {
		t.Fatalf("--wal-segment-size 65536: %d, %v", o.walSegment, err)
	}
	if _, err := parseFlags([]string{"--wal-segment-size", "100"}, io.Discard); err == nil {
		t.Fatal("--wal-segment-size 100 accepted")
	}
}
