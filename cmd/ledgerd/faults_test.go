package main

// Fault-injection tests (issue 5) with a real ledgerd subprocess: a full
// disk (tmpfs) during writes and at start-up, corrupt snapshots, a corrupt
// middle WAL entry, a torn tail after kill -9, and overload (a hot wallet,
// many wallets, and a flood of reads for unknown users).
//
// They run ledgerd with the package's harness (harness_test.go); their own
// helpers keep the prefix ft.
//
// Environment:
//
//	LEDGERD_OVERLOAD_READS  unknown-user balance reads in TestFaultUnknownUserReadFlood
//	                        (default 200000; e.g. 1000000 for the full run)

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors/outbox"
)

const (
	ftAdminToken = "adm_faults_test_0123456789abcdef"
	ftInitial    = int64(1_000_000_000)
)

// ftRef is one deduct the test sent.
type ftRef struct {
	ref, user  string
	amount     int64
	acked      bool // a 200 came back
	newBalance int64
}

// ftLoad runs workers goroutines of deducts with unique references over
// users until stop is closed or the process exits. A 200 marks a reference
// acknowledged; anything else except a transport error, 503 or a closed
// process is a test error.
func ftLoad(t *testing.T, p *ledgerProc, key, prefix string, users []string, workers int, stop <-chan struct{}) []*ftRef {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		all  []*ftRef
		errs []string
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var local []*ftRef
			var bad []string
			defer func() {
				mu.Lock()
				all, errs = append(all, local...), append(errs, bad...)
				mu.Unlock()
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-p.exited:
					return
				default:
				}
				r := &ftRef{ref: fmt.Sprintf("%s-w%02d-%06d", prefix, w, n), user: users[rng.IntN(len(users))], amount: 1 + rng.Int64N(9)}
				local = append(local, r)
				st, res, err := p.op("deduct", key, r.user, r.amount, r.ref)
				switch {
				case err != nil || st == http.StatusServiceUnavailable:
					continue // unknown outcome
				case st != http.StatusOK || !res.Success || res.Idempotent:
					bad = append(bad, fmt.Sprintf("deduct %s: status %d %+v", r.ref, st, res))
					continue
				}
				r.acked, r.newBalance = true, res.NewBalance
			}
		}()
	}
	select {
	case <-stop:
	case <-p.exited:
	}
	wg.Wait()
	for _, e := range errs {
		t.Error(e)
	}
	return all
}

// ftDefinite retries a deduct until it gets an answer other than 503.
func ftDefinite(p *ledgerProc, key string, r *ftRef) (int, opResult, error) {
	var (
		st  int
		res opResult
		err error
	)
	for range 50 {
		st, res, err = p.op("deduct", key, r.user, r.amount, r.ref)
		if err == nil && st != http.StatusServiceUnavailable {
			return st, res, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return st, res, err
}

// ftCheckAfterRestart checks, on a restarted process:
//   - before any retry, each user's balance lies between initial minus
//     every acknowledged deduct minus every unknown one and initial minus
//     every acknowledged one (unknown ones may or may not be durable);
//   - every acknowledged reference replays idempotent with its newBalance;
//   - once every unknown reference got a definite answer, each balance is
//     exactly initial minus every reference, and the newBalances form one
//     serial history (nothing lost, nothing applied twice);
//   - a second retry of everything is idempotent.
func ftCheckAfterRestart(t *testing.T, p *ledgerProc, key string, users []string, refs []*ftRef) (acked, unknownApplied int) {
	t.Helper()
	lo, hi := map[string]int64{}, map[string]int64{}
	for _, u := range users {
		lo[u], hi[u] = ftInitial, ftInitial
	}
	for _, r := range refs {
		lo[r.user] -= r.amount
		if r.acked {
			hi[r.user] -= r.amount
			acked++
		}
	}
	for _, u := range users {
		if b := p.mustBalance(key, u); b < lo[u] || b > hi[u] {
			t.Errorf("after restart, before retries: %s balance %d, want within [%d, %d] (an acknowledged deduct lost, or one applied twice)", u, b, lo[u], hi[u])
		}
	}
	var mu sync.Mutex
	fail := func(format string, a ...any) {
		mu.Lock()
		t.Errorf(format, a...)
		mu.Unlock()
	}
	parallel(len(refs), func(i int) {
		r := refs[i]
		st, res, err := ftDefinite(p, key, r)
		if err != nil || st != http.StatusOK || !res.Success {
			fail("retry %s (acked %v): status %d %+v err %v", r.ref, r.acked, st, res, err)
			return
		}
		if r.acked {
			if !res.Idempotent || res.NewBalance != r.newBalance {
				fail("acknowledged %s: retry got %+v, original newBalance %d", r.ref, res, r.newBalance)
			}
			return
		}
		mu.Lock()
		if res.Idempotent {
			unknownApplied++
		}
		mu.Unlock()
		r.newBalance = res.NewBalance
	})
	parallel(len(refs), func(i int) {
		r := refs[i]
		st, res, err := p.op("deduct", key, r.user, r.amount, r.ref)
		if err != nil || st != http.StatusOK || !res.Idempotent || res.NewBalance != r.newBalance {
			fail("second retry of %s: status %d %+v err %v, want idempotent %d", r.ref, st, res, err, r.newBalance)
		}
	})
	byUser := map[string][]*ftRef{}
	for _, r := range refs {
		byUser[r.user] = append(byUser[r.user], r)
	}
	for _, u := range users {
		if got := p.mustBalance(key, u); got != lo[u] {
			t.Errorf("%s: balance %d after every reference got an answer, want %d", u, got, lo[u])
		}
		rs := byUser[u]
		slices.SortFunc(rs, func(a, b *ftRef) int { return cmpInt64(b.newBalance, a.newBalance) })
		prev := ftInitial
		for _, r := range rs {
			if r.newBalance != prev-r.amount {
				t.Errorf("%s: history broken at %s: newBalance %d, previous %d, amount %d", u, r.ref, r.newBalance, prev, r.amount)
				break
			}
			prev = r.newBalance
		}
	}
	return acked, unknownApplied
}

// ---- disk full ----

// ftMountTmpfs mounts a tmpfs of size bytes on a fresh directory, or skips
// the test where mounting is not allowed. It is unmounted in t.Cleanup
// (after the processes started later are gone: cleanups run last-in first).
func ftMountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.ENODEV) {
			t.Skipf("cannot mount a tmpfs here (%v): disk-full tests need root or CAP_SYS_ADMIN", err)
		}
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	return dir
}

