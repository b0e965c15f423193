package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// traffic drives a real actors.System through PayShards and PayPay.cards
// commands, successful and refused, and stops it cleanly.
func traffic(t *testing.T, dir string, snapshotEvery uint64) {
	t.Helper()
	cfg := actors.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }}
	if snapshotEvery > 0 {
		cfg.SnapshotEvery, cfg.SnapshotFixed = snapshotEvery, true
		cfg.WALSegmentSize = 8 << 10 // small: truncation deletes whole segments
	} else {
		cfg.SnapshotEvery = 1 << 40
	}
	s, err := actors.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	key := func(name string) actors.NewKey {
		return actors.NewKey{ID: "key_" + name, Hash: engine.HashKey([]byte("secret-" + name)), Hint: "abcd"}
	}
	for _, p := range [][2]string{{"ps1", "payshards"}, {"ps2", "payshards"}, {"pp1", "paypay"}} {
		if _, err := s.CreatePartner(p[0], p[1], "Partner "+p[0], 600, key(p[0])); err != nil {
			t.Fatal(err)
		}
	}
	do := func(kind actors.Kind, partner, user, ref string, amount int64) actors.Status {
		op := actors.NewOp()
		defer op.Release()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = kind, partner, user, ref, amount
		s.Do(op)
		return op.Status
	}
	for u := range 5 {
		if st := do(actors.KindCredit, "", fmt.Sprintf("u%d", u), fmt.Sprintf("top%d", u), 1000); st != actors.StatusOK {
			t.Fatalf("credit: %d", st)
		}
	}
	for i := range 120 {
		partner := []string{"ps1", "ps2"}[i%2]
		user := fmt.Sprintf("u%d", i%5)
		do(actors.KindDeduct, partner, user, fmt.Sprintf("d%d", i), int64(1+i%40))
		if i%3 == 0 {
			do(actors.KindRefund, partner, user, fmt.Sprintf("r%d", i), int64(1+i%7))
		}
		if i%10 == 0 {
			do(actors.KindDeduct, partner, user, fmt.Sprintf("d%d", i), int64(1+i%40)) // retry: idempotent
		}
	}
	do(actors.KindDeduct, "ps1", "nobody", "d-unknown", 5)                            // unknown user
	do(actors.KindDeduct, "ps1", "u1", "d-big", 1_000_000)                            // insufficient
	do(actors.KindRefund, "ps2", "u2", "r-big", 1_000_000)                            // exceeds refundable
	do(actors.KindCredit, "", "u9", "top9", 50)                                       // a new wallet
	do(actors.KindDeduct, "ps2", "u9", "d-all", 50)                                   // to zero
	do(actors.KindRefund, "ps2", "u9", "r-all", 50)                                   // refundable back to zero
	if st := do(actors.KindDeduct, "ps2", "u9", "d-all2", 1); st != actors.StatusOK { // it works again
		t.Fatalf("deduct: %d", st)
	}

	codes := make([]string, 30)
	for i := range codes {
		codes[i] = fmt.Sprintf("PP-%04d", i)
	}
	if _, err := s.IssueCodes("pp1", codes, "month", "1 month", time.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	card := func(kind actors.Kind, code, idem string, n int) actors.Status {
		op := actors.NewOp()
		defer op.Release()
		op.Kind, op.Partner, op.Card, op.Reference = kind, "pp1", code, idem
		op.RequestID, op.RedemptionID = fmt.Sprintf("req_%d", n), fmt.Sprintf("rdm_%d", n)
		s.Do(op)
		return op.Status
	}
	for i, c := range codes[:20] {
		card(actors.KindValidate, c, "", 1000+i)
		if st := card(actors.KindRedeem, c, fmt.Sprintf("k%d", i), i); st != actors.StatusOK {
			t.Fatalf("redeem %s: %d", c, st)
		}
		card(actors.KindRedeem, c, fmt.Sprintf("k%d", i), i)            // replay
		card(actors.KindRedeem, c, fmt.Sprintf("k-again%d", i), 2000+i) // already redeemed
	}
	if st, _ := s.RevokeCode(codes[25]); st != actors.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	card(actors.KindRedeem, codes[25], "k-revoked", 3000)
	card(actors.KindValidate, "PP-none", "", 3001)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}

