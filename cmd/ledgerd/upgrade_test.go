package main

// Upgrade tests (principle 8): today's binary opens the golden data dir of
// every released format (testdata/upgrade/v<N>/, made by regen.sh with that
// release's binary) and serves the same ledger; a format from the future
// stops start-up and leaves every file as it was.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/wal"
)

// golden is testdata/upgrade/v<N>/expected.json.
type golden struct {
	Commit     string `json:"commit"`
	AdminToken string `json:"admin_token"`
	Balances   map[string]struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"balances"`
	Requests []struct {
		Note    string            `json:"note"`
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Body    any               `json:"body"`
		First   answer            `json:"first"`
		Replay  answer            `json:"replay"`
	} `json:"requests"`
	Partners map[string]partnerInfo `json:"partners"`
}

type answer struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

var requestIDRE = regexp.MustCompile(`"request_id":"[^"]*"`)

// copyGolden copies testdata/upgrade/<version> (its data files only) into
// a fresh data dir, with the LOCK file a data dir that ran has, and reads
// its expected.json.
func copyGolden(t *testing.T, version string) (string, golden) {
	t.Helper()
	src := filepath.Join("testdata", "upgrade", version)
	dst := filepath.Join(t.TempDir(), "data")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		if rel == "expected.json" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(dst, "LOCK"), nil, 0o600)
	}
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	b, err := os.ReadFile(filepath.Join(src, "expected.json"))
	if err == nil {
		err = json.Unmarshal(b, &g)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dst, g
}

