package paysmart_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ledgerd/actors/outbox"
	"ledgerd/api/apitest"
)

func TestIdempotency_ReplayAndConflict(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys.SecretTest
	first := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("order-1"))
	first.WantStatus(t, 200)
	// The same request again, also form-encoded with its members in another
	// order: the first answer, byte for byte.
	again := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("order-1"))
	form := "currency=usd&amount=2000&payment_method[card][number]=4242424242424242&payment_method[card][exp_month]=12" +
		"&payment_method[card][cvc]=123&payment_method[type]=card&payment_method[card][exp_year]=" + itoa(expYear)
	asForm := s.PaySmart(t, "POST", "/payments", k, form, apitest.Form(), key("order-1"))
	for _, r := range []*apitest.Response{again, asForm} {
		if r.Status != 200 || !bytes.Equal(r.Body, first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %d %s %v, first %s", r.Status, r.Body, r.Header, first.Body)
		}
		if r.Header.Get("Request-Id") == first.Header.Get("Request-Id") {
			t.Fatal("a replay has its own Request-Id")
		}
	}
	// Other parameters, another route, the same key: idempotency_error.
	wantError(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2001, "4242424242424242"), key("order-1")), 400, "idempotency_error", "idempotency_key_reused", "")
	id := obj(t, first)["id"].(string)
	wantError(t, s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"description": "x"}, key("order-1")), 400, "idempotency_error", "idempotency_key_reused", "")
	// Scoped to the account and the mode: the key is free elsewhere.
	s.PaySmart(t, "POST", "/payments", acct.Keys.SecretLive, cardBody(2000, "4111111111111111"), key("order-1")).WantStatus(t, 200)
	other := s.NewPaySmartAccount(t).Keys.SecretTest
	if r := s.PaySmart(t, "POST", "/payments", other, cardBody(2000, "4242424242424242"), key("order-1")); r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("other account: %d %v", r.Status, r.Header)
	}
	// A decline is replayed too (402, the same failed payment).
	d := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4000000000000002"), key("declined"))
	d.WantStatus(t, 402)
	dr := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4000000000000002"), key("declined"))
	if dr.Status != 402 || !bytes.Equal(dr.Body, d.Body) || dr.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("decline replay %d %s", dr.Status, dr.Body)
	}
	// Bad keys bind nothing and are refused.
	for _, bad := range []string{strings.Repeat("k", 256), "tab\there", "é"} {
		wantError(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key(bad)), 400, "invalid_request_error", "idempotency_key_invalid", "")
	}
	s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key(strings.Repeat("k", 255))).WantStatus(t, 200)
	if n := count(t, s, k, "/payments"); n != 3 {
		t.Fatalf("%d test payments, want 3", n)
	}
	// Across a restart.
	s.Restart(t)
	r := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("order-1"))
	if r.Status != 200 || !bytes.Equal(r.Body, first.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay after restart %d %s", r.Status, r.Body)
	}
}

// 100 concurrent creates with one key: one payment; every answer is the
// first one (the others waited for it and got it as a replay).
func TestIdempotency_ConcurrentCreates(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	const n = 100
	rs := apitest.Concurrently(t, n, func(int) (*apitest.Response, error) {
		return s.PaySmartRequest("POST", "/payments", k, cardBody(2000, "4242424242424242"), key("same"))
	})
	fresh := 0
	for i, r := range rs {
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, rs[0].Body) {
			t.Fatalf("request %d: %d %s (first %s)", i, r.Status, r.Body, rs[0].Body)
		}
		if r.Header.Get("Idempotent-Replayed") != "true" {
			fresh++
		}
	}
	if got := count(t, s, k, "/payments"); got != 1 || fresh != 1 {
		t.Fatalf("%d payments, %d first answers; want 1 and 1", got, fresh)
	}
	s.PaySmart(t, "GET", "/balance", k, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":2000,"currency":"usd"}],"livemode":false}`)
	// 100 concurrent creates with unique keys: 100 payments, none limited
	// by the default rate limit.
	rs = apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.PaySmartRequest("POST", "/payments", k, cardBody(2000, "4242424242424242"), key("u-"+itoa(i)))
	})
	for i, r := range rs {
		if r.Status != 200 {
			t.Fatalf("unique request %d: %d %s", i, r.Status, r.Body)
		}
	}
	s.PaySmart(t, "GET", "/balance", k, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":202000,"currency":"usd"}],"livemode":false}`)
}

// No card number, CVC or API key reaches the data dir.
func TestSecrets_NotInDataDir(t *testing.T) {
	var logs lockedBuffer
	s := apitest.StartWith(t, apitest.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	sender, err := outbox.Start(s.Sys, outbox.Config{MasterKey: apitest.DefaultWebhookKey, AllowInsecure: true, Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Stop)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys.SecretTest
	we := obj(t, s.PaySmart(t, "POST", "/webhook_endpoints", k, map[string]any{"url": "http://127.0.0.1:1/refused", "enabled_events": []string{"*"}}, key("we")))
	s.PaySmart(t, "GET", "/balance", k+"x", nil) // a wrong key, refused
	numbers := []string{"4242424242424242", "4000000000000002", "4111111111111111"}
	for i, n := range numbers {
		b := cardBody(2000, n)
		b["payment_method"].(map[string]any)["card"].(map[string]any)["cvc"] = "9" + itoa(i) + "7"
		s.PaySmart(t, "POST", "/payments", k, b, key("s-"+itoa(i)))
	}
	s.PaySmart(t, "POST", "/payment_methods", acct.Keys.PublishableTest,
		map[string]any{"type": "card", "card": map[string]any{"number": "5555555555554444", "exp_month": 1, "exp_year": expYear, "cvc": "917"}}, key("pm"))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(logs.String(), "webhook attempt"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no webhook attempt logged: %s", logs.String())
		}
	}
	sender.Stop() // before its System
	s.Restart(t)  // a snapshot at stop
	s.PaySmart(t, "GET", "/payments", k, nil).WantStatus(t, 200)
	secrets := append(numbers, "5555555555554444", "cvc", `"907"`, `"917"`, `"927"`, acct.Keys.SecretTest, acct.Keys.PublishableTest,
		acct.Keys.SecretLive, acct.Keys.PublishableLive, "whsec_", we["secret"].(string))
	grepDir(t, s.DataDir, secrets...)
	// Nor the server's log lines (requests, refusals, webhook attempts).
	for _, secret := range secrets {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// lockedBuffer is a log sink for several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// A key is kept 24 hours: within them it replays, after them it is free
// (a new payment).
func TestIdempotency_Expires(t *testing.T) {
	clock := apitest.NewClock(mustTime("2026-06-01T00:00:00Z"))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now, ExpiryEvery: 10 * time.Millisecond})
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	first := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("day"))
	first.WantStatus(t, 200)
	clock.Advance(23 * time.Hour)
	if r := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("day")); !bytes.Equal(r.Body, first.Body) {
		t.Fatalf("replay at 23 h: %s", r.Body)
	}
	clock.Advance(2 * time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("day"))
		r.WantStatus(t, 200)
		if r.Header.Get("Idempotent-Replayed") == "" {
			if bytes.Equal(r.Body, first.Body) || count(t, s, k, "/payments") != 2 {
				t.Fatalf("after 25 h: %s", r.Body)
			}
			return
		}
		if time.Now().After(deadline) { // the expiry sweep runs every 10 ms of wall time
			t.Fatal("the key was still bound after 25 h")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
