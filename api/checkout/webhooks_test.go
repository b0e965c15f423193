package checkout_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/checkout"
)

// hook is one webhook a receiver got.
type hook struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on 127.0.0.1 that answers 2xx (or the
// statuses in fail first).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []hook
	fail []int
	more chan struct{}
}

func newReceiver(t *testing.T, fail ...int) *receiver {
	r := &receiver{fail: fail, more: make(chan struct{}, 64)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hook{req.Header.Clone(), b})
		status := http.StatusNoContent
		if len(r.fail) > 0 {
			status, r.fail = r.fail[0], r.fail[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
		r.more <- struct{}{}
	}))
	t.Cleanup(r.Close)
	return r
}

// wait returns the hooks once n have arrived.
func (r *receiver) wait(t *testing.T, n int) []hook {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		if len(r.got) >= n {
			out := append([]hook(nil), r.got...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("%d webhooks, want %d", len(r.got), n)
		}
	}
}

// verify checks a Standard Webhooks signature as the public libraries do:
// HMAC-SHA256 with the base64-decoded secret after whsec_, over
// "<id>.<timestamp>.<body>", compared with each v1 signature.
func verify(t *testing.T, secret string, h hook) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) != 32 {
		t.Fatalf("secret %q does not decode: %v", secret, err)
	}
	id, ts := h.header.Get("webhook-id"), h.header.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Fatalf("webhook-timestamp %q", ts)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + string(h.body)))
	want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	for _, sig := range strings.Fields(h.header.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return
		}
	}
	t.Fatalf("signature %q, want %q", h.header.Get("webhook-signature"), want)
}

func TestWebhooks_RefundSignedAndRetried(t *testing.T) {
	s := apitest.Start(t)
	rcv := newReceiver(t, http.StatusInternalServerError) // the first attempt fails
	sh := newShop(t, s, map[string]any{"webhook_url": rcv.URL + "/hooks"})
	startSender(t, s)
	p := create(t, s, sh.TestKey, map[string]any{"amount": 2000, "currency": "usd", "return_url": "http://127.0.0.1:9/back",
		"metadata": map[string]any{"order": "A-7"}})
	id := p["id"].(string)
	complete(t, s, id) // a test notice ({}), also delivered
	r := api(t, s, "POST", "/payments/"+id+"/refund", sh.TestKey, `{"amount":700}`)
	r.WantStatus(t, http.StatusOK)
	// The refund's delivery: a retry after the failed first attempt carries
	// the same webhook-id and body (5 s on Standard Webhooks' schedule).
	var refund []hook
	for _, h := range rcv.wait(t, 3) {
		if strings.Contains(string(h.body), "payment.refunded") {
			refund = append(refund, h)
		}
	}
	if len(refund) == 0 {
		t.Fatal("no payment.refunded")
	}
	h := refund[len(refund)-1]
	verify(t, sh.Secret, h)
	var ev struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(h.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "payment.refunded" || !isTime(ev.Timestamp) || ev.Data["id"] != id || ev.Data["amount_refunded"].(float64) != 700 ||
		ev.Data["metadata"].(map[string]any)["order"] != "A-7" || !strings.HasPrefix(h.header.Get("webhook-id"), "evt_") {
		t.Fatalf("event %s", h.body)
	}
	for _, other := range refund[:len(refund)-1] {
		if other.header.Get("webhook-id") != h.header.Get("webhook-id") || string(other.body) != string(h.body) {
			t.Fatal("a retry changed the id or body")
		}
	}
}

func TestShopSecret_StandardForm(t *testing.T) {
	sec := checkout.ShopSecret(apitest.DefaultWebhookKey, "shop_x", 0)
	key, ok := checkout.SecretKey(sec)
	if !ok || len(key) != 32 || sec == checkout.ShopSecret(apitest.DefaultWebhookKey, "shop_x", 1) {
		t.Fatalf("secret %q", sec)
	}
	if got := checkout.Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`)); !strings.HasPrefix(got, "v1,") {
		t.Fatal(got)
	}
	// Standard Webhooks' published example: secret, id, timestamp, body and signature.
	key, _ = checkout.SecretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if got := checkout.Signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`)); got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("signature %s", got)
	}
}
