package paysmart_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ledgerd/actors/outbox"
	"ledgerd/api/apitest"
)

func TestWebhookEndpoints(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys.SecretTest
	r := s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": "https://hooks.example/paysmart", "enabled_events": []string{"refund.created", "payment.succeeded", "refund.created"}}, key("we1"))
	r.WantStatus(t, 200)
	we := obj(t, r)
	id := we["id"].(string)
	secret := outbox.Secret(apitest.DefaultWebhookKey, id, 0)
	if we["secret"] != secret || !strings.HasPrefix(secret, "whsec_") || we["object"] != "webhook_endpoint" || we["status"] != "enabled" ||
		fmt.Sprint(we["enabled_events"]) != "[payment.succeeded refund.created]" || we["url"] != "https://hooks.example/paysmart" {
		t.Fatalf("endpoint %s", r.Body)
	}
	// A replay shows the secret too (it is not stored: derived again).
	again := s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": "https://hooks.example/paysmart", "enabled_events": []string{"refund.created", "payment.succeeded", "refund.created"}}, key("we1"))
	if !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %s", again.Body)
	}
	// Retrieve and list never show it.
	g := s.PaySmart(t, "GET", "/webhook_endpoints/"+id, k, nil)
	g.WantStatus(t, 200)
	if strings.Contains(string(g.Body), "whsec_") {
		t.Fatalf("secret shown again: %s", g.Body)
	}
	all := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, "url=https://b.example/h&enabled_events[]=payment.failed&enabled_events[]=*", apitest.Form()))
	if fmt.Sprint(all["enabled_events"]) != "[*]" || all["secret"] == secret {
		t.Fatalf("second endpoint %v", all)
	}
	l := s.PaySmart(t, "GET", "/webhook_endpoints", k, nil)
	if m := obj(t, l); len(m["data"].([]any)) != 2 || m["data"].([]any)[0].(map[string]any)["id"] != all["id"] || strings.Contains(string(l.Body), "whsec_") {
		t.Fatalf("list %s", l.Body)
	}
	// Update.
	u := s.PaySmart(t, "POST", "/webhook_endpoints/"+id, k, map[string]any{"url": "https://hooks.example/v2", "enabled_events": []string{"*"}, "disabled": true, "description": "main"})
	u.WantStatus(t, 200)
	if m := obj(t, u); m["url"] != "https://hooks.example/v2" || m["status"] != "disabled" || m["description"] != "main" || fmt.Sprint(m["enabled_events"]) != "[*]" || m["secret"] != nil {
		t.Fatalf("updated %s", u.Body)
	}
	s.PaySmart(t, "POST", "/webhook_endpoints/"+id, k, "disabled=false", apitest.Form()).WantStatus(t, 200)
	// Refusals change nothing.
	for _, c := range []struct {
		path        string
		body        any
		code, param string
	}{
		{"", map[string]any{"enabled_events": []string{"*"}}, "parameter_missing", "url"},
		{"", map[string]any{"url": "https://a.example/"}, "parameter_missing", "enabled_events"},
		{"", map[string]any{"url": "ftp://a.example/", "enabled_events": []string{"*"}}, "url_invalid", "url"},
		{"", map[string]any{"url": "https://u:p@a.example/", "enabled_events": []string{"*"}}, "url_invalid", "url"},
		{"", map[string]any{"url": "https://a.example/", "enabled_events": []string{"charge.succeeded"}}, "parameter_invalid", "enabled_events"},
		{"", map[string]any{"url": "https://a.example/", "enabled_events": []string{}}, "parameter_invalid", "enabled_events"},
		{"", map[string]any{"url": "https://a.example/", "enabled_events": "*"}, "parameter_invalid", "enabled_events"},
		{"", map[string]any{"url": "https://a.example/", "enabled_events": []string{"*"}, "disabled": true}, "parameter_unknown", "disabled"},
		{"/" + id, map[string]any{"disabled": "yes"}, "parameter_invalid", "disabled"},
		{"/" + id, map[string]any{"url": ""}, "url_invalid", "url"},
		{"/" + id, map[string]any{"secret": "whsec_x"}, "parameter_unknown", "secret"},
	} {
		wantError(t, s.PaySmart(t, "POST", "/webhook_endpoints"+c.path, k, c.body), 400, "invalid_request_error", c.code, c.param)
	}
	s.PaySmart(t, "GET", "/webhook_endpoints/"+id, k, nil).WantJSON(t, 200, string(s.PaySmart(t, "POST", "/webhook_endpoints/"+id, k, nil).Body))
	if count(t, s, k, "/webhook_endpoints") != 2 {
		t.Fatal("refused creates created endpoints")
	}
	// Other mode and account: not found.
	wantError(t, s.PaySmart(t, "GET", "/webhook_endpoints/"+id, acct.Keys.SecretLive, nil), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, s.PaySmart(t, "DELETE", "/webhook_endpoints/"+id, s.NewPaySmartAccount(t).Keys.SecretTest, nil), 404, "invalid_request_error", "resource_missing", "id")
	// Delete.
	s.PaySmart(t, "DELETE", "/webhook_endpoints/"+id, k, nil).WantJSON(t, 200, fmt.Sprintf(`{"id":%q,"object":"webhook_endpoint","deleted":true}`, id))
	wantError(t, s.PaySmart(t, "GET", "/webhook_endpoints/"+id, k, nil), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, s.PaySmart(t, "POST", "/webhook_endpoints/"+id, k, map[string]any{"description": "x"}), 404, "invalid_request_error", "resource_missing", "id")
	if count(t, s, k, "/webhook_endpoints") != 1 {
		t.Fatal("deleted endpoint listed")
	}
	// The secret is in no file of the data dir (WAL, snapshot), whatever
	// was replayed.
	s.Restart(t)
	if again := s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": "https://hooks.example/paysmart", "enabled_events": []string{"refund.created", "payment.succeeded", "refund.created"}}, key("we1")); !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("replay after restart %s", again.Body)
	}
	grepDir(t, s.DataDir, "whsec_", secret, strings.TrimPrefix(secret, "whsec_"))
}

