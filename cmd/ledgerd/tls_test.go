package main

// TLS tests: --tls-cert/--tls-key serve HTTPS end to end with a real ledgerd
// process and a self-signed certificate made in the test; the flag rules of
// --tls-cert, --tls-key and --require-https in-process.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeSelfSigned writes a self-signed ECDSA P-256 certificate for
// 127.0.0.1 and its key as PEM files into dir, and returns their paths and
// a pool that trusts the certificate.
func writeSelfSigned(t *testing.T, dir string) (certPath, keyPath string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ledgerd test"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certPath, keyPath, pool
}

// startTLSLedgerd starts the binary with TLS on a fresh port and waits
// until it answers over HTTPS through client.
func startTLSLedgerd(t *testing.T, bin, certPath, keyPath string, client *http.Client, args ...string) *ledgerProc {
	t.Helper()
	dir := t.TempDir()
	return start(t, bin, filepath.Join(dir, "data"), "over HTTPS", func(int) string {
		return filepath.Join(dir, "ledgerd.log")
	}, procOpts{args: append([]string{"--tls-cert", certPath, "--tls-key", keyPath}, args...),
		token: crashAdminToken, scheme: "https", client: client})
}

func TestServeTLS(t *testing.T) {
	bin := buildLedgerd(t)
	certPath, keyPath, pool := writeSelfSigned(t, t.TempDir())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
	}}
	defer client.CloseIdleConnections()
	p := startTLSLedgerd(t, bin, certPath, keyPath, client, "--require-https")
	addr := p.addr

	// The admin API over HTTPS: create a PayShards partner, then use its key.
	req, _ := http.NewRequest("POST", "https://"+addr+"/admin/partners",
		strings.NewReader(`{"api":"payshards","name":"TLS shop"}`))
	req.Header.Set("Authorization", "Bearer "+crashAdminToken)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST /admin/partners over HTTPS: %v", err)
	}
	var partner struct{ APIKey string }
	err = json.NewDecoder(resp.Body).Decode(&partner)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated || partner.APIKey == "" || resp.TLS == nil {
		t.Fatalf("POST /admin/partners: %d %+v %v", resp.StatusCode, partner, err)
	}
	req, _ = http.NewRequest("GET", "https://"+addr+"/payshards/api/partner/balance?userId=tls_nobody", nil)
	req.Header.Set("x-api-key", partner.APIKey)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET balance over HTTPS: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || string(body) != `{"error":"unknown_user"}` {
		t.Fatalf("GET balance over HTTPS: %d %s", resp.StatusCode, body)
	}

	// PayPay.cards under --require-https: a TLS connection is HTTPS, whatever
	// a forwarded header claims.
	req, _ = http.NewRequest("GET", "https://"+addr+"/paypay/api/v1/health", nil)
	req.Header.Set("X-Forwarded-Proto", "http")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatalf("GET /paypay/api/v1/health over HTTPS: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(body), `{"ok":true,"time":"`) {
		t.Fatalf("GET /paypay/api/v1/health over HTTPS: %d %s", resp.StatusCode, body)
	}

	// Plain HTTP to the TLS port gets no HTTP answer.
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + addr + "/payshards/api/partner/balance?userId=u"); err == nil {
		resp.Body.Close()
		t.Fatalf("plain HTTP to the TLS port answered %d", resp.StatusCode)
	}
	// A client that does not trust the certificate refuses the server.
	untrusting := &http.Client{Timeout: 5 * time.Second}
	var unknownAuthority x509.UnknownAuthorityError
	if _, err := untrusting.Get("https://" + addr + "/payshards/api/partner/balance?userId=u"); !errors.As(err, &unknownAuthority) {
		t.Fatalf("untrusted certificate: %v", err)
	}

	client.CloseIdleConnections()
	code := p.terminate(30 * time.Second)
	log := readLog(p.logPath)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM", code)
	}
	for _, want := range []string{"serving TLS", "requireHTTPS=true", "ledgerd stopped cleanly"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// TestRequireHTTPSBehindProxy: with --require-https and no TLS of its own
// (a proxy terminates TLS), PayPay.cards answers only requests that the
// proxy marks X-Forwarded-Proto: https; the others get 403 https_required
// in the API's error envelope. Other APIs are not affected.
func TestRequireHTTPSBehindProxy(t *testing.T) {
	bin := buildLedgerd(t)
	p := startLedgerd(t, bin, t.TempDir(), t.TempDir(), 0, "--require-https")
	defer p.terminate(30 * time.Second)
	for _, tc := range []struct {
		proto string
		want  int
	}{{"", http.StatusForbidden}, {"http", http.StatusForbidden}, {"https", http.StatusOK}, {"HTTPS", http.StatusOK}} {
		header := map[string]string{}
		if tc.proto != "" {
			header["X-Forwarded-Proto"] = tc.proto
		}
		st, body, err := p.do("GET", "/paypay/api/v1/health", header, nil)
		if err != nil || st != tc.want {
			t.Fatalf("X-Forwarded-Proto %q: %d %s %v; want %d", tc.proto, st, body, err, tc.want)
		}
		if st == http.StatusForbidden {
			var env map[string]string
			if err := json.Unmarshal(body, &env); err != nil || env["error"] != "https_required" ||
				!strings.HasPrefix(env["request_id"], "req_") || env["message"] == "" {
				t.Fatalf("403 body %s: %v", body, err)
			}
		}
	}
	// The PayShards API is not under the PayPay.cards rule.
	if st, body, err := p.do("GET", "/payshards/api/partner/balance?userId=u", nil, nil); err != nil || st != http.StatusUnauthorized {
		t.Fatalf("PayShards over plain HTTP: %d %s %v", st, body, err)
	}
}

// lockedBuffer is an io.Writer safe for the logger's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestTLSFlags(t *testing.T) {
	for _, k := range []string{"LEDGERD_TLS_CERT", "LEDGERD_TLS_KEY", "LEDGERD_REQUIRE_HTTPS"} {
		t.Setenv(k, "")
	}
	for _, args := range [][]string{{"--tls-cert", "c.pem"}, {"--tls-key", "k.pem"}, {"--tls-cert", "c.pem", "--tls-key", ""}} {
		var stderr lockedBuffer
		if code := run(args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "--tls-cert and --tls-key go together") {
			t.Errorf("%v: exit %d, %s", args, code, stderr.String())
		}
	}
	o, err := parseFlags([]string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, io.Discard)
	if err != nil || o.tlsCert != "c.pem" || o.tlsKey != "k.pem" || o.requireHTTPS {
		t.Errorf("both given: %+v %v", o, err)
	}
	if o, err := parseFlags(nil, io.Discard); err != nil || o.tlsCert != "" || o.requireHTTPS {
		t.Errorf("defaults: %+v %v", o, err)
	}
	if o, err := parseFlags([]string{"--require-https"}, io.Discard); err != nil || !o.requireHTTPS {
		t.Errorf("--require-https: %+v %v", o, err)
	}

	t.Setenv("LEDGERD_REQUIRE_HTTPS", "1")
	if o, err := parseFlags(nil, io.Discard); err != nil || !o.requireHTTPS {
		t.Errorf("LEDGERD_REQUIRE_HTTPS=1: %+v %v", o, err)
	}
	if o, err := parseFlags([]string{"--require-https=false"}, io.Discard); err != nil || o.requireHTTPS {
		t.Errorf("flag over env: %+v %v", o, err)
	}
	t.Setenv("LEDGERD_REQUIRE_HTTPS", "yes please")
	if _, err := parseFlags(nil, io.Discard); err == nil {
		t.Error("LEDGERD_REQUIRE_HTTPS=yes please accepted")
	}
	t.Setenv("LEDGERD_REQUIRE_HTTPS", "")

	t.Setenv("LEDGERD_TLS_CERT", "env-c.pem")
	t.Setenv("LEDGERD_TLS_KEY", "env-k.pem")
	if o, err := parseFlags(nil, io.Discard); err != nil || o.tlsCert != "env-c.pem" || o.tlsKey != "env-k.pem" {
		t.Errorf("TLS from env: %+v %v", o, err)
	}
}

// TestTLSBadFilesStopStartUp: unreadable certificate files stop ledgerd
// before it recovers the ledger or listens.
func TestTLSBadFilesStopStartUp(t *testing.T) {
	defer slog.SetDefault(slog.Default()) // run replaces it
	dir := t.TempDir()
	t.Setenv("LEDGERD_ADMIN_TOKEN", crashAdminToken)
	t.Setenv("LEDGERD_REQUIRE_HTTPS", "")
	bogus := filepath.Join(dir, "bogus.pem")
	if err := os.WriteFile(bogus, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, files := range [][2]string{{filepath.Join(dir, "missing.pem"), filepath.Join(dir, "missing.key")}, {bogus, bogus}} {
		var stderr lockedBuffer
		code := run([]string{"--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0",
			"--tls-cert", files[0], "--tls-key", files[1]}, io.Discard, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "tls:") || strings.Contains(stderr.String(), "ledger recovered") {
			t.Errorf("%v: exit %d\n%s", files, code, stderr.String())
		}
	}
}
