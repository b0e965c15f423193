package actors

import (
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// writeEntries appends one WAL entry per payload to a fresh log in dir.
func writeEntries(t *testing.T, dir string, payloads ...[]byte) {
	t.Helper()
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// creditBatches encodes n entries of one credit each, to users u<from>...
func creditBatches(t *testing.T, from, n int) [][]byte {
	t.Helper()
	enc := engine.NewEncoder()
	var out [][]byte
	for i := from; i < from+n; i++ {
		u := "u" + strconv.Itoa(i)
		p, err := enc.EncodeBatch([]engine.Event{&payshards.Credited{User: u, Reference: "c" + u, Amount: 5, BalanceAfter: 5}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), p...))
	}
	return out
}

func TestRecoverReplaysEveryEntryInOrder(t *testing.T) {
	dir := t.TempDir()
	writeEntries(t, dir, creditBatches(t, 0, 500)...)
	state, l, replayed, err := Recover(dir, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if replayed != 500 || state.Index != 500 || len(payshards.Wallets(state)) != 500 {
		t.Fatalf("replayed %d, index %d, wallets %d; want 500 each", replayed, state.Index, len(payshards.Wallets(state)))
	}
}

// A CRC-valid entry the record decoder refuses stops recovery with an error
// that names the entry; the reader running ahead must not hide it or hang.
func TestRecoverStopsAtAnUndecodableEntry(t *testing.T) {
	dir := t.TempDir()
	entries := creditBatches(t, 0, 300)
	entries = append(entries, []byte{0xc1}) // 0xc1 is never used by msgpack
	entries = append(entries, creditBatches(t, 300, 300)...)
	writeEntries(t, dir, entries...)
	_, _, _, err := Recover(dir, true, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, engine.ErrBadRecord) || !strings.Contains(err.Error(), "wal entry 301") {
		t.Fatalf("err = %v, want engine.ErrBadRecord at wal entry 301", err)
	}
}