// ftFill writes a filler file until the file system is full, then gives
// back leave bytes. It returns the filler's path.
func ftFill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xF1}, 64<<10)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
	}
	if leave > 0 {
		if err := f.Truncate(max(n-leave, 0)); err != nil {
			t.Fatal(err)
		}
	}
	var st syscall.Statfs_t
	syscall.Statfs(dir, &st)
	t.Logf("filled %s: filler %d bytes, %d bytes free", dir, max(n-leave, 0), int64(st.Bavail)*st.Bsize)
	return path
}

// TestFaultDiskFullFailStop: the WAL's file system fills up while deducts
// run. ledgerd must stop by itself (fail-stop, exit 70) without
// acknowledging the batch it could not write; with the space back it must
// restart cleanly with every acknowledged deduct exactly once.
func TestFaultDiskFullFailStop(t *testing.T) {
	mnt := ftMountTmpfs(t, 12<<20)
	bin := buildLedgerd(t)
	dataDir, logDir := filepath.Join(mnt, "data"), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	users := []string{"df_u0", "df_u1", "df_u2", "df_u3"}

	p := startNamed(t, bin, dataDir, logDir, "run0", procOpts{token: ftAdminToken, readyPath: healthPath})
	key := p.partner(ftAdminToken, "payshards", "diskfull", 100_000_000).APIKey
	for i, u := range users {
		p.credit(u, ftInitial, "df_topup_"+strconv.Itoa(i))
	}
	// Leave ~200 KiB: a few hundred batches fit, then the WAL write fails.
	filler := ftFill(t, mnt, 200<<10)

	stop := make(chan struct{})
	timer := time.AfterFunc(20*time.Second, func() { close(stop) })
	refs := ftLoad(t, p, key, "df", users, 16, stop)
	timer.Stop()
	code, exited := p.exitWithin(10 * time.Second)
	if !exited {
		t.Fatalf("ledgerd still running 20 s into a full disk: no fail-stop (sent %d deducts)", len(refs))
	}
	log := readLog(p.logPath)
	if code == 0 || !strings.Contains(log, "fail-stop") {
		t.Errorf("exit code %d, want non-zero with a fail-stop line in the log", code)
	}
	if !strings.Contains(log, "no space left on device") {
		t.Errorf("fail-stop log does not name the cause (no space left on device)")
	}
	acked := 0
	for _, r := range refs {
		if r.acked {
			acked++
		}
	}
	t.Logf("fail-stop with exit code %d after %d deducts sent, %d acknowledged", code, len(refs), acked)
	if acked == 0 {
		t.Fatalf("no deduct was acknowledged before the disk filled: the test did not exercise a write failure mid-load")
	}

	// Still full: a restart must either refuse with a clear message or come
	// up with a consistent state; it must never half-start.
	q := launch(t, bin, dataDir, filepath.Join(logDir, "run1-still-full.log"), procOpts{token: ftAdminToken, readyPath: healthPath})
	if err := q.ready(); err != nil {
		qlog := readLog(q.logPath)
		if qc, ok := q.exitWithin(5 * time.Second); !ok || qc == 0 || !strings.Contains(qlog, "no space left on device") {
			t.Errorf("restart on a full disk: %v, exit %d/%v, want a non-zero exit naming the full disk", err, qc, ok)
		}
		t.Logf("restart on a still-full disk refused: %s", lastLine(qlog))
	} else {
		t.Logf("restart on a still-full disk came up (no repair needed a write); stopping it")
		q.kill9(t)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	p = startNamed(t, bin, dataDir, logDir, "run2", procOpts{token: ftAdminToken, readyPath: healthPath})
	if bad := logErrors(p.logPath); len(bad) > 0 {
		t.Errorf("restart with space back logged errors:\n%s", strings.Join(bad, "\n"))
	}
	if log := readLog(p.logPath); strings.Contains(log, "torn tail repaired") {
		t.Logf("restart repaired a torn tail (the write that failed): %s", grepLine(log, "torn tail repaired"))
	}
	a, applied := ftCheckAfterRestart(t, p, key, users, refs)
	t.Logf("after restart: %d acknowledged all replayed; %d of %d unacknowledged had been durable", a, applied, len(refs)-a)
	p.stop(t)
}

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func grepLine(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// TestFaultDiskFullAtStartup: with no space at all, a first start that
// must write the admin token refuses with a clear message and never
// listens; with LEDGERD_ADMIN_TOKEN set it starts (it needs no space to
// start) and its first write is a fail-stop, not an acknowledgement. With
// space back, both recover.
func TestFaultDiskFullAtStartup(t *testing.T) {
	mnt := ftMountTmpfs(t, 4<<20)
	bin := buildLedgerd(t)
	dataDir, logDir := filepath.Join(mnt, "data"), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	filler := ftFill(t, mnt, 0)

	p := launch(t, bin, dataDir, filepath.Join(logDir, "token-full.log"), procOpts{readyPath: healthPath})
	code, ok := p.exitWithin(15 * time.Second)
	log := readLog(p.logPath)
	switch {
	case !ok:
		t.Errorf("first start on a full disk without LEDGERD_ADMIN_TOKEN is still running after 15 s; want a refusal")
	case code == 0:
		t.Errorf("first start on a full disk exited 0")
	case !strings.Contains(log, "admin token") || !strings.Contains(log, "no space left on device"):
		t.Errorf("refusal does not name the admin token and the full disk:\n%s", log)
	}
	if strings.Contains(log, "ledgerd listening") {
		t.Errorf("it listened before refusing (half-start)")
	}
	t.Logf("refused: %s", lastLine(log))

	// With the token and the webhook key from the environment nothing needs
	// writing at start.
	p = startNamed(t, bin, dataDir, logDir, "env-token-full", procOpts{token: ftAdminToken, readyPath: healthPath,
		env: []string{outbox.KeyEnv + "=" + strings.Repeat("ab", outbox.KeyBytes)}})
	st, b, err := p.do("POST", "/admin/payshards/users/full_u1/credit", adminAuth(ftAdminToken), map[string]any{"amount": 100, "reference": "full_t1"})
	if err == nil && st == http.StatusOK {
		t.Errorf("credit on a full disk acknowledged: %d %s", st, b)
	}
	code, ok = p.exitWithin(10 * time.Second)
	if !ok || code == 0 || !strings.Contains(readLog(p.logPath), "fail-stop") {
		t.Errorf("first write on a full disk: exited %v with %d; want a fail-stop", ok, code)
	}

	os.Remove(filler)
	p = startNamed(t, bin, dataDir, logDir, "space-back", procOpts{readyPath: healthPath})
	if bad := logErrors(p.logPath); len(bad) > 0 {
		t.Errorf("start with space back logged errors:\n%s", strings.Join(bad, "\n"))
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, adminTokenFile))
	// A token file left behind by the refused start (created, then its
	// write failed) must not be taken as a token: the next start writes a
	// whole new one.
	if err != nil || !regexp.MustCompile(`^adm_[0-9a-f]{64}\n$`).Match(tok) {
		t.Fatalf("admin token file after start with space: %q %v", tok, err)
	}
	token := strings.TrimSpace(string(tok))
	// The unacknowledged credit may or may not have been written; either
	// way a retry is one credit.
	var out struct{ Balance int64 }
	p.mustJSON("POST", "/admin/payshards/users/full_u1/credit", adminAuth(token), map[string]any{"amount": 100, "reference": "full_t1"}, http.StatusOK, &out)
	if out.Balance != 100 {
		t.Errorf("credit retry after the disk-full fail-stop: balance %d, want 100", out.Balance)
	}
	p.stop(t)
}

// ---- snapshots and WAL corruption ----

// ftWalEntry is one tidwall binary entry in a segment: offset of its
// length prefix, and total size.
type ftWalEntry struct{ off, size int }

// A segment the server was killed over may end in zeros written ahead of
// its entries (wal/prefill.go); they end the walk.
func ftEntries(t *testing.T, buf []byte) []ftWalEntry {
	t.Helper()
	var es []ftWalEntry
	for off := 0; off < len(buf); {
		if len(bytes.Trim(buf[off:], "\x00")) == 0 {
			break
		}
		n, w := binary.Uvarint(buf[off:])
		if w <= 0 || n == 0 || int(n) > len(buf)-off-w {
			t.Fatalf("segment does not parse at offset %d", off)
		}
		es = append(es, ftWalEntry{off, w + int(n)})
		off += w + int(n)
	}
	return es
}

var ftSegmentName = regexp.MustCompile(`^[0-9]{20}$`)

// ftSegments lists the WAL segment files, oldest first.
func ftSegments(t *testing.T, dataDir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, e := range ents {
		if ftSegmentName.MatchString(e.Name()) {
			segs = append(segs, filepath.Join(dataDir, "wal", e.Name()))
		}
	}
	if len(segs) == 0 {
		t.Fatalf("no WAL segment in %s/wal", dataDir)
	}
	return segs
}

func ftSnapshots(t *testing.T, dataDir string) []string {
	t.Helper()
	snaps, _ := filepath.Glob(filepath.Join(dataDir, "snapshots", "snap-*.snap"))
	slices.Sort(snaps) // fixed-width index: name order is index order
	slices.Reverse(snaps)
	return snaps // newest first
}

func ftFlip(t *testing.T, path string, off int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x10
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
}

func ftCopyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if d.Name() == "LOCK" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm()) // webhook.key must stay 0600
	})
	if err != nil {
		t.Fatal(err)
	}
}

