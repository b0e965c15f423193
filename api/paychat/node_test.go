package paychat_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/paychat"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// node returns the directory of the Node.js checks with express
// installed (npm ci when it is missing), or skips when Node.js is not
// installed.
func node(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed: the JavaScript checks are skipped")
	}
	dir, _ := filepath.Abs("testdata/node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "express")); err != nil {
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
		}
	}
	return dir
}

// jsRoundTrip reports, for each JSON text, whether JavaScript's
// JSON.stringify(JSON.parse(text)) gives it back byte for byte.
func jsRoundTrip(t *testing.T, texts []string) {
	t.Helper()
	cmd := exec.Command("node", filepath.Join(node(t), "roundtrip.js"))
	cmd.Stdin = strings.NewReader(strings.Join(texts, "\n") + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node roundtrip.js: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(texts) {
		t.Fatalf("%d answers for %d texts", len(lines), len(texts))
	}
	for i, l := range lines {
		var r struct {
			OK    bool
			Again string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil || !r.OK {
			t.Errorf("JSON.stringify(JSON.parse(%s)) = %s", texts[i], r.Again)
		}
	}
}

// TestAmounts_JavaScriptPrintsThemBack: every amount as ledgerd writes it
// is what JSON.stringify prints for the number JavaScript parses from it.
func TestAmounts_JavaScriptPrintsThemBack(t *testing.T) {
	var texts []string
	for _, micro := range amountSamples() {
		texts = append(texts, `{"amount":`+paychat.FormatAmount(micro)+`}`)
	}
	jsRoundTrip(t, texts)
}

// receiver runs the spec's Express receiver under Node.js.
type receiver struct {
	URL   string
	mu    sync.Mutex
	lines []map[string]any
	more  chan struct{}
}

func startReceiver(t *testing.T, secretKey string) *receiver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, "node", filepath.Join(node(t), "receiver.js"), "0")
	cmd.Env = append(os.Environ(), "PAYCHAT_SECRET_KEY="+secretKey)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	r := &receiver{more: make(chan struct{}, 64)}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() || !strings.HasPrefix(sc.Text(), "listening ") {
		t.Fatalf("receiver did not start: %q", sc.Text())
	}
	r.URL = "http://127.0.0.1:" + strings.TrimPrefix(sc.Text(), "listening ") + "/webhooks/paychat"
	go func() {
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				r.mu.Lock()
				r.lines = append(r.lines, m)
				r.mu.Unlock()
				r.more <- struct{}{}
			}
		}
	}()
	return r
}

func (r *receiver) wait(t *testing.T, n int) []map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		if len(r.lines) >= n {
			out := append([]map[string]any(nil), r.lines...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("%d webhooks arrived, want %d", len(r.lines), n)
		}
	}
}

// TestWebhooks_SpecVerifiersAcceptEveryEvent: payment.completed,
// withdraw.completed and test, with metadata and memos holding what Go's
// encoding/json would escape (&, <, >, U+2028, U+2029), non-ASCII text,
// integer-like keys and numbers JavaScript rewrites, are accepted by the
// spec's verifyWebhook and verifySignature run unchanged under Express.
func TestWebhooks_SpecVerifiersAcceptEveryEvent(t *testing.T) {
	s := apitest.Start(t)
	startSender(t, s)
	p := register(t, s)
	recv := startReceiver(t, p.Secret)
	call(t, s, "PUT", "/webhook", p.Key, `{"webhook_url":"`+recv.URL+`"}`).WantStatus(t, http.StatusOK)
	deposit(t, s, p, "100")
	meta := `{"user_id":"user_123","b":"<script>&amp;</script>","2":"two","1":[1.0,1e2,1e21,0.1,-0,1.5e-7],"sep":"a\u2028b\u2029c","ü":"Grüße, 世界 🎉","nested":{"10":1,"9":2,"x":null}}`
	link := str(t, createPayment(t, s, p, `{"amount":29.99,"description":"T-Shirt & <b>","metadata":`+meta+`}`), "payment", "link_id")
	admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "987654321", "fund": true}).WantStatus(t, http.StatusOK)
	call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"123456789","amount":10.5,"memo":"Referral bonus <&> \u2028 ✓ \"quoted\" \\ \t"}`).WantStatus(t, http.StatusOK)
	call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"123456789","amount":0.000001}`).WantStatus(t, http.StatusOK)
	call(t, s, "POST", "/webhook-test", p.Key, nil).WantStatus(t, http.StatusOK)
	got := recv.wait(t, 4)
	events := map[string]int{}
	for _, g := range got {
		events[fmt.Sprint(g["event"])]++
		if g["verifyWebhook"] != true || g["verifySignature"] != true {
			t.Errorf("%v refused by the spec's verifiers: %v", g["event"], g)
		}
	}
	if events["payment.completed"] != 1 || events["withdraw.completed"] != 2 || events["test"] != 1 {
		t.Fatalf("events %v", events)
	}
	// The bodies are exactly what the spec shows (and the metadata).
	var bodies []string
	s.Sys.ReadState(func(st *engine.State) {
		list, _, _ := eob.List(st, eob.Query{API: "paychat", Limit: 10})
		for _, d := range list {
			bodies = append(bodies, string(d.Body))
		}
	})
	joined := strings.Join(bodies, "\n")
	for _, want := range []string{
		`{"event":"payment.completed","data":{"payment_id":"` + link + `","amount":29.99,"payer":{"telegram_id":"987654321"},"metadata":{"1":[1,100,1e+21,0.1,0,1.5e-7],"2":"two","user_id":"user_123","b":"<script>&amp;</script>","sep":"a` + "\u2028" + `b` + "\u2029" + `c","ü":"Grüße, 世界 🎉","nested":{"9":2,"10":1,"x":null}}},"created_at":"`,
		`{"event":"withdraw.completed","data":{"withdrawal_id":"wd_`, `"amount":10.5,"memo":"Referral bonus <&> ` + "\u2028" + ` ✓ \"quoted\" \\ \t"},"created_at":"`,
		`"amount":0.000001,"memo":null}`, `{"event":"test","data":{"message":"Test webhook from PAYchat"`,
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("no body contains %s\nbodies:\n%s", want, joined)
		}
	}
	jsRoundTrip(t, bodies)
	// Every delivery succeeded, on its first attempt.
	r := call(t, s, "GET", "/webhook-deliveries?status=succeeded", p.Key, nil)
	if n := len(field(t, obj(t, r), "deliveries").([]any)); n != 4 {
		t.Fatalf("%d succeeded deliveries: %s", n, r.Body)
	}
}
