package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A snapshot's bytes go to the disk in windows while it is written: each
// full window is started, and the one before it waited for, so at most two
// windows are ever dirty or in flight when the final fsync comes.
func TestWritebackWindows(t *testing.T) {
	var calls []string
	w := &writeback{syncRange: func(_ int, off, n int64, flags int) error {
		kind := "start"
		if flags&unix.SYNC_FILE_RANGE_WAIT_AFTER != 0 {
			kind = "wait"
		}
		calls = append(calls, fmt.Sprintf("%s %d+%d", kind, off/1024, n/1024))
		return nil
	}}
	const piece = writebackWindow / 2
	for range 7 { // 3.5 windows
		w.wrote(piece)
	}
	want := []string{"start 0+1024", "wait 0+1024", "start 1024+1024", "wait 1024+1024", "start 2048+1024"}
	if !slices.Equal(calls, want) {
		t.Fatalf("calls %q, want %q", calls, want)
	}
	// What is written past a full window joins it: [3 MiB, 6.5 MiB) is one.
	calls = nil
	w.wrote(3 * writebackWindow)
	if want := []string{"wait 2048+1024", "start 3072+3584"}; !slices.Equal(calls, want) {
		t.Fatalf("calls %q, want %q", calls, want)
	}
}

// A file system that refuses sync_file_range turns the writeback off; the
// snapshot is still written and fsynced whole.
func TestWritebackRefused(t *testing.T) {
	n := 0
	w := &writeback{syncRange: func(int, int64, int64, int) error { n++; return syscall.ESPIPE }}
	for range 5 {
		w.wrote(writebackWindow)
	}
	if n != 1 || !w.off {
		t.Fatalf("%d calls, off %v: want 1 and off", n, w.off)
	}
	r, pw, err := os.Pipe() // the real call on a pipe: ESPIPE
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer pw.Close()
	real := newWriteback(pw)
	real.wrote(writebackWindow)
	if !real.off {
		t.Fatal("sync_file_range on a pipe was accepted")
	}
}

// The real call on the snapshot's file system: accepted, and the file's
// bytes are the ones written.
func TestWritebackSnapshotBytes(t *testing.T) {
	dir := t.TempDir()
	chunks := make([][]byte, 5)
	for i := range chunks {
		chunks[i] = bytes.Repeat([]byte{byte('a' + i)}, writebackWindow*3/4)
	}
	f, err := os.Create(filepath.Join(dir, "f"))
	if err != nil {
		t.Fatal(err)
	}
	w := newWriteback(f)
	for _, c := range chunks {
		if _, err := f.Write(c); err != nil {
			t.Fatal(err)
		}
		w.wrote(len(c))
	}
	if w.off {
		t.Fatal("sync_file_range refused on a temp dir")
	}
	if w.prev == 0 || w.start != int64(4*len(chunks[0])) {
		t.Fatalf("windows prev %d start %d: none handed to the disk", w.prev, w.start)
	}
	if err := syncClose(f); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, bytes.Join(chunks, nil)) {
		t.Fatalf("file differs from what was written (err %v)", errors.Unwrap(err))
	}
}