// ftSequential runs n deducts of prefix on users, all of which must be 200.
func ftSequential(t *testing.T, p *ledgerProc, key, prefix string, users []string, n int) []*ftRef {
	t.Helper()
	refs := make([]*ftRef, n)
	for i := range refs {
		refs[i] = &ftRef{ref: fmt.Sprintf("%s-%04d", prefix, i), user: users[i%len(users)], amount: int64(1 + i%7)}
	}
	var mu sync.Mutex
	parallel(n, func(i int) {
		r := refs[i]
		st, res, err := p.op("deduct", key, r.user, r.amount, r.ref)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || st != http.StatusOK || res.Idempotent {
			t.Errorf("deduct %s: %d %+v %v", r.ref, st, res, err)
			return
		}
		r.acked, r.newBalance = true, res.NewBalance
	})
	return refs
}

// ftExpectState checks balances and that every reference replays its
// original answer.
func ftExpectState(t *testing.T, p *ledgerProc, key string, users []string, refs []*ftRef, want map[string]int64) {
	t.Helper()
	for _, u := range users {
		if got := p.mustBalance(key, u); got != want[u] {
			t.Errorf("%s: balance %d, want %d", u, got, want[u])
		}
	}
	var mu sync.Mutex
	parallel(len(refs), func(i int) {
		r := refs[i]
		st, res, err := p.op("deduct", key, r.user, r.amount, r.ref)
		if err != nil || st != http.StatusOK || !res.Idempotent || res.NewBalance != r.newBalance {
			mu.Lock()
			t.Errorf("retry %s: %d %+v %v, want idempotent newBalance %d", r.ref, st, res, err, r.newBalance)
			mu.Unlock()
		}
	})
}

