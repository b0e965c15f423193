package main

import (
	"bytes"
	"io"
	"log/slog"
	"regexp"
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

// TestSeedDemo_KeysLikeOthers: both demo keys are pk_live_ and 48
// characters, like every key the admin API makes, and keep their last 4
// characters for the key listing's display.
func TestSeedDemo_KeysLikeOthers(t *testing.T) {
	s := startSystem(t, t.TempDir())
	defer s.Stop()
	var out bytes.Buffer
	if err := seedDemo(s, &out); err != nil {
		t.Fatal(err)
	}
	for _, api := range []string{"PayShards", "PayPay.cards"} {
		env := map[string]string{"PayShards": "PAYSHARDS_KEY", "PayPay.cards": "PAYPAY_KEY"}[api]
		m := regexp.MustCompile(`demo ` + regexp.QuoteMeta(api) + ` partner (ptr_demo_[0-9a-f]+);[^\n]*\nexport ` + env + `=(pk_live_(\S*))\n`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("%s: no partner and key in %q", api, out.String())
		}
		if len(m[3]) != 48 {
			t.Errorf("%s key %q: %d characters after pk_live_, want 48", api, m[2], len(m[3]))
		}
		p, ok := s.PartnerByID(m[1])
		if !ok || len(p.Keys) != 1 {
			t.Fatalf("%s partner %s: %v %+v", api, m[1], ok, p)
		}
		if k := p.Keys[0]; k.Hint != m[2][len(m[2])-4:] || !bytes.Equal(k.Hash, hashOf(m[2])) {
			t.Errorf("%s key stored as hint %q hash %x, want the key's last 4 and its SHA-256", api, k.Hint, k.Hash)
		}
	}
}

func hashOf(key string) []byte { h := engine.HashKey([]byte(key)); return h[:] }

// TestSeedPaySmartDemo_SameKeysEveryStart: --demo prints the PaySmart demo
// account's four keys, each on its own export line; they are stored as
// hashes only, and a restart prints the same keys and commits nothing.
func TestSeedPaySmartDemo_SameKeysEveryStart(t *testing.T) {
	dir := t.TempDir()
	master := bytes.Repeat([]byte{7}, 32)
	s := startSystem(t, dir)
	var out bytes.Buffer
	if err := seedPaySmartDemo(s, &out, master); err != nil {
		t.Fatal(err)
	}
	first := out.String()
	re := regexp.MustCompile(`(?m)^export PAYSMART_SECRET_KEY=(sk_test_[0-9a-f]{48})\nexport PAYSMART_PUBLISHABLE_KEY=(pk_test_[0-9a-f]{48})\n` +
		`export PAYSMART_LIVE_SECRET_KEY=(sk_live_[0-9a-f]{48})\nexport PAYSMART_LIVE_PUBLISHABLE_KEY=(pk_live_[0-9a-f]{48})\n$`)
	m := re.FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("printed %q: want the four export lines", first)
	}
	p, ok := s.PartnerByID(demoPaySmartAccount)
	if !ok || p.API != "paysmart" || len(p.Keys) != 4 {
		t.Fatalf("demo account: %v %+v", ok, p)
	}
	for i, key := range m[1:] {
		if k := p.Keys[i]; !bytes.Equal(k.Hash, hashOf(key)) || k.Hint != key[:8]+"…"+key[len(key)-4:] {
			t.Errorf("key %d stored as %x/%q, want the SHA-256 and prefix + last 4 of %s…", i, k.Hash, k.Hint, key[:8])
		}
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}

	s = startSystem(t, dir)
	defer s.Stop()
	before := s.Stats().Events
	out.Reset()
	if err := seedPaySmartDemo(s, &out, master); err != nil {
		t.Fatal(err)
	}
	if out.String() != first {
		t.Fatalf("second start printed %q, want the first start's %q", out.String(), first)
	}
	if after := s.Stats().Events; after != before {
		t.Fatalf("events %d after restart, %d after the second seed: want no new event", before, after)
	}
	if p, _ := s.PartnerByID(demoPaySmartAccount); len(p.Keys) != 4 {
		t.Fatalf("after restart the account has %d keys, want 4", len(p.Keys))
	}

	// Another master key: other keys, added to the same account.
	out.Reset()
	if err := seedPaySmartDemo(s, &out, bytes.Repeat([]byte{8}, 32)); err != nil {
		t.Fatal(err)
	}
	if m2 := re.FindStringSubmatch(out.String()); m2 == nil || m2[1] == m[1] {
		t.Fatalf("another master key printed %q", out.String())
	}
	if p, _ := s.PartnerByID(demoPaySmartAccount); len(p.Keys) != 8 {
		t.Fatalf("after a new master key the account has %d keys, want 8", len(p.Keys))
	}
}
