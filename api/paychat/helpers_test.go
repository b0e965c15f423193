package paychat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	sender "ledgerd/actors/outbox"
	"ledgerd/api/apitest"
	"ledgerd/api/paychat"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// partner is a registered partner with its keys.
type partner struct {
	ID, TelegramID, Key, Secret, Memo string
}

var tgSeq = 1_000_000

func nextTG() string {
	tgSeq++
	return fmt.Sprint(tgSeq)
}

// register registers a new partner through POST /register and raises its
// rate limit so that tests not about limits never meet one.
func register(t testing.TB, s *apitest.Server) partner {
	t.Helper()
	tg := nextTG()
	r := s.Do(t, "POST", paychat.Base+"/register", nil, map[string]any{"telegram_id": tg, "name": "Shop " + tg})
	r.WantStatus(t, http.StatusOK)
	var out struct {
		Partner struct {
			ID, APIKey, SecretKey string
		}
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Partner struct {
			ID        string `json:"id"`
			APIKey    string `json:"api_key"`
			SecretKey string `json:"secret_key"`
		} `json:"partner"`
	}
	_ = json.Unmarshal(r.Body, &body)
	p := partner{ID: body.Partner.ID, TelegramID: tg, Key: body.Partner.APIKey, Secret: body.Partner.SecretKey}
	p.Memo = "partner_" + strings.TrimPrefix(p.ID, "pcp_")
	s.Admin(t, "PATCH", "/partners/"+p.ID, map[string]any{"rateLimitPerMinute": apitest.HighRateLimit}).WantStatus(t, http.StatusOK)
	return p
}

// call sends a PAYchat request with key as X-API-Key ("" = none).
func call(t testing.TB, s *apitest.Server, method, path, key string, body any) *apitest.Response {
	t.Helper()
	var h apitest.Header
	if key != "" {
		h = apitest.Header{"X-API-Key": key}
	}
	return s.Do(t, method, paychat.Base+path, h, body)
}

// deposit credits a partner through the sandbox deposit route.
func deposit(t testing.TB, s *apitest.Server, p partner, amount string) {
	t.Helper()
	r := s.Do(t, "POST", paychat.AdminBase+"/deposits", apitest.Bearer(s.AdminToken),
		`{"memo":"`+p.Memo+`","amount":`+amount+`,"tx_hash":"`+apitest.Unique("tx_")+`"}`)
	r.WantStatus(t, http.StatusOK)
}

func admin(t testing.TB, s *apitest.Server, method, path string, body any) *apitest.Response {
	t.Helper()
	return s.Do(t, method, paychat.AdminBase+path, apitest.Bearer(s.AdminToken), body)
}

// obj decodes a response's JSON with numbers kept as written.
func obj(t testing.TB, r *apitest.Response) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(string(r.Body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: %v", r.Body, err)
	}
	return m
}

func field(t testing.TB, m map[string]any, path ...string) any {
	t.Helper()
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%v: no %q in %v", path, p, v)
		}
		v = mm[p]
	}
	return v
}

// num is a JSON number as written.
func num(t testing.TB, m map[string]any, path ...string) string {
	t.Helper()
	n, ok := field(t, m, path...).(json.Number)
	if !ok {
		t.Fatalf("%v is not a number: %v", path, field(t, m, path...))
	}
	return string(n)
}

func str(t testing.TB, m map[string]any, path ...string) string {
	t.Helper()
	s, ok := field(t, m, path...).(string)
	if !ok {
		t.Fatalf("%v is not a string: %v", path, field(t, m, path...))
	}
	return s
}

// balance is GET /balance's available, as written.
func balance(t testing.TB, s *apitest.Server, p partner) string {
	t.Helper()
	r := call(t, s, "GET", "/balance", p.Key, nil)
	r.WantStatus(t, http.StatusOK)
	return num(t, obj(t, r), "balance", "available")
}

func txTotal(t testing.TB, s *apitest.Server, p partner) string {
	t.Helper()
	r := call(t, s, "GET", "/transactions", p.Key, nil)
	r.WantStatus(t, http.StatusOK)
	return num(t, obj(t, r), "pagination", "total")
}

// totals is the ledger's money, read from the durable state.
func totals(s *apitest.Server) pc.Totals {
	var tot pc.Totals
	s.Sys.ReadState(func(st *engine.State) { tot = pc.TotalsOf(st) })
	return tot
}

func startSender(t testing.TB, s *apitest.Server) {
	t.Helper()
	w, err := sender.Start(s.Sys, sender.Config{MasterKey: apitest.DefaultWebhookKey, AllowInsecure: true, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

func createPayment(t testing.TB, s *apitest.Server, p partner, body string) map[string]any {
	t.Helper()
	r := call(t, s, "POST", "/payments", p.Key, body)
	r.WantStatus(t, http.StatusOK)
	return obj(t, r)
}