// ftRefused starts ledgerd and expects it to exit non-zero without ever
// listening; it returns the log.
func ftRefused(t *testing.T, bin, dataDir, logPath string) string {
	t.Helper()
	p := launch(t, bin, dataDir, logPath, procOpts{token: ftAdminToken, readyPath: healthPath})
	code, ok := p.exitWithin(20 * time.Second)
	log := readLog(p.logPath)
	if !ok {
		t.Fatalf("start-up on corrupt data is still running after 20 s; want a refusal\n%s", log)
	}
	if code == 0 || strings.Contains(log, "ledgerd listening") {
		t.Fatalf("start-up on corrupt data: exit %d, listening %v; want a refusal\n%s", code, strings.Contains(log, "ledgerd listening"), log)
	}
	return log
}

// TestFaultSnapshotAndWALCorruption: after two clean stops (two snapshots,
// the WAL truncated up to the older one), a bit flip in the newest snapshot
// falls back to the older one plus the WAL; bit flips in both snapshots,
// with the WAL no longer reaching index 1, refuse start-up; a bit flip in a
// middle WAL entry refuses start-up naming the file and offset.
func TestFaultSnapshotAndWALCorruption(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	users := []string{"sc_u0", "sc_u1", "sc_u2"}
	// Truncation after a snapshot deletes whole segments: run0 writes
	// small ones, so that the cut after run1 deletes some; run1 and later
	// runs use big ones, so that the tail segment holds all of run1's
	// entries (the corruption cases below need a middle entry in it).
	args := procOpts{token: ftAdminToken, readyPath: healthPath, args: []string{"--snapshot-every", "1000000000", "--wal-segment-size", "1048576"}}
	args0 := args
	args0.args = []string{"--snapshot-every", "1000000000", "--wal-segment-size", "8192"}

	p := startNamed(t, bin, dataDir, logDir, "run0", args0)
	key := p.partner(ftAdminToken, "payshards", "snapcorrupt", 100_000_000).APIKey
	for i, u := range users {
		p.credit(u, ftInitial, "sc_topup_"+strconv.Itoa(i))
	}
	refs := ftSequential(t, p, key, "sc-a", users, 150)
	p.stop(t)
	p = startNamed(t, bin, dataDir, logDir, "run1", args)
	refs = append(refs, ftSequential(t, p, key, "sc-b", users, 150)...)
	p.stop(t)
	if t.Failed() {
		t.FailNow()
	}
	want := map[string]int64{}
	for _, u := range users {
		want[u] = ftInitial
	}
	for _, r := range refs {
		want[r.user] -= r.amount
	}
	snaps := ftSnapshots(t, dataDir)
	if len(snaps) != 2 {
		t.Fatalf("after two clean stops: snapshots %v, want 2", snaps)
	}
	segs := ftSegments(t, dataDir)
	if first, _ := strconv.ParseUint(filepath.Base(segs[0]), 10, 64); first <= 1 {
		t.Fatalf("WAL still starts at index %d after the second snapshot; truncation did not happen (segments %v)", first, segs)
	}
	pristine := t.TempDir()
	ftCopyDir(t, dataDir, pristine)

	t.Run("newest snapshot corrupt falls back", func(t *testing.T) {
		dir := t.TempDir()
		ftCopyDir(t, pristine, dir)
		s := ftSnapshots(t, dir)
		ftFlip(t, s[0], -7) // a payload bit
		p := startNamed(t, bin, dir, logDir, "fallback", args)
		log := readLog(p.logPath)
		if !strings.Contains(grepLine(log, "snapshot unusable"), filepath.Base(s[0])) {
			t.Errorf("log does not say the newest snapshot %s is unusable", filepath.Base(s[0]))
		}
		if !strings.Contains(grepLine(log, "snapshot loaded"), filepath.Base(s[1])) {
			t.Errorf("log does not say it loaded the previous snapshot %s", filepath.Base(s[1]))
		}
		if bad := logErrors(p.logPath, "snapshot unusable"); len(bad) > 0 {
			t.Errorf("other errors: %v", bad)
		}
		ftExpectState(t, p, key, users, refs, want)
		p.stop(t)
	})

	t.Run("after a fallback the kept fallback snapshot is usable", func(t *testing.T) {
		dir := t.TempDir()
		ftCopyDir(t, pristine, dir)
		s := ftSnapshots(t, dir)
		ftFlip(t, s[0], -7)
		p := startNamed(t, bin, dir, logDir, "fallback-then-traffic", args)
		// More traffic and a clean stop write a new snapshot. The two kept
		// must again be two usable ones: a later corrupt newest snapshot
		// must still fall back (README: "the two newest are kept ... so a
		// corrupt newest snapshot falls back to the previous one").
		more := ftSequential(t, p, key, "sc-c", users, 30)
		p.stop(t)
		want2 := maps.Clone(want)
		for _, r := range more {
			want2[r.user] -= r.amount
		}
		all := append(slices.Clone(refs), more...)
		p = startNamed(t, bin, dir, logDir, "fallback-next", args)
		ftExpectState(t, p, key, users, all, want2)
		p.stop(t)
		s2 := ftSnapshots(t, dir)
		t.Logf("snapshots kept after the fallback run: %v", s2)
		ftFlip(t, s2[0], -7)
		q := launch(t, bin, dir, filepath.Join(logDir, "fallback-second-corruption.log"), args)
		if err := q.ready(); err != nil {
			t.Errorf("BUG: after one fallback start and a clean stop, a corrupt newest snapshot no longer falls back: "+
				"the snapshot kept as the fallback is the one already found unusable, the last good one was pruned and "+
				"the WAL truncated past it. Start-up: %v\n%s", err, lastLine(readLog(q.logPath)))
			return
		}
		ftExpectState(t, q, key, users, all, want2)
		q.stop(t)
	})

	t.Run("both snapshots corrupt and WAL truncated refuses", func(t *testing.T) {
		dir := t.TempDir()
		ftCopyDir(t, pristine, dir)
		for _, s := range ftSnapshots(t, dir) {
			ftFlip(t, s, -7)
		}
		log := ftRefused(t, bin, dir, filepath.Join(logDir, "both-corrupt.log"))
		if strings.Count(log, "snapshot unusable") != 2 || !strings.Contains(log, "does not reach back") {
			t.Errorf("refusal does not name the problem (both snapshots unusable, WAL does not reach back):\n%s", log)
		}
		t.Logf("refused: %s", lastLine(log))
	})

	t.Run("middle WAL entry corrupt refuses", func(t *testing.T) {
		dir := t.TempDir()
		ftCopyDir(t, pristine, dir)
		segs := ftSegments(t, dir)
		seg := segs[len(segs)-1]
		buf, _ := os.ReadFile(seg)
		es := ftEntries(t, buf)
		if len(es) < 5 {
			t.Fatalf("tail segment has %d entries, want at least 5", len(es))
		}
		e := es[len(es)/2]
		ftFlip(t, seg, e.off+e.size-1) // last payload byte: CRC mismatch
		log := ftRefused(t, bin, dir, filepath.Join(logDir, "mid-wal.log"))
		if !strings.Contains(log, seg) || !strings.Contains(log, fmt.Sprintf("offset %d", e.off)) {
			t.Errorf("refusal does not name %s offset %d:\n%s", seg, e.off, log)
		}
		t.Logf("refused: %s", lastLine(log))
	})

	// The untouched copy still starts with the same state.
	p = startNamed(t, bin, pristine, logDir, "pristine", args)
	ftExpectState(t, p, key, users, refs, want)
	p.stop(t)
}

