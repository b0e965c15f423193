package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestNewLogIsEmpty(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "wal")
	for range 2 { // fresh, then reopened
		l, _ := openTest(t, dir, 0)
		if l.FirstIndex() != 0 || l.LastIndex() != 0 || l.NextIndex() != 1 {
			t.Fatalf("empty log: first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
		}
		checkReplay(t, l, 1, 0)
		if last, err := l.Append(); err != nil || last != 0 {
			t.Fatalf("empty Append: %d, %v", last, err)
		}
		mustClose(t, l)
	}
}

func TestAppendReplayAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 1024)
	for _, batch := range []int{1, 7, 64, 3} {
		appendN(t, l, 120, batch)
	}
	const n = 480
	if l.FirstIndex() != 1 || l.LastIndex() != n {
		t.Fatalf("first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	if segs, _ := listSegments(dir); len(segs) < 10 {
		t.Fatalf("want many segments, got %d", len(segs))
	}
	checkReplay(t, l, 1, n)
	checkReplay(t, l, 237, n)
	checkReplay(t, l, n+1, n)
	mustClose(t, l)

	l, _ = openTest(t, dir, 1024)
	defer mustClose(t, l)
	checkReplay(t, l, 1, n)
	appendN(t, l, 10, 4)
	checkReplay(t, l, n-5, n+10)
}

func TestReplayRange(t *testing.T) {
	l, _ := openTest(t, t.TempDir(), 512)
	defer mustClose(t, l)
	appendN(t, l, 50, 10)
	if err := l.Replay(0, nil); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Replay(0): %v", err)
	}
	if err := l.Replay(52, nil); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Replay(52): %v", err)
	}
	stop := errors.New("stop")
	count := 0
	err := l.Replay(10, func(uint64, []byte) error { count++; return stop })
	if err != stop || count != 1 {
		t.Fatalf("callback error not returned as is: %v, %d calls", err, count)
	}
}

func TestTruncateFront(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 1024)
	appendN(t, l, 300, 16)
	for _, noop := range []uint64{0, 1} {
		if err := l.TruncateFront(noop); err != nil || l.FirstIndex() != 1 {
			t.Fatalf("TruncateFront(%d): %v, first %d", noop, err, l.FirstIndex())
		}
	}
	if err := l.TruncateFront(200); err != nil {
		t.Fatal(err)
	}
	if l.FirstIndex() != 200 || l.LastIndex() != 300 {
		t.Fatalf("first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	if err := l.Replay(199, nil); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Replay before first: %v", err)
	}
	checkReplay(t, l, 200, 300)
	mustClose(t, l)

	l, _ = openTest(t, dir, 1024)
	if l.FirstIndex() != 200 || l.LastIndex() != 300 {
		t.Fatalf("after reopen first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	checkReplay(t, l, 200, 300)
	if err := l.TruncateFront(10_000); err != nil { // clamped: keep the last entry
		t.Fatal(err)
	}
	if l.FirstIndex() != 300 || l.LastIndex() != 300 {
		t.Fatalf("clamped: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	appendN(t, l, 5, 2)
	mustClose(t, l)

	l, _ = openTest(t, dir, 1024)
	defer mustClose(t, l)
	checkReplay(t, l, 300, 305)
}

// TestCycleMirror checks that the tail-size mirror used to decide when to
// fsync the directory tracks tidwall's real segment cycling.
func TestCycleMirror(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 700)
	defer mustClose(t, l)
	check := func() {
		t.Helper()
		fi, err := os.Stat(tailPath(t, dir))
		if err != nil {
			t.Fatal(err)
		}
		if int(fi.Size()) != l.tailSize {
			t.Fatalf("tail file %d bytes, mirror says %d", fi.Size(), l.tailSize)
		}
	}
	for i, batch := range []int{1, 2, 5, 1, 9, 30, 1, 1, 4, 17} {
		appendN(t, l, batch*3, batch)
		check()
		if i == 5 {
			if err := l.TruncateFront(l.LastIndex() - 3); err != nil {
				t.Fatal(err)
			}
			check()
		}
	}
}

func TestAppendErrors(t *testing.T) {
	l, _ := openTest(t, t.TempDir(), 0)
	if _, err := l.Append([]byte("a"), make([]byte, MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("too large: %v", err)
	}
	if last, err := l.Append([]byte("ok")); err != nil || last != 1 {
		t.Fatalf("append after rejected batch: %d, %v", last, err)
	}
	mustClose(t, l)
	if err := l.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("double Close: %v", err)
	}
	if _, err := l.Append([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := l.Replay(1, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Replay after Close: %v", err)
	}
	if err := l.TruncateFront(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("TruncateFront after Close: %v", err)
	}
	if err := l.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v", err)
	}
	if l.FirstIndex() != 0 || l.LastIndex() != 0 {
		t.Fatal("indices after Close should be 0")
	}
}

func TestAppendWithSync(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 256})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 20, 3)
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	l, _ = openTest(t, dir, 256)
	defer mustClose(t, l)
	checkReplay(t, l, 1, 20)
}