// cleanDir builds a data dir once per test binary per shape and returns a
// fresh copy of it.
var built = map[uint64]string{}

func cleanDir(t *testing.T, snapshotEvery uint64) string {
	t.Helper()
	src, ok := built[snapshotEvery]
	if !ok {
		var err error
		src, err = os.MkdirTemp("", "verify-src-*")
		if err != nil {
			t.Fatal(err)
		}
		traffic(t, src, snapshotEvery)
		built[snapshotEvery] = src
	}
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range built {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func mustRun(t *testing.T, dir string) *Report {
	t.Helper()
	rep, err := Run(Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func wantClean(t *testing.T, rep *Report) {
	t.Helper()
	if !rep.OK || rep.ViolationCount != 0 {
		t.Fatalf("want clean, got %d violations: %v\nnotes: %v", rep.ViolationCount, rep.Violations, rep.Notes)
	}
}

// wantViolation requires a violation of check whose text contains every
// one of parts.
func wantViolation(t *testing.T, rep *Report, check string, parts ...string) Violation {
	t.Helper()
	if rep.OK {
		t.Fatalf("want a %s violation, report is clean", check)
	}
	for _, v := range rep.Violations {
		ok := v.Check == check
		for _, p := range parts {
			ok = ok && strings.Contains(v.Detail, p)
		}
		if ok {
			return v
		}
	}
	t.Fatalf("no %s violation containing %q in %v", check, parts, rep.Violations)
	return Violation{}
}

// fingerprint hashes every file of dir (name, mode, content), except the
// LOCK file, which Run creates (empty) if no ledgerd ever ran there.
func fingerprint(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "LOCK" {
			return err
		}
		b, err := os.ReadFile(path)
		fi, _ := d.Info()
		out[path] = fmt.Sprintf("%x %v", sha256.Sum256(b), fi.Mode())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCleanLogFromScratchAndSnapshot(t *testing.T) {
	dir := cleanDir(t, 0)
	before := fingerprint(t, dir)
	rep := mustRun(t, dir)
	wantClean(t, rep)
	if rep.WALFirst != 1 || len(rep.Rebuilds) != 2 || len(rep.Snapshots) != 1 {
		t.Fatalf("want a rebuild from scratch and one from the shutdown snapshot: %+v", rep)
	}
	if s := rep.Snapshots[0]; !s.Valid || !s.Rebuilt || !s.Matches {
		t.Fatalf("snapshot %+v", s)
	}
	if rep.Wallets != 6 || rep.Partners != 3 || rep.Codes != 30 || rep.Redeemed != 20 || rep.Revoked != 1 {
		t.Fatalf("summary %+v", rep)
	}
	if rep.ByType["payshards.deducted"] == 0 || rep.ByType["payshards.deduct_rejected"] != 2 || rep.ByType["payshards.refund_rejected"] != 1 || rep.ByType["paypay.code_attempt"] == 0 {
		t.Fatalf("events %v", rep.ByType)
	}
	if after := fingerprint(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("verify changed the data dir:\nbefore %v\nafter  %v", before, after)
	}
}

func TestCleanTruncatedLogWithSnapshots(t *testing.T) {
	dir := cleanDir(t, 40)
	rep := mustRun(t, dir)
	wantClean(t, rep)
	if rep.WALFirst <= 1 || len(rep.Snapshots) < 2 || len(rep.Rebuilds) < 2 {
		t.Fatalf("want a truncated log and two snapshot rebuilds: first %d, snapshots %+v, rebuilds %v", rep.WALFirst, rep.Snapshots, rep.Rebuilds)
	}
	for _, s := range rep.Snapshots {
		if !s.Valid || !s.Rebuilt || !s.Matches {
			t.Fatalf("snapshot %+v", s)
		}
	}
}

// appendBatch appends one crafted WAL entry, with a valid CRC, to dir's log.
func appendBatch(t *testing.T, dir string, events ...engine.Event) uint64 {
	t.Helper()
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	payload, err := engine.NewEncoder().EncodeBatch(events)
	if err != nil {
		t.Fatal(err)
	}
	index, err := l.Append(payload)
	if err != nil {
		t.Fatal(err)
	}
	return index
}

func TestCraftedDeductBreaksConservation(t *testing.T) {
	dir := cleanDir(t, 0)
	// u3's balance is well above 5; the event claims 5 was taken and the
	// balance is still 999: Apply panics, the model disagrees.
	index := appendBatch(t, dir, &payshards.Deducted{Stamp: engine.Stamp{TimeMs: time.Now().UnixMilli()},
		Partner: "ps1", User: "u3", Reference: "forged-1", Amount: 5, BalanceAfter: 999})
	rep := mustRun(t, dir)
	wantViolation(t, rep, "apply", "panicked", fmt.Sprintf("WAL index %d", index), "wallet balance")
	wantViolation(t, rep, "balance", "forged-1", "records balance 999")
	t.Logf("violations: %v", rep.Violations)
}

func TestCraftedRejectionThatLies(t *testing.T) {
	dir := cleanDir(t, 0)
	// A refusal changes no state, so Apply accepts it; but u3 has far more
	// than 5 shards: a retry of this reference would be told "insufficient"
	// forever. Only the independent model sees it.
	appendBatch(t, dir, &payshards.DeductRejected{Stamp: engine.Stamp{TimeMs: time.Now().UnixMilli()},
		Partner: "ps1", User: "u3", Reference: "lie-1", Amount: 5, Balance: 0, Code: payshards.CodeInsufficient})
	rep := mustRun(t, dir)
	wantViolation(t, rep, "balance", "lie-1", "refused as insufficient")
	for _, v := range rep.Violations {
		if v.Check == "apply" {
			t.Fatalf("Apply should accept a refusal: %v", v)
		}
	}
}

func TestCraftedDoubleApply(t *testing.T) {
	dir := cleanDir(t, 0)
	// d0 was a deduct of 1 from u0 by ps1: the same reference again.
	appendBatch(t, dir, &payshards.DeductRejected{Stamp: engine.Stamp{TimeMs: time.Now().UnixMilli()},
		Partner: "ps1", User: "nobody", Reference: "d0", Amount: 1, Code: payshards.CodeUnknownUser})
	rep := mustRun(t, dir)
	wantViolation(t, rep, "apply", "reference applied once")
	wantViolation(t, rep, "idempotency", `reference "d0"`, "applied again")
}

func TestTamperedSnapshotBalance(t *testing.T) {
	dir := cleanDir(t, 0)
	infos, err := wal.NewestSnapshots(filepath.Join(dir, "snapshots"))
	if err != nil || len(infos) == 0 {
		t.Fatal(infos, err)
	}
	snap, err := wal.ReadSnapshot(infos[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := engine.DecodeSnapshot(snap.Payload)
	if err != nil {
		t.Fatal(err)
	}
	payshards.Wallets(st)["u2"].Balance += 1000
	payload, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := wal.WriteSnapshot(filepath.Join(dir, "snapshots"), snap.Index, payload); err != nil {
		t.Fatal(err)
	}
	rep := mustRun(t, dir)
	wantViolation(t, rep, "snapshot", "disagrees with the log", `wallet "u2"`)
	wantViolation(t, rep, "rebuild", "different states")
	if s := rep.Snapshots[0]; !s.Valid || s.Matches {
		t.Fatalf("snapshot %+v: want valid CRC but not matching", s)
	}
}

func TestSnapshotCRC(t *testing.T) {
	dir := cleanDir(t, 0)
	infos, _ := wal.NewestSnapshots(filepath.Join(dir, "snapshots"))
	flipByte(t, infos[0].Path, -3)
	rep := mustRun(t, dir)
	wantViolation(t, rep, "snapshot", infos[0].Path, "crc mismatch")
	if len(rep.Rebuilds) != 1 {
		t.Fatalf("the log alone should still be rebuilt: %v", rep.Rebuilds)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += int64(len(b))
	}
	b[off] ^= 0x10
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

// entryOffsets returns the byte offset of each entry of a tidwall binary
// segment (uvarint length + data).
func entryOffsets(t *testing.T, path string) (offs []int64, sizes []int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(b); {
		n, w := binary.Uvarint(b[off:])
		if w <= 0 {
			t.Fatalf("bad entry at %d", off)
		}
		offs, sizes = append(offs, int64(off)), append(sizes, int64(w)+int64(n))
		off += w + int(n)
	}
	return offs, sizes
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "wal", strings.Repeat("[0-9]", 20)))
	if err != nil || len(paths) == 0 {
		t.Fatal(paths, err)
	}
	return paths
}

func TestFlippedBitMidLog(t *testing.T) {
	dir := cleanDir(t, 0)
	seg := segments(t, dir)[0]
	offs, sizes := entryOffsets(t, seg)
	mid := len(offs) / 2
	flipByte(t, seg, offs[mid]+sizes[mid]-1) // the payload's last byte
	rep := mustRun(t, dir)
	v := wantViolation(t, rep, "wal", seg, fmt.Sprintf("offset %d", offs[mid]), "crc mismatch")
	if strings.Contains(v.Detail, "ledgerd-verify-") {
		t.Fatalf("message names the temp copy: %s", v)
	}
	t.Logf("%s", v)
}

// multiSegmentDir writes a ledger straight through engine and wal, with
// tiny segments, so that a damaged entry can sit in an earlier segment
// (found by Replay, not by Open's tail scan).
func multiSegmentDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{SegmentSize: 512, NoSync: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	enc := engine.NewEncoder()
	st := engine.NewState()
	add := func(evs ...engine.Event) {
		p, err := enc.EncodeBatch(evs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(p); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			st.Apply(ev)
		}
	}
	h := engine.HashKey([]byte("k"))
	add(&engine.PartnerCreated{Stamp: engine.Stamp{TimeMs: 1}, Partner: "p", API: "payshards", Name: "P", RateLimit: 60, Key: engine.NewKeyRecord{ID: "k1", Hash: h[:]}})
	add(&payshards.Credited{Stamp: engine.Stamp{TimeMs: 2}, User: "u", Reference: "c", Amount: 100000, BalanceAfter: 100000})
	bal := int64(100000)
	for i := range 60 {
		bal -= 3
		add(&payshards.Deducted{Stamp: engine.Stamp{TimeMs: int64(3 + i)}, Partner: "p", User: "u", Reference: fmt.Sprintf("d%03d", i), Amount: 3, BalanceAfter: bal})
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFlippedBitEarlierSegment(t *testing.T) {
	dir := multiSegmentDir(t)
	rep := mustRun(t, dir)
	wantClean(t, rep)
	segs := segments(t, dir)
	if len(segs) < 3 || rep.Segments != len(segs) {
		t.Fatalf("want several segments: %v (report %d)", segs, rep.Segments)
	}
	offs, sizes := entryOffsets(t, segs[1])
	flipByte(t, segs[1], offs[1]+sizes[1]-1)
	rep = mustRun(t, dir)
	wantViolation(t, rep, "wal", segs[1], fmt.Sprintf("offset %d", offs[1]), "crc mismatch")
}

func TestTornTailReportedNotCut(t *testing.T) {
	dir := cleanDir(t, 0)
	seg := segments(t, dir)[0]
	f, err := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0x40, 1, 2, 3}) // an entry of 64 bytes cut short by EOF
	f.Close()
	before := fingerprint(t, dir)
	rep := mustRun(t, dir)
	wantClean(t, rep)
	if rep.TornTail == nil || rep.TornTail.Bytes != 4 || rep.TornTail.File != seg {
		t.Fatalf("torn tail %+v", rep.TornTail)
	}
	if after := fingerprint(t, dir); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatal("verify cut the torn tail of the original")
	}
	if _, err := os.Stat(seg + ".broken"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("verify left a .broken backup in the data dir: %v", err)
	}
}

func TestLocked(t *testing.T) {
	dir := cleanDir(t, 0)
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(Options{DataDir: dir}); !errors.Is(err, ErrLocked) {
		t.Fatalf("Run on a locked dir: %v, want ErrLocked", err)
	}
}

func TestMissingDataDir(t *testing.T) {
	if _, err := Run(Options{DataDir: filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatal("want an error")
	}
}

func TestEmptyDataDir(t *testing.T) {
	rep := mustRun(t, t.TempDir())
	wantClean(t, rep)
}

func TestSnapshotWithoutLog(t *testing.T) {
	dir := cleanDir(t, 0)
	if err := os.RemoveAll(filepath.Join(dir, "wal")); err != nil {
		t.Fatal(err)
	}
	rep := mustRun(t, dir)
	wantViolation(t, rep, "snapshot", "ahead of the log")
}
