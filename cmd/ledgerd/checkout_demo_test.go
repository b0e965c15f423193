package main

import (
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	demoCheckoutKey = regexp.MustCompile(`(?m)^export CHECKOUT_KEY=(ck_test_[0-9A-Za-z]{48})$`)
	demoCheckoutURL = regexp.MustCompile(`(?m)^checkout_url: (http://\S+/checkout/pay/[A-Za-z0-9_-]{43})$`)
)

// TestDemo_Checkout: --demo prints a checkout shop's test key and the
// absolute checkout_url of a pending payment; the page serves, the key
// lists that payment, and the log carries neither.
func TestDemo_Checkout(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	out := filepath.Join(logDir, "demo.stdout")
	p := startNamed(t, bin, dataDir, logDir, "demo", procOpts{token: "adm_demo_test", args: []string{"--demo"}, stdout: out})
	stdout := readLog(out)
	key, page := demoCheckoutKey.FindStringSubmatch(stdout), demoCheckoutURL.FindStringSubmatch(stdout)
	if key == nil || page == nil || !strings.HasPrefix(page[1], "http://"+p.addr) {
		t.Fatalf("--demo printed:\n%s", stdout)
	}
	resp, err := http.Get(page[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Demo Coffee Roasters") || !strings.Contains(string(body), "$25.00") {
		t.Fatalf("checkout_url: %d %s", resp.StatusCode, body)
	}
	var list struct {
		Data []struct{ Status string } `json:"data"`
	}
	p.mustJSON("GET", "/checkout/api/v1/payments", map[string]string{"Authorization": "Bearer " + key[1]}, nil, http.StatusOK, &list)
	if len(list.Data) != 1 || list.Data[0].Status != "pending" {
		t.Fatalf("demo payments %+v", list)
	}
	p.stop(t)
	if log := readLog(p.logPath); strings.Contains(log, key[1]) || strings.Contains(log, key[1][8:]) {
		t.Fatal("the log carries the demo key")
	}
}
