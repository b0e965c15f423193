package actors

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/wal"
)

// treeHashes lists every file under dir with the SHA-256 of its bytes.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		rel, _ := filepath.Rel(dir, path)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, before, after map[string]string) {
	t.Helper()
	for name, h := range before {
		if after[name] != h {
			t.Errorf("%s changed or went away", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("%s appeared", name)
		}
	}
}

// snapshotAt writes a valid snapshot of the first n credit entries.
func snapshotAt(t *testing.T, dir string, n int) {
	t.Helper()
	st := engine.NewState()
	for _, p := range creditBatches(t, 0, n) {
		evs, err := engine.DecodeBatch(p)
		if err != nil {
			t.Fatal(err)
		}
		st.Apply(evs[0])
	}
	st.Index = uint64(n)
	payload, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := wal.WriteSnapshot(filepath.Join(dir, "snapshots"), st.Index, payload); err != nil {
		t.Fatal(err)
	}
}

// TestRecoverRefusesUnknownSnapshotFormat: a newest snapshot in a format
// from the future stops recovery naming file and format, and touches no
// file: not moved aside, not passed over for the good older one.
func TestRecoverRefusesUnknownSnapshotFormat(t *testing.T) {
	core := func(version int) []byte { // [3, [[core, version, [0, 0, []]]]]
		return []byte{0x92, 0x03, 0x91, 0x93, 0xa4, 'c', 'o', 'r', 'e', byte(version), 0xc4, 0x04, 0x93, 0x00, 0x00, 0x90}
	}
	cases := map[string]struct {
		payload []byte
		want    string
	}{
		"container version 99": {[]byte{0x92, 0x63, 0x90}, "container version 99"},
		"unknown section":      {[]byte{0x92, 0x03, 0x91, 0x93, 0xa8, 'w', 'e', 'b', 'h', 'o', 'o', 'k', 's', 0x01, 0xc4, 0x01, 0x90}, `section "webhooks"`},
		"core version 7":       {core(7), `section "core" version 7`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeEntries(t, dir, creditBatches(t, 0, 20)...)
			snapshotAt(t, dir, 5)
			path := filepath.Join(dir, "snapshots", "snap-00000000000000000010.snap")
			if err := wal.WriteSnapshot(filepath.Dir(path), 10, c.payload); err != nil {
				t.Fatal(err)
			}
			before := treeHashes(t, dir)
			_, _, _, err := Recover(dir, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if !errors.Is(err, ErrUnknownFormat) || !errors.Is(err, engine.ErrUnknownSnapshotFormat) {
				t.Fatalf("err = %v, want ErrUnknownFormat", err)
			}
			for _, want := range []string{path, c.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q does not name %q", err, want)
				}
			}
			sameTree(t, before, treeHashes(t, dir))
		})
	}
}

// TestRecoverRefusesUnknownEventType: a CRC-valid WAL entry, the last one
// of the tail segment, holding an event type this binary does not know
// stops recovery naming type and entry; it is not cut as a torn tail.
func TestRecoverRefusesUnknownEventType(t *testing.T) {
	dir := t.TempDir()
	entries := creditBatches(t, 0, 30)
	future := []byte{0x91, 0x93, 0xcc, 200, 0x01, 0x01} // [[200, 1, 1]]
	writeEntries(t, dir, append(entries, future)...)
	before := treeHashes(t, dir)
	for range 2 { // and again: the first attempt changed nothing
		_, _, _, err := Recover(dir, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if !errors.Is(err, ErrUnknownFormat) || !errors.Is(err, engine.ErrUnknownEventType) || errors.Is(err, engine.ErrBadRecord) {
			t.Fatalf("err = %v, want ErrUnknownFormat wrapping ErrUnknownEventType", err)
		}
		for _, want := range []string{"wal entry 31", "unknown event type 200"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("message %q does not say %q", err, want)
			}
		}
		sameTree(t, before, treeHashes(t, dir))
	}
}

// TestPruneSparesUnknownFormat: pruning after a snapshot never deletes a
// snapshot this binary cannot read (it may be a newer binary's only
// copy), and the WAL is not cut to one either; corrupt ones still go.
func TestPruneSparesUnknownFormat(t *testing.T) {
	dir := t.TempDir()
	snapDir := filepath.Join(dir, "snapshots")
	writeEntries(t, dir, creditBatches(t, 0, 20)...)
	if err := wal.WriteSnapshot(snapDir, 2, []byte{0x92, 0x63, 0x90}); err != nil { // version 99
		t.Fatal(err)
	}
	snapshotAt(t, dir, 3) // corrupt below
	snapshotAt(t, dir, 10)
	snapshotAt(t, dir, 15)
	p3 := filepath.Join(snapDir, "snap-00000000000000000003.snap")
	b, _ := os.ReadFile(p3)
	b[len(b)-1] ^= 1
	if err := os.WriteFile(p3, b, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sn := &snapshotter{dir: snapDir, logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "t"})}
	for range 2 {
		if err := sn.truncate(l); err != nil {
			t.Fatal(err)
		}
	}
	infos, _ := wal.NewestSnapshots(snapDir)
	var left []uint64
	for _, i := range infos {
		left = append(left, i.Index)
	}
	if len(left) != 3 || left[0] != 15 || left[1] != 10 || left[2] != 2 {
		t.Fatalf("snapshots left %v, want [15 10 2]", left)
	}
	if first := l.FirstIndex(); first != 11 {
		t.Fatalf("wal starts at %d, want 11", first)
	}
}