// dirHashes lists every file under dir with the SHA-256 of its bytes.
func dirHashes(t *testing.T, dir string) map[string]string {
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

func verifyClean(t *testing.T, bin, dataDir string) string {
	t.Helper()
	out, err := exec.Command(bin, "verify", "--data", dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("ledgerd verify: %v\n%s", err, out)
	}
	return string(out)
}

// checkGolden asks a running ledgerd for the golden balances and replays
// every golden request: each must get the answer its replay got from the
// binary that made the dir, byte for byte (a request_id only where that
// binary itself gave a fresh one on the replay).
func checkGolden(t *testing.T, p *ledgerProc, g golden) {
	t.Helper()
	key := g.Partners["payshards"].APIKey
	for user, want := range g.Balances {
		st, body, err := p.do("GET", "/payshards/api/partner/balance?userId="+user, map[string]string{"x-api-key": key}, nil)
		if err != nil || st != want.Status || string(body) != want.Body {
			t.Errorf("balance of %s: %d %s (%v), want %d %s", user, st, body, err, want.Status, want.Body)
		}
	}
	for i, r := range g.Requests {
		st, body, err := p.do(r.Method, r.Path, r.Headers, r.Body)
		got, want := string(body), r.Replay.Body
		if requestIDRE.FindString(r.First.Body) != requestIDRE.FindString(want) {
			got, want = requestIDRE.ReplaceAllString(got, `"request_id":"*"`), requestIDRE.ReplaceAllString(want, `"request_id":"*"`)
		}
		if err != nil || st != r.Replay.Status || got != want {
			t.Errorf("request %d (%s %s, %s): %d %s (%v), want %d %s", i, r.Method, r.Path, r.Note, st, body, err, r.Replay.Status, r.Replay.Body)
		}
	}
}

// TestUpgradeGoldenV2: the data dir of the last v2 binary (commit in
// expected.json) opens with today's binary: the verifier is clean, the
// balances and every idempotent replay are the same, and after a clean
// stop after one new event (a v3 snapshot next to a v2 one) it opens
// again the same.
func TestUpgradeGoldenV2(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, g := copyGolden(t, "v2")
	if len(g.Requests) < 20 || len(g.Balances) < 4 {
		t.Fatalf("golden dir of %s holds %d requests, %d balances", g.Commit, len(g.Requests), len(g.Balances))
	}
	verifyClean(t, bin, dataDir)
	logDir := t.TempDir()
	o := procOpts{token: g.AdminToken}
	p := startNamed(t, bin, dataDir, logDir, "v2-first", o)
	checkGolden(t, p, g)
	if b := p.credit("u_after_upgrade", 5, "topup_after_upgrade"); b != 5 { // a new event: a v3 snapshot at the stop
		t.Fatalf("credit after the upgrade: balance %d", b)
	}
	p.stop(t)
	if log := readLog(p.logPath); strings.Contains(log, ".corrupt") || strings.Contains(log, "level=ERROR") {
		t.Errorf("opening the v2 dir logged an error:\n%s", log)
	}
	if aside, _ := filepath.Glob(filepath.Join(dataDir, "snapshots", "*.corrupt")); len(aside) > 0 {
		t.Fatalf("snapshots moved aside: %v", aside)
	}
	infos, err := wal.NewestSnapshots(filepath.Join(dataDir, "snapshots"))
	if err != nil || len(infos) != 2 {
		t.Fatalf("snapshots after a clean stop: %v %v", infos, err)
	}
	snap, err := wal.ReadSnapshot(infos[0].Path)
	if err != nil || len(snap.Payload) < 2 || snap.Payload[1] != engine.SnapshotVersion {
		t.Fatalf("newest snapshot after a clean stop is not v%d: %v", engine.SnapshotVersion, err)
	}
	out := verifyClean(t, bin, dataDir) // one v2 and one v3 snapshot
	if !strings.Contains(out, "OK") {
		t.Fatalf("verify:\n%s", out)
	}
	p = startNamed(t, bin, dataDir, logDir, "v2-second", o)
	checkGolden(t, p, g)
	p.stop(t)
}

// refuseStart starts ledgerd on dataDir and wants it to stop at once with
// a non-zero code, a log naming every one of want, and every file of the
// data dir as it was.
func refuseStart(t *testing.T, bin, dataDir string, g golden, want ...string) {
	t.Helper()
	before := dirHashes(t, dataDir)
	p := launch(t, bin, dataDir, filepath.Join(t.TempDir(), "refused.log"), procOpts{token: g.AdminToken})
	code, exited := p.exitWithin(readyTimeout)
	if !exited {
		t.Fatalf("ledgerd started on a format it does not know\n--- log ---\n%s", readLog(p.logPath))
	}
	log := readLog(p.logPath)
	if code == 0 {
		t.Fatalf("exit code 0\n%s", log)
	}
	for _, w := range want {
		if !strings.Contains(log, w) {
			t.Errorf("log does not name %q:\n%s", w, log)
		}
	}
	after := dirHashes(t, dataDir)
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

// TestUpgradeRefusesFutureSnapshot: the newest snapshot of the golden dir
// replaced by one of a newer format (container version, section, section
// version): start-up stops naming file and format; no file moves.
func TestUpgradeRefusesFutureSnapshot(t *testing.T) {
	bin := buildLedgerd(t)
	cases := map[string]struct {
		payload []byte
		want    string
	}{
		"container version 99": {[]byte{0x92, 0x63, 0x90}, "container version 99"},
		"unknown section": {[]byte{0x92, 0x03, 0x91, 0x93, 0xa8, 'w', 'e', 'b', 'h', 'o', 'o', 'k', 's', 0x01, 0xc4, 0x01, 0x90},
			`section \"webhooks\" (version 1)`},
		"unknown section version": {[]byte{0x92, 0x03, 0x91, 0x93, 0xa6, 'p', 'a', 'y', 'p', 'a', 'y', 0x05, 0xc4, 0x01, 0x90},
			`section \"paypay\" version 5`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dataDir, g := copyGolden(t, "v2")
			snapDir := filepath.Join(dataDir, "snapshots")
			infos, err := wal.NewestSnapshots(snapDir)
			if err != nil || len(infos) == 0 {
				t.Fatal(infos, err)
			}
			if err := wal.WriteSnapshot(snapDir, infos[0].Index, c.payload); err != nil {
				t.Fatal(err)
			}
			refuseStart(t, bin, dataDir, g, filepath.Base(infos[0].Path), c.want, "no file changed")
		})
	}
}

// TestUpgradeRefusesFutureEvent: a CRC-valid WAL entry, the last of the
// log, holding event type 200 stops start-up naming type and entry; it is
// not cut as a torn tail, and no file moves.
func TestUpgradeRefusesFutureEvent(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, g := copyGolden(t, "v2")
	l, err := wal.Open(filepath.Join(dataDir, "wal"), wal.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	index, err := l.Append([]byte{0x91, 0x93, 0xcc, 200, 0x01, 0x01}) // [[200, 1, 1]]
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	refuseStart(t, bin, dataDir, g, "wal entry "+strconv.FormatUint(index, 10), "unknown event type 200", "no file changed")
	// And once more: the refusal is not a state that wears off.
	start := time.Now()
	refuseStart(t, bin, dataDir, g, "unknown event type 200")
	t.Logf("refused twice, the second time in %v", time.Since(start).Round(time.Millisecond))
}
