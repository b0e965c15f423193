package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"ledgerd/actors"
	"ledgerd/engine"
)

func startSystem(t *testing.T, dir string) *actors.System {
	t.Helper()
	s, err := actors.Start(actors.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSeedDemo_PrintsCurrentBalance: the second --demo start must print
// u_123's balance as it is now, not the top-up's original 1500.
func TestSeedDemo_PrintsCurrentBalance(t *testing.T) {
	dir := t.TempDir()
	s := startSystem(t, dir)
	var out bytes.Buffer
	if err := seedDemo(s, &out); err != nil {
		t.Fatal(err)
	}
	if want := "user u_123 has 1500 shards"; !strings.Contains(out.String(), want) {
		t.Fatalf("first start printed %q, want %q", out.String(), want)
	}
	if _, err := s.CreatePartner("p_spend", "payshards", "spender", 600, actors.NewKey{ID: "k", Hash: engine.HashKey([]byte("spend")), Hint: "pend"}); err != nil {
		t.Fatal(err)
	}
	op := actors.NewOp()
	op.Kind, op.Partner, op.User, op.Amount, op.Reference = actors.KindDeduct, "p_spend", demoUser, 2, "spend_1"
	s.Do(op)
	if op.Status != actors.StatusOK || op.Balance != 1498 {
		t.Fatalf("deduct: status %d balance %d", op.Status, op.Balance)
	}
	op.Release()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	s = startSystem(t, dir)
	defer s.Stop()
	out.Reset()
	if err := seedDemo(s, &out); err != nil {
		t.Fatal(err)
	}
	if want := "user u_123 has 1498 shards"; !strings.Contains(out.String(), want) {
		t.Fatalf("second start printed %q, want %q", out.String(), want)
	}
}