func TestWebhookEndpoints_URLPolicy(t *testing.T) {
	s := apitest.StartWith(t, apitest.Options{StrictWebhookURLs: true})
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	for _, u := range []string{"http://hooks.example/h", "https://127.0.0.1/h", "https://localhost/h", "https://10.0.0.1/h"} {
		wantError(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": u, "enabled_events": []string{"*"}}), 400, "invalid_request_error", "url_invalid", "url")
	}
	s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": "https://hooks.example/h", "enabled_events": []string{"*"}}).WantStatus(t, 200)
}

// receiver is a loopback webhook receiver that verifies nothing itself:
// it records every request; fail makes it answer 500.
type receiver struct {
	mu   sync.Mutex
	got  []delivery
	seen map[string]bool // event ids /flaky has refused once
	dead bool            // /dead answers 500
	base string
	url  string // base + "/webhook": always 200
}

type delivery struct {
	path   string
	header http.Header
	body   []byte
	at     time.Time // by the test's clock
	status int
}

func (rc *receiver) setDead(v bool) {
	rc.mu.Lock()
	rc.dead = v
	rc.mu.Unlock()
}

func newReceiver(t *testing.T, clock *apitest.Clock) *receiver {
	rc := &receiver{seen: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		d := delivery{path: r.URL.Path, header: r.Header.Clone(), body: body, at: clock.Now(), status: 200}
		ev := r.Header.Get("paysmart-event-id")
		switch {
		case d.path == "/flaky" && !rc.seen[ev]:
			rc.seen[ev], d.status = true, 500
		case d.path == "/dead" && rc.dead:
			d.status = 500
		}
		rc.got = append(rc.got, d)
		w.WriteHeader(d.status)
		w.Write([]byte(`{"received":true}`))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rc.base = "http://" + ln.Addr().String()
	rc.url = rc.base + "/webhook"
	return rc
}

func (rc *receiver) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// waitFor waits (up to 20 s of wall time) until at least n requests came.
func (rc *receiver) waitFor(t *testing.T, n int) []delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if d := rc.deliveries(); len(d) >= n {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d webhook requests, want %d", len(rc.deliveries()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// verify is what a receiver does (docs/api/paysmart.md): parse
// t=…,v1=…, recompute HMAC-SHA256 of "<t>.<body>" with the whole secret,
// compare in constant time, and refuse a t older than 300 s.
func verify(header string, body []byte, secret string, now time.Time) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("malformed header %q", header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 300*time.Second || d < -300*time.Second {
		return fmt.Errorf("timestamp %s outside the tolerance", ts)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want, _ := hex.DecodeString(sig)
	if !hmac.Equal(m.Sum(nil), want) {
		return fmt.Errorf("signature mismatch")
	}
	return nil
}

func TestWebhooks_DeliveredSignedRetried(t *testing.T) {
	clock := apitest.NewClock(time.Now().UTC().Truncate(time.Second))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	sender, err := outbox.Start(s.Sys, outbox.Config{MasterKey: apitest.DefaultWebhookKey, AllowInsecure: true, Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Stop) // before the server's cleanup stops the System
	rc := newReceiver(t, clock)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	all := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": rc.url, "enabled_events": []string{"*"}}))
	failedOnly := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": rc.url + "?only=failed", "enabled_events": []string{"payment.failed"}}))
	secrets := map[string]string{rc.url: all["secret"].(string), rc.url + "?only=failed": failedOnly["secret"].(string)}

	pay := obj(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242")))
	declined := errOf(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4000000000000002")))
	refund := obj(t, s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pay["id"], "amount": 500}))
	cus := obj(t, s.PaySmart(t, "POST", "/customers", k, map[string]any{"email": "a@b.example"}))
	got := rc.waitFor(t, 5)
	time.Sleep(50 * time.Millisecond) // (a sixth request would be a bug: checked below)
	got = rc.deliveries()
	if len(got) != 5 {
		t.Fatalf("%d deliveries, want 5", len(got))
	}
	// Every change has its event, signed, with the body GET /events gives.
	events := obj(t, s.PaySmart(t, "GET", "/events", k, nil))["data"].([]any)
	if len(events) != 4 {
		t.Fatalf("%d events", len(events))
	}
	wantTypes := map[string]string{pay["id"].(string): "payment.succeeded", declined["payment"].(string): "payment.failed",
		refund["id"].(string): "refund.created", cus["id"].(string): "customer.created"}
	byEvent := map[string][]delivery{}
	for _, d := range got {
		byEvent[d.header.Get("paysmart-event-id")] = append(byEvent[d.header.Get("paysmart-event-id")], d)
	}
	for _, e := range events {
		ev := e.(map[string]any)
		id := ev["id"].(string)
		object := ev["data"].(map[string]any)["object"].(map[string]any)
		if wantTypes[object["id"].(string)] != ev["type"] || ev["object"] != "event" || ev["livemode"] != false {
			t.Fatalf("event %v", ev)
		}
		stored := s.PaySmart(t, "GET", "/events/"+id, k, nil)
		want := 1
		if ev["type"] == "payment.failed" {
			want = 2
		}
		if len(byEvent[id]) != want {
			t.Fatalf("event %s (%s): %d deliveries, want %d", id, ev["type"], len(byEvent[id]), want)
		}
		for _, d := range byEvent[id] {
			url := rc.url
			if d.header.Get("paysmart-delivery-id") == "" || d.header.Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", d.header)
			}
			if !bytes.Equal(d.body, stored.Body) {
				t.Fatalf("delivered %s, GET /events/%s %s", d.body, id, stored.Body)
			}
			errAll := verify(d.header.Get("paysmart-signature"), d.body, secrets[url], d.at)
			errFailed := verify(d.header.Get("paysmart-signature"), d.body, secrets[url+"?only=failed"], d.at)
			if (errAll == nil) == (errFailed == nil) {
				t.Fatalf("signature of %s: %v / %v (exactly one endpoint's secret must verify)", id, errAll, errFailed)
			}
			if verify(d.header.Get("paysmart-signature"), append(d.body, ' '), secrets[url], d.at) == nil {
				t.Fatal("a changed body verified")
			}
		}
	}
	if events := obj(t, s.PaySmart(t, "GET", "/events?type=refund.created", k, nil))["data"].([]any); len(events) != 1 {
		t.Fatalf("events of type refund.created: %v", events)
	}

	// A flaky receiver: the first attempt fails (500); the retry comes on
	// schedule (1 min later by the clock) with the same delivery id and
	// body and a new timestamp, and succeeds.
	flaky := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": rc.base + "/flaky", "enabled_events": []string{"customer.created"}}))
	s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Flaky"}).WantStatus(t, 200)
	now := rc.waitFor(t, 7)
	first := lastTo(t, now, "/flaky")
	clock.Advance(61 * time.Second)
	retry := lastTo(t, rc.waitFor(t, 8), "/flaky")
	if retry.header.Get("paysmart-delivery-id") != first.header.Get("paysmart-delivery-id") || !bytes.Equal(retry.body, first.body) ||
		retry.header.Get("paysmart-signature") == first.header.Get("paysmart-signature") || retry.status != 200 || first.status != 500 {
		t.Fatalf("retry %d %v vs first %d %v", retry.status, retry.header, first.status, first.header)
	}
	if err := verify(retry.header.Get("paysmart-signature"), retry.body, flaky["secret"].(string), retry.at); err != nil {
		t.Fatalf("retry signature: %v", err)
	}

	// A dead receiver: retried after 1m, 5m, 30m, 2h, 6h, 12h, 24h, 48h
	// and 72h from the first attempt, then failed; an operator retries it
	// by hand once the receiver is back.
	dead := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": rc.base + "/dead", "enabled_events": []string{"refund.created"}}))
	rc.setDead(true)
	s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pay["id"], "amount": 100}).WantStatus(t, 200)
	n := len(rc.waitFor(t, 10)) // /webhook and /dead
	start := lastTo(t, rc.deliveries(), "/dead").at
	for i, off := range []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 72 * time.Hour} {
		clock.Set(start.Add(off))
		n++
		if d := lastTo(t, rc.waitFor(t, n), "/dead"); d.status != 500 || !d.at.Equal(start.Add(off)) {
			t.Fatalf("attempt %d: %d at %v", i+2, d.status, d.at)
		}
	}
	clock.Advance(100 * time.Hour)
	// The receiver sees the tenth attempt before the sender has logged
	// its outcome, so the delivery turns failed a moment later: wait for
	// that (it must happen, or the test fails), then check it.
	var failed *apitest.Response
	var data []any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		failed = s.Admin(t, "GET", "/webhooks/deliveries?status=failed&api=paysmart", nil)
		if data = failed.JSON(t)["data"].([]any); len(data) > 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(data) != 1 || data[0].(map[string]any)["target"] != dead["id"] || fmt.Sprint(data[0].(map[string]any)["attempts"]) != "10" {
		t.Fatalf("failed deliveries %s", failed.Body)
	}
	time.Sleep(30 * time.Millisecond)
	if len(rc.deliveries()) != n {
		t.Fatal("a failed delivery was attempted again")
	}
	rc.setDead(false)
	s.Admin(t, "POST", "/webhooks/deliveries/"+data[0].(map[string]any)["id"].(string)+"/retry", nil).WantStatus(t, 200)
	if d := lastTo(t, rc.waitFor(t, n+1), "/dead"); d.status != 200 || verify(d.header.Get("paysmart-signature"), d.body, dead["secret"].(string), d.at) != nil {
		t.Fatalf("hand retry %d", d.status)
	}
}

// lastTo is the last request to path.
func lastTo(t *testing.T, ds []delivery, path string) delivery {
	t.Helper()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].path == path {
			return ds[i]
		}
	}
	t.Fatalf("no request to %s", path)
	return delivery{}
}
