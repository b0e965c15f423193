package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ledgerd/actors/outbox"
)

// luhnCard returns a Luhn-valid card number: prefix, random digits, and
// the check digit, n digits in all.
func luhnCard(rng *rand.Rand, prefix string, n int) string {
	b := []byte(prefix)
	for len(b) < n-1 {
		b = append(b, byte('0'+rng.IntN(10)))
	}
	sum := 0
	for i := len(b) - 1; i >= 0; i-- {
		d := int(b[i] - '0')
		if (len(b)-1-i)%2 == 0 { // doubled: the check digit will be to its right
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(append(b, byte('0'+(10-sum%10)%10)))
}

func TestLuhnCard(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	valid := func(s string) bool {
		sum := 0
		for i := len(s) - 1; i >= 0; i-- {
			d := int(s[i] - '0')
			if (len(s)-1-i)%2 == 1 {
				if d *= 2; d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		return sum%10 == 0
	}
	for _, known := range []string{psCardOK, psCardDecline, "5555555555554444", "378282246310005"} {
		if !valid(known) {
			t.Fatalf("the check itself refuses %s", known)
		}
	}
	for range 100 {
		if c := luhnCard(rng, "4", 16); len(c) != 16 || !valid(c) {
			t.Fatalf("luhnCard gave %s", c)
		}
	}
}

// psSecret is one secret a test sent or was shown, and what it is.
type psSecret struct{ what, value string }

// TestPaySmartSecretsNeverStored: after payments with full card numbers
// and CVCs (test and live mode, declines, a card refused as invalid, a
// card tokenized with a publishable key), a refund, a customer, a webhook
// endpoint created under an Idempotency-Key and replayed, and deliveries
// (some failed, so their errors are logged), neither the data dir (WAL,
// snapshots; the master key and admin token files aside, which hold those
// two by design) nor the server's log, at debug level, holds any card
// number, CVC, API key or webhook signing secret. The keys are on stdout
// only, printed by --demo.
func TestPaySmartSecretsNeverStored(t *testing.T) {
	bin := buildLedgerd(t)
	dataDir, logDir := t.TempDir(), t.TempDir()
	dumpLogsOnFailure(t, logDir)
	stdout := filepath.Join(logDir, "secrets.stdout")
	p := startNamed(t, bin, dataDir, logDir, "secrets", procOpts{token: "adm_secrets_test",
		args: []string{"--demo", "--log-level", "debug", "--snapshot-every", "10", "--snapshot-fixed"}, stdout: stdout})
	keys := psDemoKeys(t, readLog(stdout))
	var secrets []psSecret
	for _, k := range keys.all() {
		secrets = append(secrets, psSecret{"API key " + k[:8] + "…", k}, psSecret{"API key body " + k[:8] + "…", k[8:]})
	}

	recv := newPSReceiver(t)
	recv.mu.Lock()
	recv.failNext = 3 // failed attempts are logged: their lines must not carry the secret either
	recv.mu.Unlock()
	we := p.psCreateEndpoint(keys.secretTest, recv.url, "secrets-endpoint-1")
	if again := p.psCreateEndpoint(keys.secretTest, recv.url, "secrets-endpoint-1"); again.ID != we.ID || again.Secret != we.Secret {
		t.Fatalf("the endpoint's replay shows %s/%s…, the first answer %s/%s…", again.ID, again.Secret[:10], we.ID, we.Secret[:10])
	}
	recv.setSecret(we.Secret)
	secrets = append(secrets, psSecret{"webhook secret", we.Secret}, psSecret{"webhook secret body", strings.TrimPrefix(we.Secret, "whsec_")})
	liveRecv := newPSReceiver(t)
	liveWE := p.psCreateEndpoint(keys.secretLive, liveRecv.url, "")
	liveRecv.setSecret(liveWE.Secret)
	secrets = append(secrets, psSecret{"live webhook secret", liveWE.Secret}, psSecret{"live webhook secret body", strings.TrimPrefix(liveWE.Secret, "whsec_")})

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
	type cardCase struct {
		number, cvc string
		live        bool
		want        int
	}
	cases := []cardCase{
		{psCardOK, "731", false, http.StatusOK},
		{"5555555555554444", "842", false, http.StatusOK},
		{"378282246310005", "9153", false, http.StatusOK},
		{psCardDecline, "624", false, http.StatusPaymentRequired},
		{"4000000000009995", "715", false, http.StatusPaymentRequired},
		{luhnCard(rng, "4", 16), "538", true, http.StatusOK},
		{luhnCard(rng, "4", 16), "947", false, http.StatusOK},
		{psCardOK, "268", true, http.StatusPaymentRequired}, // a test card in live mode
	}
	bad := luhnCard(rng, "4", 16)
	bad = bad[:15] + strconv.Itoa((int(bad[15]-'0')+1)%10) // Luhn broken
	cases = append(cases, cardCase{bad, "419", false, http.StatusPaymentRequired})
	var cvcs []string
	var firstOK string
	for i, c := range cases {
		key := keys.secretTest
		if c.live {
			key = keys.secretLive
		}
		st, b, _, err := p.psDo("POST", "/payments", key, fmt.Sprintf("secrets-pay-%d", i),
			map[string]any{"amount": 1000 + i, "currency": "usd", "payment_method": psCard(c.number, c.cvc, 11, 2033)}, i%2 == 0)
		if err != nil || st != c.want {
			t.Fatalf("payment with card %s…%s: %d %s %v, want %d", c.number[:4], c.number[len(c.number)-4:], st, b, err, c.want)
		}
		if bytes.Contains(b, []byte(c.number)) || bytes.Contains(b, []byte(`"`+c.cvc+`"`)) {
			t.Errorf("the answer carries the card number or CVC: %s", b)
		}
		if st == http.StatusOK && !c.live && firstOK == "" {
			var pay psPayment
			if err := json.Unmarshal(b, &pay); err != nil {
				t.Fatal(err)
			}
			firstOK = pay.ID
		}
		secrets = append(secrets, psSecret{"card number " + c.number[:4] + "…" + c.number[len(c.number)-4:], c.number})
		cvcs = append(cvcs, c.cvc)
	}
	// A card tokenized from a browser with the publishable key, then paid.
	pmNumber, pmCVC := luhnCard(rng, "51", 16), "386"
	var pm struct {
		ID string `json:"id"`
	}
	p.psMust("POST", "/payment_methods", keys.publishableTest, "secrets-pm", psCard(pmNumber, pmCVC, 10, 2032), http.StatusOK, &pm)
	p.psMust("POST", "/payments", keys.secretTest, "secrets-pay-pm", map[string]any{"amount": 5000, "currency": "eur", "payment_method": pm.ID}, http.StatusOK, nil)
	secrets = append(secrets, psSecret{"tokenized card number", pmNumber})
	cvcs = append(cvcs, pmCVC)

	p.psMust("POST", "/refunds", keys.secretTest, "secrets-refund", map[string]any{"payment": firstOK, "amount": 100}, http.StatusOK, nil)
	p.psMust("POST", "/customers", keys.secretTest, "secrets-customer", map[string]any{"email": "jane@example.com", "name": "Jane Roe"}, http.StatusOK, nil)

	// Deliveries happen (signed with the secrets) before the server stops.
	if !recv.waitFor(psDeliveryWait, func() bool { return len(recv.events) >= 5 }) {
		t.Errorf("the receiver got %d events, want at least 5", len(recv.events))
	}
	if !liveRecv.waitFor(psDeliveryWait, func() bool { return len(liveRecv.events) >= 1 }) {
		t.Errorf("the live receiver got no event")
	}
	for _, pr := range append(recv.takeProblems(), liveRecv.takeProblems()...) {
		t.Error(pr)
	}
	p.stop(t) // SIGTERM writes a snapshot too

	found := func(where string, data []byte) {
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s.value)) {
				t.Errorf("%s holds a %s", where, s.what)
			}
		}
	}
	files := 0
	err := filepath.WalkDir(dataDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch d.Name() {
		case outbox.KeyFile, adminTokenFile, "LOCK":
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		rel, _ := filepath.Rel(dataDir, path)
		found(rel, data)
		for _, cvc := range cvcs {
			if cvcIn(data, cvc) {
				t.Errorf("%s holds CVC %s (as a msgpack or JSON string or number)", rel, cvc)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 3 {
		t.Fatalf("only %d files in the data dir: want the WAL and snapshots", files)
	}
	log := readLog(p.logPath)
	found("the server log", []byte(log))
	for _, cvc := range cvcs {
		if regexp.MustCompile(`(?i)cvc\W{0,8}` + cvc + `\b`).MatchString(log) {
			t.Errorf("the server log holds CVC %s", cvc)
		}
	}
	out := readLog(stdout)
	for _, s := range secrets {
		if strings.HasPrefix(s.what, "API key") {
			continue // the --demo printout
		}
		if strings.Contains(out, s.value) {
			t.Errorf("stdout holds a %s", s.what)
		}
	}
	t.Logf("%d secrets and %d CVCs searched in %d data files and %d bytes of log", len(secrets), len(cvcs), files, len(log))
}

// cvcIn reports whether data holds cvc the ways an encoder would write it:
// a msgpack string (fixstr header), a JSON string, a JSON or form value.
func cvcIn(data []byte, cvc string) bool {
	for _, pat := range [][]byte{
		append([]byte{0xa0 | byte(len(cvc))}, cvc...),
		[]byte(`"` + cvc + `"`),
		[]byte(`"cvc":` + cvc),
		[]byte(`cvc=` + cvc),
	} {
		if bytes.Contains(data, pat) {
			return true
		}
	}
	return false
}
