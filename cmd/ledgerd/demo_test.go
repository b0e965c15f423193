package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// demoExports matches the four PaySmart export lines of a --demo start.
var demoExports = regexp.MustCompile(`(?m)^export (PAYSMART_SECRET_KEY|PAYSMART_PUBLISHABLE_KEY|PAYSMART_LIVE_SECRET_KEY|PAYSMART_LIVE_PUBLISHABLE_KEY)=(\S+)$`)

// demoKeys returns the PaySmart keys a --demo start printed, by variable.
func demoKeys(t *testing.T, stdout string) map[string]string {
	t.Helper()
	keys := map[string]string{}
	for _, m := range demoExports.FindAllStringSubmatch(stdout, -1) {
		keys[m[1]] = m[2]
	}
	want := map[string]string{"PAYSMART_SECRET_KEY": "sk_test_", "PAYSMART_PUBLISHABLE_KEY": "pk_test_",
		"PAYSMART_LIVE_SECRET_KEY": "sk_live_", "PAYSMART_LIVE_PUBLISHABLE_KEY": "pk_live_"}
	for env, prefix := range want {
		if !strings.HasPrefix(keys[env], prefix) {
			t.Fatalf("--demo printed %s=%q, want a %s… key; stdout:\n%s", env, keys[env], prefix, stdout)
		}
	}
	return keys
}

// TestDemo_PaySmartKeys: a --demo server prints the PaySmart demo keys on
// stdout, the same on every start; its log (stderr) never carries them.
func TestDemo_PaySmartKeys(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	var printed []map[string]string
	for i, name := range []string{"first", "second"} {
		out := filepath.Join(logDir, name+".stdout")
		p := startNamed(t, bin, dataDir, logDir, name, procOpts{token: "adm_demo_test", args: []string{"--demo"}, stdout: out})
		p.stop(t)
		printed = append(printed, demoKeys(t, readLog(out)))
		log := readLog(p.logPath)
		for env, key := range printed[i] {
			if strings.Contains(log, key) || strings.Contains(log, key[8:]) {
				t.Errorf("%s start: the log carries %s", name, env)
			}
		}
	}
	for env, key := range printed[0] {
		if printed[1][env] != key {
			t.Errorf("%s changed on restart", env)
		}
	}
}