// TestFaultTornTailProcess: after kill -9 during load, a torn entry (its
// length prefix promises more bytes than follow) and then a garbage tail
// are appended to the last segment. Each restart logs what it cut and
// keeps every acknowledged deduct.
func TestFaultTornTailProcess(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	users := []string{"tt_u0", "tt_u1", "tt_u2", "tt_u3"}
	p := startNamed(t, bin, dataDir, logDir, "run0", procOpts{token: ftAdminToken, readyPath: healthPath})
	key := p.partner(ftAdminToken, "payshards", "torn", 100_000_000).APIKey
	for i, u := range users {
		p.credit(u, ftInitial, "tt_topup_"+strconv.Itoa(i))
	}
	var refs []*ftRef
	for cycle, tail := range []func(last []byte) []byte{
		func(last []byte) []byte { return last[:len(last)/2] }, // torn copy of the last entry
		func([]byte) []byte { // garbage
			g := make([]byte, 333)
			rng := rand.New(rand.NewPCG(5, 5))
			for i := range g {
				g[i] = byte(rng.Uint32())
			}
			g[0] = 0xFF // length prefix far beyond EOF
			return g
		},
	} {
		stop := make(chan struct{})
		time.AfterFunc(300*time.Millisecond, func() { close(stop) })
		done := make(chan []*ftRef)
		go func() { done <- ftLoad(t, p, key, fmt.Sprintf("tt%d", cycle), users, 16, stop) }()
		<-stop
		p.kill9(t)
		refs = append(refs, <-done...)

		segs := ftSegments(t, dataDir)
		seg := segs[len(segs)-1]
		buf, err := os.ReadFile(seg)
		if err != nil {
			t.Fatal(err)
		}
		es := ftEntries(t, buf)
		last := es[len(es)-1]
		end := last.off + last.size // zeros may follow: the torn write lands on them
		extra := tail(buf[last.off:end])
		f, err := os.OpenFile(seg, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(extra, int64(end)); err != nil {
			t.Fatal(err)
		}
		f.Close()
		cut := max(len(buf), end+len(extra)) - end

		p = startNamed(t, bin, dataDir, logDir, fmt.Sprintf("run%d", cycle+1), procOpts{token: ftAdminToken, readyPath: healthPath})
		line := grepLine(readLog(p.logPath), "torn tail repaired")
		if !strings.Contains(line, fmt.Sprintf("offset=%d", end)) || !strings.Contains(line, fmt.Sprintf("bytes_cut=%d", cut)) {
			t.Errorf("cycle %d: want a repair line cutting %d bytes at offset %d, got %q", cycle, cut, end, line)
		}
		if bad := logErrors(p.logPath); len(bad) > 0 {
			t.Errorf("cycle %d: restart logged errors: %v", cycle, bad)
		}
		if _, err := os.Stat(seg + ".broken"); err != nil {
			t.Errorf("cycle %d: no .broken copy: %v", cycle, err)
		}
		a, applied := ftCheckAfterRestart(t, p, key, users, refs)
		t.Logf("cycle %d: cut %d bytes; %d acknowledged replayed, %d unknown had been durable", cycle, cut, a, applied)
		if t.Failed() {
			t.FailNow()
		}
	}
	p.stop(t)
}

// ---- overload ----

// ftRSS reads VmRSS of pid in bytes.
func ftRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read /proc status: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// ftMetric returns the value of the first /metrics sample whose line starts
// with prefix.
func ftMetric(t *testing.T, p *ledgerProc, prefix string) float64 {
	t.Helper()
	st, b, err := p.do("GET", "/metrics", nil, nil)
	if err != nil || st != http.StatusOK {
		t.Fatalf("/metrics: %d %v", st, err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	t.Fatalf("no metric %s in /metrics", prefix)
	return 0
}

type ftFloodStats struct {
	byStatus         map[int]int
	transportErrs    int
	maxLatency       time.Duration
	sumAcked         map[string]int64
	badBody, unknown []string
}

// ftFlood runs conns goroutines, each with its own connection, sending
// deducts (unique references, amount 1) to userOf(conn) for d.
func ftFlood(t *testing.T, p *ledgerProc, key, phase string, conns int, d time.Duration, userOf func(int) string) ftFloodStats {
	t.Helper()
	// 2,000 connections opened at once can overflow the listen backlog on a
	// loaded machine, and the kernel then retries SYNs after 1 s, 3 s...:
	// the client's default 3 s dial timeout would call that "no answer".
	// The server is judged on answering, so the client waits as long for a
	// connection as for an answer.
	c := &fasthttp.Client{MaxConnsPerHost: conns + 16, ReadTimeout: 15 * time.Second, WriteTimeout: 15 * time.Second, MaxIdleConnDuration: time.Minute,
		Dial: func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, 15*time.Second) }}
	defer c.CloseIdleConnections()
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out = ftFloodStats{byStatus: map[int]int{}, sumAcked: map[string]int64{}}
	)
	deadline := time.Now().Add(d)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			user := userOf(w)
			local := ftFloodStats{byStatus: map[int]int{}}
			var acked int64
			for n := 0; time.Now().Before(deadline); n++ {
				req.Reset()
				req.SetRequestURI("http://" + p.addr + "/payshards/api/partner/deduct")
				req.Header.SetMethod("POST")
				req.Header.Set("x-api-key", key)
				req.SetBodyString(fmt.Sprintf(`{"userId":%q,"amount":1,"reference":"fl-%s-%d-%d"}`, user, phase, w, n))
				start := time.Now()
				err := c.Do(req, resp)
				lat := time.Since(start)
				if err != nil {
					local.transportErrs++
					if len(local.unknown) < 3 {
						local.unknown = append(local.unknown, err.Error())
					}
					continue
				}
				local.maxLatency = max(local.maxLatency, lat)
				st := resp.StatusCode()
				local.byStatus[st]++
				switch st {
				case http.StatusOK:
					acked++
				case http.StatusTooManyRequests:
				case http.StatusServiceUnavailable:
					if string(resp.Body()) != `{"error":"overloaded"}` || string(resp.Header.Peek("Retry-After")) != "1" {
						local.badBody = append(local.badBody, fmt.Sprintf("503 %s Retry-After %q", resp.Body(), resp.Header.Peek("Retry-After")))
					}
				default:
					local.badBody = append(local.badBody, fmt.Sprintf("%d %s", st, resp.Body()))
				}
			}
			mu.Lock()
			defer mu.Unlock()
			for k, v := range local.byStatus {
				out.byStatus[k] += v
			}
			out.transportErrs += local.transportErrs
			out.maxLatency = max(out.maxLatency, local.maxLatency)
			out.sumAcked[user] += acked
			if len(out.badBody) < 10 {
				out.badBody = append(out.badBody, local.badBody...)
			}
			if len(out.unknown) < 10 {
				out.unknown = append(out.unknown, local.unknown...)
			}
		}()
	}
	wg.Wait()
	return out
}

