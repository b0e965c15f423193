package outbox

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url      string
		insecure bool
		ok       bool
	}{
		{"https://hooks.example.com/paysmart", false, true},
		{"https://hooks.example.com:8443/x?y=1", false, true},
		{"https://8.8.8.8/x", false, true},
		{"http://hooks.example.com/x", false, false},
		{"http://127.0.0.1:8080/x", true, true},
		{"https://127.0.0.1/x", false, false},
		{"https://[::1]/x", false, false},
		{"https://10.1.2.3/x", false, false},
		{"https://100.64.0.1/x", false, false},
		{"https://169.254.169.254/latest", false, false},
		{"https://localhost/x", false, false},
		{"https://api.localhost./x", false, false},
		{"https://user:pw@hooks.example.com/x", false, false},
		{"https://user@hooks.example.com/x", true, false},
		{"ftp://hooks.example.com/x", true, false},
		{"https:///x", false, false},
		{"https:opaque", false, false},
		{"/relative", true, false},
		{"https://hooks.example.com/" + strings.Repeat("a", MaxURLLen), false, false},
	} {
		err := CheckURL(c.url, c.insecure)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrURL)) {
			t.Errorf("CheckURL(%q, %v) = %v", c.url, c.insecure, err)
		}
	}
}

func TestPublic(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8": true, "1.1.1.1": true, "2606:4700::1111": true,
		"127.0.0.1": false, "::1": false, "10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false,
		"169.254.169.254": false, "fe80::1": false, "0.0.0.0": false, "::": false, "224.0.0.1": false,
		"ff02::1": false, "100.64.0.1": false, "100.127.255.255": false, "fd00::1": false,
		"::ffff:127.0.0.1": false, "::ffff:10.0.0.1": false, "0.1.2.3": false, "255.255.255.255": false,
		"64:ff9b::a00:1": false,
	} {
		if got := Public(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Public(%s) = %v", addr, got)
		}
	}
}

// TestDialerRefusesNonPublic: without AllowInsecure the client refuses to
// connect to loopback, whether named by address or by a name that
// resolves to it (the check is on the connected address).
func TestDialerRefusesNonPublic(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := newClient(Config{Timeout: 5 * time.Second, PerEndpoint: 1, Total: 1})
	for _, u := range []string{"https://127.0.0.1:" + port + "/", "https://localhost:" + port + "/"} {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, u, nil)
		_, err := client.Do(req)
		if !errors.Is(err, ErrAddressNotPublic) {
			t.Errorf("%s: %v", u, err)
		}
	}
	insecure := newClient(Config{Timeout: 5 * time.Second, PerEndpoint: 1, Total: 1, AllowInsecure: true})
	insecure.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	resp, err := insecure.Post(srv.URL, "application/json", nil)
	if err != nil {
		t.Fatalf("insecure client: %v", err)
	}
	resp.Body.Close()
}

func TestSecret(t *testing.T) {
	s := Secret(master, "we_1", 0)
	if !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+43 || s != Secret(master, "we_1", 0) {
		t.Fatalf("secret %q", s)
	}
	if s == Secret(master, "we_1", 1) || s == Secret(master, "we_2", 0) || s == Secret([]byte("other key other key other key 32"), "we_1", 0) {
		t.Fatal("secrets collide")
	}
	// Golden: "whsec_" + base64url-no-pad(HMAC-SHA256(master, "we_1/0")).
	if s != "whsec_bldwaRobA80sVv2x7xgxa2AF7HQdS9osOI4qP_SrOd0" {
		t.Fatalf("secret %q", s)
	}
}

func TestLoadMasterKey(t *testing.T) {
	t.Setenv(KeyEnv, "")
	os.Unsetenv(KeyEnv)
	dir := t.TempDir()
	key, err := LoadMasterKey(dir)
	if err != nil || len(key) != KeyBytes {
		t.Fatalf("created key: %d bytes, %v", len(key), err)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", info.Mode(), err)
	}
	again, err := LoadMasterKey(dir)
	if err != nil || string(again) != string(key) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadMasterKey(dir); !errors.Is(err, ErrKeyPermissions) {
		t.Fatalf("0644 key file: %v", err)
	}
	raw := []byte("an operator's key of 32 bytes!!!")
	for _, v := range []string{hex.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw) + "\n"} {
		t.Setenv(KeyEnv, v)
		if k, err := LoadMasterKey(dir); err != nil || string(k) != string(raw) {
			t.Fatalf("env %q: %q %v", v, k, err)
		}
	}
	t.Setenv(KeyEnv, hex.EncodeToString(raw[:16]))
	if _, err := LoadMasterKey(dir); !errors.Is(err, ErrKeyFormat) {
		t.Fatalf("short env key: %v", err)
	}
}
