package wal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSnapshotRoundTrip(t *testing.T) {
	dir := SnapshotDir(t.TempDir())
	for _, p := range [][]byte{nil, []byte("state"), bytes.Repeat([]byte{7}, 1<<20)} {
		idx := uint64(len(p)) + 1
		if err := WriteSnapshot(dir, idx, p); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, snapshotName(idx))
		s, err := ReadSnapshot(path)
		if err != nil {
			t.Fatal(err)
		}
		if s.Index != idx || s.Path != path || !bytes.Equal(s.Payload, p) {
			t.Fatalf("round trip mismatch for index %d", idx)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, snapTempPattern)); len(tmps) != 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
}

func TestSnapshotGolden(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSnapshot(dir, 42, []byte("ledgerd snapshot v1")); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "snapshot_v1.golden", readFile(t, filepath.Join(dir, snapshotName(42))))
}

func TestSnapshotDamage(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSnapshot(dir, 9, []byte("some ledger state")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, snapshotName(9))
	good := readFile(t, path)
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x20; return b }
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"payload bit", flip(len(good) - 3), ErrCRCMismatch},
		{"crc bit", flip(18), ErrCRCMismatch},
		{"magic", flip(2), ErrCorrupt},
		{"index", flip(8), ErrCorrupt},
		{"version", flip(16), ErrBadVersion},
		{"length", flip(22), ErrCorrupt},
		{"truncated payload", good[:len(good)-1], ErrCorrupt},
		{"truncated header", good[:10], ErrShortFrame},
		{"empty", nil, ErrCorrupt},
		{"trailing bytes", append(bytes.Clone(good), 0), ErrCorrupt},
	}
	for _, c := range cases {
		writeFile(t, path, c.data)
		if _, err := ReadSnapshot(path); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	writeFile(t, filepath.Join(dir, "snap-x.snap"), good)
	if _, err := ReadSnapshot(filepath.Join(dir, "snap-x.snap")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("bad name: %v", err)
	}
}

func TestNewestAndPruneSnapshots(t *testing.T) {
	dir := t.TempDir()
	if infos, err := NewestSnapshots(filepath.Join(dir, "missing")); err != nil || len(infos) != 0 {
		t.Fatalf("missing dir: %v %v", infos, err)
	}
	if err := PruneSnapshots(filepath.Join(dir, "missing"), 2); err != nil {
		t.Fatalf("prune missing dir: %v", err)
	}
	for _, idx := range []uint64{5, 100, 20, 7, 1_000_000} {
		if err := WriteSnapshot(dir, idx, []byte{byte(idx)}); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(dir, "snap-123.tmp"), []byte("stale temp"))
	writeFile(t, filepath.Join(dir, "notes.txt"), []byte("keep me"))
	infos, err := NewestSnapshots(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, in := range infos {
		got = append(got, in.Index)
	}
	if want := []uint64{1_000_000, 100, 20, 7, 5}; !equalU64(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if err := PruneSnapshots(dir, 0); err == nil {
		t.Fatal("keep=0 accepted")
	}
	if err := PruneSnapshots(dir, 2); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"notes.txt", snapshotName(100), snapshotName(1_000_000)}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("after prune: %v, want %v", names, want)
	}
}

func TestLoadNewestSnapshotFallback(t *testing.T) {
	dir := t.TempDir()
	logger, logs := bufferLogger()
	if _, err := LoadNewestSnapshot(dir, logger); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty dir: %v", err)
	}
	for _, idx := range []uint64{10, 20} {
		if err := WriteSnapshot(dir, idx, []byte("state")); err != nil {
			t.Fatal(err)
		}
	}
	newest := filepath.Join(dir, snapshotName(20))
	b := readFile(t, newest)
	b[len(b)-1] ^= 1
	writeFile(t, newest, b)
	s, err := LoadNewestSnapshot(dir, logger)
	if err != nil || s.Index != 10 {
		t.Fatalf("fallback: %+v %v", s, err)
	}
	if !strings.Contains(logs.String(), snapshotName(20)) {
		t.Fatalf("bad snapshot not logged: %q", logs.String())
	}
	writeFile(t, filepath.Join(dir, snapshotName(10)), nil)
	_, err = LoadNewestSnapshot(dir, logger)
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrCRCMismatch) || errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("all bad: %v", err)
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestWriteSnapshotChunks: a payload written in chunks gives the same file,
// byte for byte, as WriteSnapshot of the whole payload, and reads back.
func TestWriteSnapshotChunks(t *testing.T) {
	payload := make([]byte, 3<<20+17)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	one, many := t.TempDir(), t.TempDir()
	if err := WriteSnapshot(one, 9, payload); err != nil {
		t.Fatal(err)
	}
	chunks := [][]byte{payload[:5], payload[5 : 1<<20], {}, payload[1<<20:]}
	if err := WriteSnapshotChunks(many, 9, chunks); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(one, snapshotName(9)))
	b, _ := os.ReadFile(filepath.Join(many, snapshotName(9)))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("chunked snapshot file differs (%d vs %d bytes)", len(b), len(a))
	}
	snap, err := ReadSnapshot(filepath.Join(many, snapshotName(9)))
	if err != nil || !bytes.Equal(snap.Payload, payload) {
		t.Fatalf("read back: %v", err)
	}
}