// TestConcurrentReplayAppend exercises the locking under -race.
func TestConcurrentReplayAppend(t *testing.T) {
	l, _ := openTest(t, t.TempDir(), 2048)
	defer mustClose(t, l)
	appendN(t, l, 50, 5)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); appendN(t, l, 200, 3) }()
	go func() {
		defer wg.Done()
		for range 20 {
			err := l.Replay(l.FirstIndex(), func(i uint64, p []byte) error {
				if !bytes.Equal(p, payloadFor(i)) {
					t.Errorf("payload mismatch at %d", i)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
			_ = l.TruncateFront(l.LastIndex() - 20)
		}
	}()
	wg.Wait()
	if l.LastIndex() != 250 {
		t.Fatalf("last %d", l.LastIndex())
	}
}

// TestDropBefore: entries before the index are gone at once, whole
// segments before it are deleted and none is rewritten, a reopened log
// starts at the first kept segment (its entries intact), and TruncateFront
// is refused until the reopen.
func TestDropBefore(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 1024)
	appendN(t, l, 300, 16)
	before, err := listSegments(dir)
	if err != nil || len(before) < 4 {
		t.Fatalf("want several segments to drop, have %d (%v)", len(before), err)
	}
	for _, noop := range []uint64{0, 1} {
		if err := l.DropBefore(noop); err != nil || l.FirstIndex() != 1 {
			t.Fatalf("DropBefore(%d): %v, first %d", noop, err, l.FirstIndex())
		}
	}
	// The segment holding 200 and every later one stay, byte for byte.
	var kept []segmentFile
	keptBytes := map[string][]byte{}
	for i, s := range before {
		if i+1 == len(before) || before[i+1].index > 200 {
			kept = append(kept, s)
			keptBytes[s.path] = readFile(t, s.path)
		}
	}
	if err := l.DropBefore(200); err != nil {
		t.Fatal(err)
	}
	if l.FirstIndex() != 200 || l.LastIndex() != 300 {
		t.Fatalf("first %d last %d, want 200 300", l.FirstIndex(), l.LastIndex())
	}
	if err := l.Replay(199, nil); !errors.Is(err, ErrOutOfRange) {
		t.Fatalf("Replay before first: %v", err)
	}
	checkReplay(t, l, 200, 300)
	after, _ := listSegments(dir)
	if len(after) != len(kept) {
		t.Fatalf("%d segments left, want %d", len(after), len(kept))
	}
	for i, s := range after {
		if s.path != kept[i].path || !bytes.Equal(readFile(t, s.path), keptBytes[s.path]) {
			t.Fatalf("segment %s changed or is not the one kept (%s)", s.path, kept[i].path)
		}
	}
	if err := l.TruncateFront(250); !errors.Is(err, ErrDropped) {
		t.Fatalf("TruncateFront after DropBefore: %v, want ErrDropped", err)
	}
	appendN(t, l, 20, 4)
	mustClose(t, l)

	l, _ = openTest(t, dir, 1024)
	if l.FirstIndex() != kept[0].index || kept[0].index > 200 || kept[0].index <= 1 {
		t.Fatalf("after reopen first %d, want the kept segment's %d", l.FirstIndex(), kept[0].index)
	}
	checkReplay(t, l, l.FirstIndex(), 320)
	if err := l.DropBefore(10_000); err != nil { // clamped: keep the last entry
		t.Fatal(err)
	}
	if l.FirstIndex() != 320 || l.LastIndex() != 320 {
		t.Fatalf("clamped: first %d last %d", l.FirstIndex(), l.LastIndex())
	}
	if segs, _ := listSegments(dir); len(segs) != 1 {
		t.Fatalf("%d segments after dropping all but the last entry, want the tail alone", len(segs))
	}
	appendN(t, l, 5, 2)
	mustClose(t, l)
	l, _ = openTest(t, dir, 1024)
	defer mustClose(t, l)
	checkReplay(t, l, l.FirstIndex(), 325)
	if l.FirstIndex() > 320 {
		t.Fatalf("reopened first %d lost entries kept", l.FirstIndex())
	}
}

// TestDropBeforeWhileAppending: appends and drops from two goroutines
// leave a log whose every readable entry is intact (run with -race).
func TestDropBeforeWhileAppending(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 2048)
	appendN(t, l, 50, 5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			if err := l.DropBefore(l.LastIndex() - 20); err != nil {
				t.Errorf("DropBefore: %v", err)
				return
			}
		}
	}()
	appendN(t, l, 2000, 7)
	<-done
	checkReplay(t, l, l.FirstIndex(), 2050)
	mustClose(t, l)
	l, _ = openTest(t, dir, 2048)
	defer mustClose(t, l)
	checkReplay(t, l, l.FirstIndex(), 2050)
}
