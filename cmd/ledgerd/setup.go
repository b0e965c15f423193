package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ledgerd/actors"
	"ledgerd/api/paypay"
	"ledgerd/api/paysmart"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

const adminTokenFile = "admin-token"

// adminToken returns LEDGERD_ADMIN_TOKEN, else the token in
// <data>/admin-token, creating that file (mode 0600) on first start.
func adminToken(dataDir string, logger *slog.Logger) (string, error) {
	if t := os.Getenv("LEDGERD_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	path := filepath.Join(dataDir, adminTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			logger.Info("admin token read", slog.String("path", path))
			return t, nil
		}
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate admin token: %w", err)
	}
	token := "adm_" + hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	logger.Info("admin token generated", slog.String("path", path))
	return token, nil
}

// Demo seed: a fresh PayShards partner on every --demo start (only key
// hashes are stored, so an old key cannot be shown again) and user u_123
// topped up to 1500 shards once; the line printed shows u_123's current
// balance.
const (
	demoUser      = "u_123"
	demoAmount    = 1500
	demoReference = "demo_topup_u_123"
)

func seedDemo(sys *actors.System, out io.Writer) error {
	key, newKey := demoKey()
	id := "ptr_demo_" + randomHex(8)
	if _, err := sys.CreatePartner(id, "payshards", "Demo partner", 600, newKey); err != nil {
		return fmt.Errorf("demo partner: %w", err)
	}
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.User, op.Amount, op.Reference = actors.KindCredit, demoUser, demoAmount, demoReference
	sys.Do(op)
	if op.Status != actors.StatusOK {
		return fmt.Errorf("demo credit: status %d", op.Status)
	}
	// On a later start the credit is a replay whose Balance is the one it
	// left then; what the user has now is a read.
	balance := op.Balance
	if op.Idempotent {
		read := actors.NewOp()
		defer read.Release()
		read.Kind, read.User = actors.KindBalance, demoUser
		sys.Do(read)
		if read.Status != actors.StatusOK {
			return fmt.Errorf("demo balance: status %d", read.Status)
		}
		balance = read.Balance
	}
	fmt.Fprintf(out, "demo PayShards partner %s; user %s has %d shards\nexport PAYSHARDS_KEY=%s\n", id, demoUser, balance, key)
	return seedPayPayDemo(sys, out)
}

// seedPayPayDemo creates a PayPay.cards partner with three month codes
// valid for 30 days, and prints its key and the codes.
func seedPayPayDemo(sys *actors.System, out io.Writer) error {
	key, newKey := demoKey()
	id := "ptr_demo_" + randomHex(8)
	if _, err := sys.CreatePartner(id, paypay.APIName, "Demo PayPay.cards partner", 60, newKey); err != nil {
		return fmt.Errorf("demo paypay partner: %w", err)
	}
	codes := []string{paypay.NewCode(), paypay.NewCode(), paypay.NewCode()}
	expires := time.Now().Add(30 * 24 * time.Hour).UnixMilli()
	if _, err := sys.IssueCodes(id, codes, "month", "1 month", expires); err != nil {
		return fmt.Errorf("demo codes: %w", err)
	}
	fmt.Fprintf(out, "demo PayPay.cards partner %s; codes %s\nexport PAYPAY_KEY=%s\nexport PAYPAY_CODE=%s\n",
		id, strings.Join(codes, " "), key, codes[0])
	return nil
}

// demoKeyChars is the random part of a demo key: as long as the admin
// API's keys (pk_live_ + 48 characters), here in hex.
const demoKeyChars = 48

// demoKey makes a demo partner key and what is stored of it: its SHA-256
// and last 4 characters.
func demoKey() (string, actors.NewKey) {
	key := "pk_live_" + randomHex(demoKeyChars)
	return key, actors.NewKey{ID: "key_demo_" + randomHex(8), Hash: engine.HashKey([]byte(key)), Hint: key[len(key)-4:]}
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// The PaySmart demo account: one account, acct_demo, whose four keys are
// derived from the webhook master key (HMAC-SHA256 keyed with it), so
// every --demo start prints the same keys and the account is created only
// once; only the keys' hashes are stored, as for every key.
const (
	demoPaySmartAccount = "acct_demo"
	demoPaySmartName    = "Demo PaySmart account"
	demoPaySmartLabel   = "ledgerd demo paysmart "
)

// demoPaySmartKeys are the environment variable and key prefix of each
// demo key, in the order printed.
var demoPaySmartKeys = [...]struct{ env, prefix string }{
	{"PAYSMART_SECRET_KEY", paysmart.PrefixSecretTest},
	{"PAYSMART_PUBLISHABLE_KEY", paysmart.PrefixPublishableTest},
	{"PAYSMART_LIVE_SECRET_KEY", paysmart.PrefixSecretLive},
	{"PAYSMART_LIVE_PUBLISHABLE_KEY", paysmart.PrefixPublishableLive},
}

// demoPaySmartKey is the demo key with prefix: the prefix and 48 hex
// characters of HMAC-SHA256(master, label + prefix).
func demoPaySmartKey(master []byte, prefix string) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(demoPaySmartLabel + prefix))
	return prefix + hex.EncodeToString(m.Sum(nil))[:demoKeyChars]
}

// seedPaySmartDemo creates the demo account with its keys, or, on a later
// start, adds any key it lacks (the master key changed, or a start stopped
// between two key events), and prints the four keys.
func seedPaySmartDemo(sys *actors.System, out io.Writer, master []byte) error {
	var keys [len(demoPaySmartKeys)]string
	for i, k := range demoPaySmartKeys {
		keys[i] = demoPaySmartKey(master, k.prefix)
	}
	p, ok := sys.PartnerByID(demoPaySmartAccount)
	if !ok {
		created, err := sys.CreatePartner(demoPaySmartAccount, ps.API, demoPaySmartName, paysmart.DefaultRateLimit, demoPaySmartNewKey(keys[0]))
		if err != nil {
			return fmt.Errorf("demo paysmart account: %w", err)
		}
		p = &created
	}
	if p.API != ps.API {
		return fmt.Errorf("demo paysmart account: %s is a partner of %q", demoPaySmartAccount, p.API)
	}
	for _, key := range keys {
		if hasKey(p, key) {
			continue
		}
		added, err := sys.AddKey(demoPaySmartAccount, demoPaySmartNewKey(key))
		if err != nil {
			return fmt.Errorf("demo paysmart key: %w", err)
		}
		p = &added
	}
	fmt.Fprintf(out, "demo PaySmart account %s (test and live keys)\n", demoPaySmartAccount)
	for i, k := range demoPaySmartKeys {
		fmt.Fprintf(out, "export %s=%s\n", k.env, keys[i])
	}
	return nil
}

// hasKey reports whether p holds key. A key an operator revoked is held
// too: it stays revoked (a key hash is never added twice).
func hasKey(p *engine.Partner, key string) bool {
	h := engine.HashKey([]byte(key))
	for _, k := range p.Keys {
		if hmac.Equal(k.Hash, h[:]) {
			return true
		}
	}
	return false
}

func demoPaySmartNewKey(key string) actors.NewKey {
	return actors.NewKey{ID: "key_demo_" + randomHex(16), Hash: engine.HashKey([]byte(key)), Hint: paysmart.KeyHint(key)}
}
