package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/verify"
	"ledgerd/wal"
)

// verifyDataDir runs the offline verifier in-process on a data dir whose
// ledgerd is down (after a kill -9, before the restart) and fails the test
// on any violation.
func verifyDataDir(t *testing.T, dataDir, when string) {
	t.Helper()
	rep, err := verify.Run(verify.Options{DataDir: dataDir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatalf("verify %s: %v", when, err)
	}
	torn := ""
	if rep.TornTail != nil {
		torn = "; torn tail of " + itoa(rep.TornTail.Bytes) + " bytes would be cut"
	}
	t.Logf("verify %s: entries %d..%d (%d events), %d snapshot(s), rebuilds %d, %d wallets, total balance %d, %d codes (%d redeemed), %d idempotency records%s; %v",
		when, rep.WALFirst, rep.WALLast, rep.Events, len(rep.Snapshots), len(rep.Rebuilds), rep.Wallets, rep.Balance,
		rep.Codes, rep.Redeemed, rep.Idem, torn, rep.Duration.Round(time.Millisecond))
	if !rep.OK {
		for _, v := range rep.Violations {
			t.Errorf("verify %s: %s", when, v)
		}
		for _, n := range rep.Notes {
			t.Logf("verify %s: note: %s", when, n)
		}
		t.FailNow()
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// verifyWithBinary runs `ledgerd verify --data dataDir` and wants exit 0.
func verifyWithBinary(t *testing.T, bin, dataDir string) {
	t.Helper()
	out, err := exec.Command(bin, "verify", "--data", dataDir).CombinedOutput()
	if err != nil {
		t.Fatalf("ledgerd verify: %v\n%s", err, out)
	}
	t.Logf("ledgerd verify:\n%s", out)
}

// verifyFixture writes a small ledger with a real actors.System: PayShards
// credits, deducts and refunds, and PayPay.cards redeems, stopped cleanly.
func verifyFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := actors.Start(actors.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	for i, api := range []string{"payshards", "paypay"} {
		h := engine.HashKey([]byte{byte(i)})
		if _, err := s.CreatePartner("p_"+api, api, api, 600, actors.NewKey{ID: "k", Hash: h, Hint: "abcd"}); err != nil {
			t.Fatal(err)
		}
	}
	do := func(kind actors.Kind, partner, user, ref, card string, amount int64) {
		op := actors.NewOp()
		defer op.Release()
		op.Kind, op.Partner, op.User, op.Reference, op.Card, op.Amount = kind, partner, user, ref, card, amount
		op.RequestID, op.RedemptionID = "req_"+ref, "rdm_"+ref
		s.Do(op)
		if op.Status != actors.StatusOK {
			t.Fatalf("op %d %s: status %d", kind, ref, op.Status)
		}
	}
	do(actors.KindCredit, "", "u1", "top", "", 1000)
	for i := range 20 {
		do(actors.KindDeduct, "p_payshards", "u1", "d"+itoa(int64(i)), "", 7)
	}
	do(actors.KindRefund, "p_payshards", "u1", "r1", "", 7)
	if _, err := s.IssueCodes("p_paypay", []string{"C1", "C2", "C3"}, "month", "1 month", time.Now().Add(time.Hour).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	do(actors.KindRedeem, "p_paypay", "", "key1", "C1", 0)
	do(actors.KindRedeem, "p_paypay", "", "key2", "C2", 0)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerifyCommand(t *testing.T) {
	dir := verifyFixture(t)

	code, out, errOut := runCLI("verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "\nOK in ") || !strings.Contains(out, "1 wallets, total balance 867") {
		t.Fatalf("clean dir: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("human output:\n%s", out)

	code, out, _ = runCLI("verify", "--json", "--data", dir)
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || rep.Codes != 3 || rep.Redeemed != 2 || len(rep.Snapshots) != 1 {
		t.Fatalf("--json: exit %d err %v\n%s", code, err, out)
	}

	// Usage errors.
	if code, _, _ := runCLI("verify", "--data", dir, "extra"); code != 2 {
		t.Errorf("extra argument: exit %d, want 2", code)
	}
	if code, _, _ := runCLI("verify", "--nope"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
	if code, _, errOut := runCLI("verify", "--data", filepath.Join(dir, "missing")); code != 2 || errOut == "" {
		t.Errorf("missing dir: exit %d %q, want 2", code, errOut)
	}

	// A running ledgerd holds the lock: exit 2, nothing checked.
	unlock, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI("verify", "--data", dir)
	unlock()
	if code != 2 || !strings.Contains(errOut, "locked") || out != "" {
		t.Fatalf("locked dir: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}

	// A crafted entry with a valid CRC that breaks conservation: exit 1.
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := engine.NewEncoder().EncodeBatch([]engine.Event{&payshards.Credited{Stamp: engine.Stamp{TimeMs: 1}, User: "u1",
		Reference: "forged", Amount: 10, BalanceAfter: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(payload); err != nil {
		t.Fatal(err)
	}
	l.Close()
	code, out, _ = runCLI("verify", "--data", dir)
	if code != 1 || !strings.Contains(out, "VIOLATION    apply:") || !strings.Contains(out, `"forged"`) || !strings.Contains(out, "FAILED") {
		t.Fatalf("tampered dir: exit %d\n%s", code, out)
	}
	t.Logf("tampered output:\n%s", out)
}
