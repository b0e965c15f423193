package wal

import (
	"path/filepath"
	"testing"
	"time"
)

// waitPrefilled waits until the prefill goroutine has nothing left to do
// (nothing being written, and not short of zeros), or fails after 10 s.
func waitPrefilled(t testing.TB, l *Log) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		settled := !l.pf.busy && (l.pf.off || !l.prefillShort())
		l.mu.Unlock()
		if settled {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("prefill did not settle in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// checkSegments checks the layout the prefill promises: every segment but
// the tail holds entries only; the tail holds l.tailSize bytes of entries
// followed by zeros only. It returns how many zero bytes follow the tail's
// entries.
func checkSegments(t *testing.T, l *Log) int {
	t.Helper()
	segs, err := listSegments(l.dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range segs[:len(segs)-1] {
		if _, _, err := scanEntries(readFile(t, s.path)); err != nil {
			t.Fatalf("segment %s: %v", filepath.Base(s.path), err)
		}
	}
	buf := readFile(t, segs[len(segs)-1].path)
	good, _, _ := scanEntries(buf)
	l.mu.Lock()
	tail := l.tailSize
	l.mu.Unlock()
	if good != tail {
		t.Fatalf("tail holds %d bytes of entries, mirror says %d", good, tail)
	}
	if !allZero(buf[good:]) {
		t.Fatalf("tail: bytes other than zeros after the last entry at %d", good)
	}
	return len(buf) - good
}

// TestPrefillLayout appends over several segments with the prefill on and
// checks after every batch that the zeros are ahead of the entries, never in
// them, and that a crash image (the files copied while the log is open) and
// the closed log both reopen with every entry.
func TestPrefillLayout(t *testing.T) {
	const seg = 64 << 10
	dir := t.TempDir()
	l, _ := openOpts(t, dir, Options{SegmentSize: seg, NoSync: true})
	margin, lead, _ := prefillSizes(seg)
	prefilled := 0
	for batch := 1; l.NextIndex() < 2000; batch = batch%13 + 1 {
		appendN(t, l, batch, batch)
		waitPrefilled(t, l)
		zeros := checkSegments(t, l)
		if zeros >= lead/2 {
			prefilled++
		}
		l.mu.Lock()
		if zeros > 0 && l.pf.end-l.tailSize != zeros {
			t.Fatalf("file ends %d past the entries, prefill says %d", zeros, l.pf.end-l.tailSize)
		}
		if short := l.pf.end < seg && l.pf.end-l.tailSize < lead/2+margin; short {
			t.Fatalf("settled short of zeros: end %d tail %d", l.pf.end, l.tailSize)
		}
		l.mu.Unlock()
	}
	if segs, _ := listSegments(dir); len(segs) < 4 {
		t.Fatalf("only %d segments", len(segs))
	}
	if prefilled == 0 {
		t.Fatal("the tail never had zeros ahead of it")
	}
	last := l.LastIndex()
	image := copyDir(t, dir)
	c, logs := openTest(t, image, seg)
	checkReplay(t, c, 1, last)
	if logs.String() != "" {
		t.Fatalf("reopening the crash image logged: %q", logs.String())
	}
	if zeros := checkSegments(t, c); zeros != 0 {
		t.Fatalf("%d zeros left after reopen", zeros)
	}
	mustClose(t, c)
	mustClose(t, l)
	if _, _, err := scanEntries(readFile(t, tailPath(t, dir))); err != nil {
		t.Fatalf("after Close the tail holds more than entries: %v", err)
	}
	l, _ = openOpts(t, dir, Options{SegmentSize: seg, NoSync: true})
	defer mustClose(t, l)
	checkReplay(t, l, 1, last)
}

// TestPrefillRacesAppends: tiny segments, so the zeros being written are
// often right where the next batch goes and Append must wait for them.
// Every entry must survive the reopen (a zero written over an entry fails
// its CRC, or makes Open refuse the log as corrupt).
func TestPrefillRacesAppends(t *testing.T) {
	const seg = 8 << 10
	dir := t.TempDir()
	l, _ := openOpts(t, dir, Options{SegmentSize: seg, NoSync: true})
	for batch := 1; l.NextIndex() < 6000; batch = batch%7 + 1 {
		appendN(t, l, batch, batch)
	}
	last := l.LastIndex()
	mustClose(t, l)
	for _, s := range mustList(t, dir)[:len(mustList(t, dir))-1] {
		if _, _, err := scanEntries(readFile(t, s.path)); err != nil {
			t.Fatalf("segment %s: %v", filepath.Base(s.path), err)
		}
	}
	l, logs := openTest(t, dir, seg)
	defer mustClose(t, l)
	checkReplay(t, l, 1, last)
	if logs.String() != "" {
		t.Fatalf("reopen logged: %q", logs.String())
	}
}

// TestPrefillFollowsTruncateFront: tidwall's TruncateFront rewrites the
// tail into a new file; the prefill must write its zeros there, not into
// the file it replaced.
func TestPrefillFollowsTruncateFront(t *testing.T) {
	const seg = 64 << 10
	dir := t.TempDir()
	l, _ := openOpts(t, dir, Options{SegmentSize: seg, NoSync: true})
	appendN(t, l, 50, 5)
	waitPrefilled(t, l)
	if err := l.TruncateFront(40); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 20, 5)
	waitPrefilled(t, l)
	if zeros := checkSegments(t, l); zeros == 0 {
		t.Fatal("no zeros ahead of the rewritten tail")
	}
	mustClose(t, l)
	l, _ = openTest(t, dir, seg)
	defer mustClose(t, l)
	checkReplay(t, l, 40, 70)
}

// TestNoPrefill: with NoPrefill the tail is never longer than its entries.
func TestNoPrefill(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 64<<10)
	defer mustClose(t, l)
	appendN(t, l, 200, 7)
	if zeros := checkSegments(t, l); zeros != 0 {
		t.Fatalf("%d zeros after the entries", zeros)
	}
}

func mustList(t *testing.T, dir string) []segmentFile {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("list %s: %v (%d segments)", dir, err, len(segs))
	}
	return segs
}

func TestAllZero(t *testing.T) {
	for n := range 40 {
		p := make([]byte, n)
		if !allZero(p) {
			t.Fatalf("%d zeros: false", n)
		}
		for i := range n {
			p[i] = 1
			if allZero(p) {
				t.Fatalf("len %d, byte %d set: true", n, i)
			}
			p[i] = 0
		}
	}
}