// TestFaultOverloadFlood: 2000 connections of deducts to one wallet, then
// 2000 connections each on its own wallet. Every request is answered (200,
// 429 or 503 overloaded), fast enough, RSS stays bounded, the balances
// are exactly initial minus the acknowledged deducts (refusals change
// nothing), and normal requests succeed afterwards.
func TestFaultOverloadFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short")
	}
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	p := startNamed(t, bin, dataDir, logDir, "run0", procOpts{token: ftAdminToken, readyPath: healthPath})
	key := p.partner(ftAdminToken, "payshards", "flood", 100_000_000).APIKey
	const conns, hotConns = 2000, 2000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 2*hotConns+500 {
		t.Skipf("open-file limit %d (%v) is too low for %d connections", lim.Cur, err, hotConns)
	}
	hot := "fl_hot"
	p.credit(hot, ftInitial, "fl_topup_hot")
	many := func(i int) string { return "fl_u" + strconv.Itoa(i) }
	parallel(conns, func(i int) { p.credit(many(i), ftInitial, "fl_topup_"+strconv.Itoa(i)) })
	rss0 := ftRSS(t, p.cmd.Process.Pid)

	for _, tc := range []struct {
		name   string
		conns  int
		userOf func(int) string
	}{
		// 503 overloaded is allowed (a wallet queues at most 4,096 requests).
		{"one wallet", hotConns, func(int) string { return hot }},
		{"many wallets", conns, many},
	} {
		start := time.Now()
		s := ftFlood(t, p, key, tc.name, tc.conns, 4*time.Second, tc.userOf)
		rss := ftRSS(t, p.cmd.Process.Pid)
		total := 0
		for _, v := range s.byStatus {
			total += v
		}
		t.Logf("%s: %d answers in %v %v, %d transport errors, max latency %v, RSS %d MiB (start %d MiB)",
			tc.name, total, time.Since(start).Round(time.Millisecond), s.byStatus, s.transportErrs, s.maxLatency.Round(time.Millisecond), rss>>20, rss0>>20)
		if s.transportErrs > 0 {
			t.Errorf("%s: %d requests got no HTTP answer, e.g. %v", tc.name, s.transportErrs, s.unknown)
		}
		if len(s.badBody) > 0 {
			t.Errorf("%s: unexpected answers: %v", tc.name, s.badBody)
		}
		if s.byStatus[http.StatusOK] == 0 {
			t.Errorf("%s: no deduct succeeded during the flood", tc.name)
		}
		if s.maxLatency > 10*time.Second {
			t.Errorf("%s: slowest answer took %v", tc.name, s.maxLatency)
		}
		if rss > 500<<20 {
			t.Errorf("%s: RSS %d MiB, want < 500 MiB", tc.name, rss>>20)
		}
		for u, n := range s.sumAcked {
			if got := p.mustBalance(key, u); got != ftInitial-n {
				t.Errorf("%s: %s balance %d, want %d (initial minus %d acknowledged deducts of 1)", tc.name, u, got, ftInitial-n, n)
			}
		}
		// Recovered: a normal request succeeds at once.
		st, res, err := p.op("deduct", key, hot, 1, "fl_after_"+tc.name)
		if err != nil || st != http.StatusOK || !res.Success {
			t.Errorf("%s: deduct after the flood: %d %+v %v", tc.name, st, res, err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	p.stop(t)
}

// TestFaultUnknownUserReadFlood: balance reads for distinct unknown users
// (200k by default, LEDGERD_OVERLOAD_READS for more) are all 404
// unknown_user, create nothing (no committed event, live wallet actors
// back to ~0) and leave RSS flat.
func TestFaultUnknownUserReadFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short")
	}
	total := 200_000
	budget := 20 * time.Second
	if s := os.Getenv("LEDGERD_OVERLOAD_READS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("LEDGERD_OVERLOAD_READS=%q", s)
		}
		total, budget = v, 10*time.Minute
	}
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	// GOGC=100: the RSS bound below is a leak check, and ledgerd's default
	// target (--gc-percent 400) lets garbage take five times the live heap.
	p := startNamed(t, bin, dataDir, logDir, "run0", procOpts{token: ftAdminToken, readyPath: healthPath, env: []string{"GOGC=100"}})
	key := p.partner(ftAdminToken, "payshards", "readflood", 100_000_000).APIKey
	p.credit("rf_known", 100, "rf_topup")

	const conns = 64
	c := &fasthttp.Client{MaxConnsPerHost: conns + 8, ReadTimeout: 15 * time.Second, WriteTimeout: 15 * time.Second}
	defer c.CloseIdleConnections()
	var next, done, bad atomic.Int64
	var badMu sync.Mutex
	var badEx []string
	run := func(n int64, deadline time.Time) {
		var wg sync.WaitGroup
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.Header.Set("x-api-key", key)
				uri := make([]byte, 0, 128)
				for {
					i := next.Add(1)
					if i > n || time.Now().After(deadline) {
						return
					}
					uri = append(uri[:0], "http://"+p.addr+"/payshards/api/partner/balance?userId=rf_unknown_"...)
					uri = strconv.AppendInt(uri, i, 10)
					req.SetRequestURIBytes(uri)
					err := c.Do(req, resp)
					if err != nil || resp.StatusCode() != http.StatusNotFound || string(resp.Body()) != `{"error":"unknown_user"}` {
						bad.Add(1)
						badMu.Lock()
						if len(badEx) < 5 {
							badEx = append(badEx, fmt.Sprintf("%d %s %v", resp.StatusCode(), resp.Body(), err))
						}
						badMu.Unlock()
						continue
					}
					done.Add(1)
				}
			}()
		}
		wg.Wait()
	}
	// Warm up (connections, buffers, the Go heap's first growth) before the
	// RSS baseline.
	run(5_000, time.Now().Add(10*time.Second))
	events0 := ftMetric(t, p, "ledgerd_committed_events_total")
	rss0 := ftRSS(t, p.cmd.Process.Pid)
	start := time.Now()
	run(int64(total)+5_000, start.Add(budget))
	took := time.Since(start)
	rss1 := ftRSS(t, p.cmd.Process.Pid)
	n := done.Load()
	t.Logf("%d unknown-user reads (%d bad) in %v (%.0f/s); RSS %d → %d MiB", n, bad.Load(), took.Round(time.Millisecond),
		float64(n)/took.Seconds(), rss0>>20, rss1>>20)
	if bad.Load() > 0 {
		t.Errorf("%d reads did not get 404 unknown_user, e.g. %v", bad.Load(), badEx)
	}
	if n < 50_000 {
		t.Errorf("only %d reads answered in %v", n, budget)
	}
	if rss1-rss0 > 50<<20 {
		t.Errorf("RSS grew by %d MiB over %d unknown-user reads, want < 50 MiB", (rss1-rss0)>>20, n)
	}
	if ev := ftMetric(t, p, "ledgerd_committed_events_total"); ev != events0 {
		t.Errorf("unknown-user reads committed %v events; want none", ev-events0)
	}
	var live float64
	for range 50 {
		if live = ftMetric(t, p, `ledgerd_live_actors{kind="wallet"}`); live <= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if live > 2 {
		t.Errorf("%v wallet actors alive after the reads; want ~0", live)
	}
	if got := p.mustBalance(key, "rf_known"); got != 100 {
		t.Errorf("known user balance %d after the flood", got)
	}
	p.stop(t)
}
