package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartTrace: --trace writes a runtime execution trace that go tool
// trace can read (it starts with the trace header), and a second start
// while one runs is refused without touching the first.
func TestStartTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.trace")
	stop, err := startTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := startTrace(filepath.Join(t.TempDir(), "second.trace")); err == nil {
		t.Fatal("a second trace started while one runs")
	}
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "go 1.") {
		t.Fatalf("trace file starts with %q, want the trace header", b[:min(len(b), 16)])
	}
	if _, err := startTrace(filepath.Join(t.TempDir(), "missing", "dir", "x.trace")); err == nil {
		t.Fatal("a trace into a missing directory started")
	}
}
