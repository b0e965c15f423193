package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ledgerd/actors/outbox"
)

// TestParseFlags_PublicURLAndWebhooks: --public-url is checked and
// normalized, LEDGERD_PUBLIC_URL and LEDGERD_WEBHOOKS_INSECURE set the
// defaults, a flag wins over the environment and --demo implies
// --webhooks-insecure.
func TestParseFlags_PublicURLAndWebhooks(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		args          []string
		wantURL       string
		wantInsecure  bool
		wantErrSubstr string
	}{
		{name: "defaults", wantURL: "", wantInsecure: false},
		{name: "flag", args: []string{"--public-url", "https://pay.example.com/"}, wantURL: "https://pay.example.com"},
		{name: "path prefix kept", args: []string{"--public-url", "https://example.com/ledgerd//"}, wantURL: "https://example.com/ledgerd"},
		{name: "env", env: map[string]string{"LEDGERD_PUBLIC_URL": "http://10.0.0.5:8080"}, wantURL: "http://10.0.0.5:8080"},
		{name: "flag wins", env: map[string]string{"LEDGERD_PUBLIC_URL": "http://a:1"}, args: []string{"--public-url", "http://b:2"}, wantURL: "http://b:2"},
		{name: "relative", args: []string{"--public-url", "/pay"}, wantErrSubstr: "--public-url"},
		{name: "other scheme", args: []string{"--public-url", "ftp://example.com"}, wantErrSubstr: "--public-url"},
		{name: "user info", args: []string{"--public-url", "https://u:p@example.com"}, wantErrSubstr: "--public-url"},
		{name: "query", args: []string{"--public-url", "https://example.com/?a=1"}, wantErrSubstr: "--public-url"},
		{name: "insecure flag", args: []string{"--webhooks-insecure"}, wantInsecure: true},
		{name: "insecure env", env: map[string]string{"LEDGERD_WEBHOOKS_INSECURE": "1"}, wantInsecure: true},
		{name: "insecure env off, flag on", env: map[string]string{"LEDGERD_WEBHOOKS_INSECURE": "0"}, args: []string{"--webhooks-insecure"}, wantInsecure: true},
		{name: "insecure env bad", env: map[string]string{"LEDGERD_WEBHOOKS_INSECURE": "maybe"}, wantErrSubstr: "LEDGERD_WEBHOOKS_INSECURE"},
		{name: "demo implies insecure", args: []string{"--demo"}, wantInsecure: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range []string{"LEDGERD_PUBLIC_URL", "LEDGERD_WEBHOOKS_INSECURE"} {
				t.Setenv(name, c.env[name])
			}
			var stderr strings.Builder
			o, err := parseFlags(c.args, &stderr)
			if c.wantErrSubstr != "" {
				if err == nil || !strings.Contains(stderr.String(), c.wantErrSubstr) {
					t.Fatalf("err %v, stderr %q: want an error naming %s", err, stderr.String(), c.wantErrSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("err %v, stderr %q", err, stderr.String())
			}
			if o.publicURL != c.wantURL || o.webhooksInsecure != c.wantInsecure {
				t.Fatalf("publicURL %q insecure %v, want %q %v", o.publicURL, o.webhooksInsecure, c.wantURL, c.wantInsecure)
			}
		})
	}
}

// TestDefaultPublicURL: without --public-url the URLs point at the
// listening address, loopback for an unspecified host.
func TestDefaultPublicURL(t *testing.T) {
	cases := []struct {
		addr string
		tls  bool
		want string
	}{
		{"127.0.0.1:8080", false, "http://127.0.0.1:8080"},
		{"0.0.0.0:8080", false, "http://127.0.0.1:8080"},
		{"[::]:8443", true, "https://127.0.0.1:8443"},
		{"192.168.1.7:9000", false, "http://192.168.1.7:9000"},
		{"[::1]:8080", false, "http://[::1]:8080"},
	}
	for _, c := range cases {
		addr, err := net.ResolveTCPAddr("tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultPublicURL(addr, c.tls); got != c.want {
			t.Errorf("defaultPublicURL(%s, tls=%v) = %q, want %q", c.addr, c.tls, got, c.want)
		}
	}
}

// TestServe_WebhookSender: the server runs the webhook sender (its metrics
// are served), creates the master key file with mode 0600 on first start
// and reads the same key on the next, logs its public URL but never the
// key, and stops cleanly on SIGTERM. A bad LEDGERD_WEBHOOK_KEY stops
// start-up with a message naming it.
func TestServe_WebhookSender(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	p := startNamed(t, bin, dataDir, logDir, "first", procOpts{token: "adm_webhooks_test", args: []string{"--webhooks-insecure"}})
	for _, metric := range []string{"ledgerd_webhook_oldest_pending_seconds 0"} {
		st, b, err := p.do("GET", "/metrics", nil, nil)
		if err != nil || st != 200 || !strings.Contains(string(b), metric) {
			t.Fatalf("/metrics: status %d err %v; want a line %q", st, err, metric)
		}
	}
	keyPath := filepath.Join(dataDir, outbox.KeyFile)
	info, err := os.Stat(keyPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("webhook key file: %v %v, want mode 0600", info, err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	log := readLog(p.logPath)
	if want := "publicURL=http://" + p.addr; !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if !strings.Contains(log, "webhooksInsecure=true") {
		t.Errorf("log lacks webhooksInsecure=true:\n%s", log)
	}

	p = startNamed(t, bin, dataDir, logDir, "second", procOpts{token: "adm_webhooks_test"})
	p.stop(t)
	again, err := os.ReadFile(keyPath)
	if err != nil || string(again) != string(key) {
		t.Fatalf("the key file changed on restart (err %v)", err)
	}
	secret := strings.TrimSpace(string(key))
	for _, name := range []string{"first-0.log", "second-0.log"} {
		if strings.Contains(readLog(filepath.Join(logDir, name)), secret) {
			t.Errorf("%s carries the webhook master key", name)
		}
	}

	bad := launch(t, bin, dataDir, filepath.Join(logDir, "badkey.log"), procOpts{token: "adm_webhooks_test", env: []string{outbox.KeyEnv + "=nothex"}})
	code, ok := bad.exitWithin(readyTimeout)
	if !ok || code == 0 {
		t.Fatalf("bad %s: exited %v code %d, want a non-zero exit", outbox.KeyEnv, ok, code)
	}
	if log := readLog(bad.logPath); !strings.Contains(log, outbox.KeyEnv) {
		t.Fatalf("bad key log does not name %s:\n%s", outbox.KeyEnv, log)
	}
}
