package wal

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func bufferLogger() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewTextHandler(buf, nil)), buf
}

// payloadFor returns a deterministic pseudo-random payload of 1..300 bytes.
func payloadFor(i uint64) []byte {
	r := rand.New(rand.NewPCG(i, 0x1ed9e7))
	p := make([]byte, 1+int(i*37%300))
	for j := range p {
		p[j] = byte(r.Uint32())
	}
	return p
}

// openTest opens dir without the prefill, so segment files hold entries
// only (the repair tests cut them at exact offsets); prefill_test.go opens
// with it.
func openTest(t testing.TB, dir string, segSize int) (*Log, *syncBuffer) {
	t.Helper()
	return openOpts(t, dir, Options{SegmentSize: segSize, NoSync: true, NoPrefill: true})
}

func openOpts(t testing.TB, dir string, opts Options) (*Log, *syncBuffer) {
	t.Helper()
	logger, buf := bufferLogger()
	opts.Logger = logger
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l, buf
}

// appendN appends payloadFor(next..next+n-1) in batches of batch.
func appendN(t testing.TB, l *Log, n, batch int) {
	t.Helper()
	for done := 0; done < n; {
		k := min(batch, n-done)
		next := l.NextIndex()
		ps := make([][]byte, k)
		for i := range ps {
			ps[i] = payloadFor(next + uint64(i))
		}
		last, err := l.Append(ps...)
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
		if want := next + uint64(k) - 1; last != want {
			t.Fatalf("Append returned %d, want %d", last, want)
		}
		done += k
	}
}

// checkReplay replays from `from` and checks indices and payloads.
func checkReplay(t testing.TB, l *Log, from, wantLast uint64) {
	t.Helper()
	next := from
	err := l.Replay(from, func(i uint64, p []byte) error {
		if i != next {
			t.Fatalf("Replay index %d, want %d", i, next)
		}
		if !bytes.Equal(p, payloadFor(i)) {
			t.Fatalf("Replay payload mismatch at %d", i)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatalf("Replay(%d): %v", from, err)
	}
	if next-1 != wantLast {
		t.Fatalf("Replay ended at %d, want %d", next-1, wantLast)
	}
}

func mustClose(t testing.TB, l *Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func tailPath(t testing.TB, dir string) string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	seg, ok := tailSegment(segs)
	if !ok {
		t.Fatal("no segments")
	}
	return seg.path
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the regular files of src into a fresh temp dir.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			writeFile(t, filepath.Join(dst, e.Name()), readFile(t, filepath.Join(src, e.Name())))
		}
	}
	return dst
}

// entryOffsets returns the start offset of every entry in a segment plus
// the file length.
func entryOffsets(t testing.TB, buf []byte) []int {
	t.Helper()
	offs := []int{0}
	for off := 0; off < len(buf); {
		_, size, err := entryAt(buf, off)
		if err != nil {
			t.Fatalf("entryAt(%d): %v", off, err)
		}
		off += size
		offs = append(offs, off)
	}
	return offs
}
