package paychat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	"ledgerd/api/apitest"
	"ledgerd/api/paychat"
	pc "ledgerd/engine/paychat"
)

func TestRegister_KeysOnceThenMe(t *testing.T) {
	s := apitest.Start(t)
	tg := nextTG()
	r := s.Do(t, "POST", paychat.Base+"/register", nil, map[string]any{"telegram_id": tg})
	r.WantStatus(t, http.StatusOK)
	m := obj(t, r)
	key, secret, id := str(t, m, "partner", "api_key"), str(t, m, "partner", "secret_key"), str(t, m, "partner", "id")
	if !strings.HasPrefix(key, "pk_") || !strings.HasPrefix(secret, "sk_") || str(t, m, "partner", "plan") != "founding_member" ||
		str(t, m, "partner", "status") != "active" || str(t, m, "partner", "telegram_id") != tg {
		t.Fatalf("register: %s", r.Body)
	}
	if field(t, m, "success") != true {
		t.Fatal("no success")
	}
	again := s.Do(t, "POST", paychat.Base+"/register", nil, map[string]any{"telegram_id": tg, "name": "x"})
	wantCode(t, again, http.StatusConflict, paychat.CodeAlreadyRegistered)
	me := s.Do(t, "GET", paychat.Base+"/me?telegram_id="+tg, nil, nil)
	me.WantStatus(t, http.StatusOK)
	if mm := obj(t, me); str(t, mm, "partner", "id") != id || field(t, mm, "partner", "api_key") != nil || strings.Contains(string(me.Body), "sk_") {
		t.Fatalf("me: %s", me.Body)
	}
	// The key works; the partner can be made inactive by the shared admin route.
	call(t, s, "GET", "/balance", key, nil).WantStatus(t, http.StatusOK)
	s.SetPartnerStatus(t, id, "inactive")
	wantCode(t, call(t, s, "GET", "/balance", key, nil), http.StatusForbidden, paychat.CodePartnerInactive)
	if st := str(t, obj(t, s.Do(t, "GET", paychat.Base+"/me?telegram_id="+tg, nil, nil)), "partner", "status"); st != "inactive" {
		t.Fatalf("me after deactivation: %s", st)
	}
}

func wantCode(t testing.TB, r *apitest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%d %s, want %d %s", r.Status, r.Body, status, code)
	}
	m := obj(t, r)
	if field(t, m, "success") != false || str(t, m, "error", "code") != code || str(t, m, "error", "message") == "" {
		t.Fatalf("%s, want code %s", r.Body, code)
	}
}

func TestRegister_Refusals(t *testing.T) {
	s := apitest.Start(t)
	for name, body := range map[string]string{
		"no telegram id": `{"name":"x"}`, "number id": `{"telegram_id":123}`, "letters": `{"telegram_id":"12a"}`,
		"too long": `{"telegram_id":"123456789012345678901"}`, "unknown field": `{"telegram_id":"1","plan":"x"}`,
		"not json": `{`, "empty": ``, "duplicate": `{"telegram_id":"1","telegram_id":"2"}`,
	} {
		r := s.Do(t, "POST", paychat.Base+"/register", nil, body)
		t.Run(name, func(t *testing.T) { wantCode(t, r, http.StatusBadRequest, paychat.CodeValidation) })
	}
	wantCode(t, s.Do(t, "GET", paychat.Base+"/me?telegram_id=1", nil, nil), http.StatusNotFound, paychat.CodePartnerNotFound)
	wantCode(t, s.Do(t, "GET", paychat.Base+"/me", nil, nil), http.StatusBadRequest, paychat.CodeValidation)
}

func TestPlans(t *testing.T) {
	s := apitest.Start(t)
	r := s.Do(t, "GET", paychat.Base+"/plans", nil, nil)
	r.WantStatus(t, http.StatusOK)
	if !strings.Contains(string(r.Body), `"name":"Founding Member","rate_limit":500`) || r.Header.Get("X-RateLimit-Limit") != "60" {
		t.Fatalf("plans: %s %v", r.Body, r.Header)
	}
}

func TestAuth_MissingUnknownKey(t *testing.T) {
	s := apitest.Start(t)
	r := call(t, s, "GET", "/balance", "", nil)
	wantCode(t, r, http.StatusUnauthorized, paychat.CodeInvalidAPIKey)
	if !strings.Contains(string(r.Body), "API Key is required") || r.Header.Get("X-RateLimit-Limit") == "" {
		t.Fatalf("missing key: %s %v", r.Body, r.Header)
	}
	wantCode(t, call(t, s, "POST", "/payments", "pk_nope", `{"amount":1}`), http.StatusUnauthorized, paychat.CodeInvalidAPIKey)
	// A key of another API is unknown here.
	other := s.NewPartner(t, "payshards")
	wantCode(t, call(t, s, "GET", "/balance", other.APIKey, nil), http.StatusUnauthorized, paychat.CodeInvalidAPIKey)
}

func TestPayments_CreateAndGet(t *testing.T) {
	clock := apitest.NewClock(time.Date(2025, 1, 7, 12, 0, 0, 0, time.UTC))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	p := register(t, s)
	m := createPayment(t, s, p, `{"amount":29.99,"description":"Limited Edition T-Shirt","metadata":{"user_id":"user_123","item":"tshirt_black_L","n":1.50,"2":true,"1":null}}`)
	pay := field(t, m, "payment").(map[string]any)
	link, id := str(t, m, "payment", "link_id"), str(t, m, "payment", "id")
	if !strings.HasPrefix(id, "pay_") || len(link) != 6 || num(t, m, "payment", "amount") != "29.99" || pay["currency"] != "USDT" ||
		pay["status"] != "pending" || pay["payment_url"] != s.URL+paychat.PagePath+"/"+link ||
		pay["created_at"] != "2025-01-07T12:00:00.000Z" || pay["expires_at"] != "2025-01-08T12:00:00.000Z" {
		t.Fatalf("created: %v", pay)
	}
	r := call(t, s, "POST", "/payments", p.Key, `{"amount":5}`)
	if !strings.Contains(string(r.Body), `"metadata":{}`) || !strings.Contains(string(r.Body), `"description":null`) {
		t.Fatalf("defaults: %s", r.Body)
	}
	// JavaScript's key order and number format.
	got := call(t, s, "GET", "/payments/"+link, p.Key, nil)
	got.WantStatus(t, http.StatusOK)
	if !strings.Contains(string(got.Body), `"metadata":{"1":null,"2":true,"user_id":"user_123","item":"tshirt_black_L","n":1.5}`) {
		t.Fatalf("metadata: %s", got.Body)
	}
	if gm := obj(t, got); str(t, gm, "payment", "id") != link || str(t, gm, "payment", "link_id") != link || field(t, gm, "payment", "payer") != nil {
		t.Fatalf("by link: %s", got.Body)
	}
	if gm := obj(t, call(t, s, "GET", "/payments/"+id, p.Key, nil)); str(t, gm, "payment", "id") != id {
		t.Fatal("by pay_ id")
	}
	other := register(t, s)
	wantCode(t, call(t, s, "GET", "/payments/"+link, other.Key, nil), http.StatusNotFound, paychat.CodePaymentNotFound)
	wantCode(t, call(t, s, "GET", "/payments/zzzzzz", p.Key, nil), http.StatusNotFound, paychat.CodePaymentNotFound)
	clock.Advance(24 * time.Hour)
	if st := str(t, obj(t, call(t, s, "GET", "/payments/"+link, p.Key, nil)), "payment", "status"); st != "expired" {
		t.Fatalf("after 24 h: %s", st)
	}
	wantCode(t, admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "5", "fund": true}), http.StatusConflict, paychat.CodePaymentExpired)
}

func TestPayments_InvalidAmount(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	for _, amount := range []string{"0", "-1", "0.0000001", "1.0000000", `"10"`, "1e2", "1000000000", "null", "true", "[1]"} {
		r := call(t, s, "POST", "/payments", p.Key, `{"amount":`+amount+`}`)
		wantCode(t, r, http.StatusBadRequest, paychat.CodeInvalidAmount)
	}
	wantCode(t, call(t, s, "POST", "/payments", p.Key, `{"description":"x"}`), http.StatusBadRequest, paychat.CodeInvalidAmount)
	for _, amount := range []string{"01", "1.", ".5", "+1", "1e-6"} { // not JSON, or not digits: either refusal
		r := call(t, s, "POST", "/payments", p.Key, `{"amount":`+amount+`}`)
		if c := str(t, obj(t, r), "error", "code"); r.Status != http.StatusBadRequest || (c != paychat.CodeInvalidAmount && c != paychat.CodeValidation) {
			t.Fatalf("%s: %d %s", amount, r.Status, r.Body)
		}
	}
	for _, body := range []string{`{"amount":1,"metadata":[1]}`, `{"amount":1,"x":1}`, `{"amount":1,"description":` + `"` + strings.Repeat("d", 501) + `"}`,
		`{"amount":1,"metadata":{"n":1e999}}`, `{"amount":1,"idempotency_key":""}`} {
		wantCode(t, call(t, s, "POST", "/payments", p.Key, body), http.StatusBadRequest, paychat.CodeValidation)
	}
	for _, ok := range []string{"0.000001", "999999999.999999", "10.00", "1.100000"} {
		call(t, s, "POST", "/payments", p.Key, `{"amount":`+ok+`}`).WantStatus(t, http.StatusOK)
	}
	if n := txTotal(t, s, p); n != "4" {
		t.Fatalf("refusals created payments: %s", n)
	}
}

func TestPayments_Idempotency(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	body := `{"amount":10,"description":"d","idempotency_key":"pay_1700_0.5"}`
	first := call(t, s, "POST", "/payments", p.Key, body)
	first.WantStatus(t, http.StatusOK)
	again := call(t, s, "POST", "/payments", p.Key, body)
	if again.Status != http.StatusOK || string(again.Body) != string(first.Body) {
		t.Fatalf("replay: %s vs %s", again.Body, first.Body)
	}
	wantCode(t, call(t, s, "POST", "/payments", p.Key, `{"amount":11,"description":"d","idempotency_key":"pay_1700_0.5"}`),
		http.StatusConflict, paychat.CodeIdempotency)
	// Another partner's key space is its own.
	q := register(t, s)
	call(t, s, "POST", "/payments", q.Key, body).WantStatus(t, http.StatusOK)
	s.Restart(t)
	if r := call(t, s, "POST", "/payments", p.Key, body); string(r.Body) != string(first.Body) {
		t.Fatalf("replay after restart: %s", r.Body)
	}
	if n := txTotal(t, s, p); n != "1" {
		t.Fatalf("%s payments, want 1", n)
	}
}

// TestRegister_CompletesACutShortRegistration: a Telegram id whose PAYchat
// record was written but whose key was not (a crash between the two) is
// completed by registering again: the record's partner gets a key.
func TestRegister_CompletesACutShortRegistration(t *testing.T) {
	s := apitest.Start(t)
	tg := nextTG()
	rec := pc.Partner{ID: "pcp_cutshort0001", TelegramID: tg, Plan: pc.Plan, Memo: "partner_cutshort0001",
		SecretHash: make([]byte, 32), CreatedMs: s.Sys.Now().UnixMilli()}
	if st, _ := apc.Register(s.Sys, rec); st != actors.StatusOK {
		t.Fatalf("record: %v", st)
	}
	wantCode(t, s.Do(t, "GET", paychat.Base+"/me?telegram_id="+tg, nil, nil), http.StatusNotFound, paychat.CodePartnerNotFound)
	r := s.Do(t, "POST", paychat.Base+"/register", nil, map[string]any{"telegram_id": tg})
	r.WantStatus(t, http.StatusOK)
	m := obj(t, r)
	if str(t, m, "partner", "id") != rec.ID || str(t, m, "partner", "secret_key") != paychat.SecretKey(apitest.DefaultWebhookKey, rec.ID, 0) {
		t.Fatalf("completed: %s", r.Body)
	}
	call(t, s, "GET", "/balance", str(t, m, "partner", "api_key"), nil).WantStatus(t, http.StatusOK)
	wantCode(t, s.Do(t, "POST", paychat.Base+"/register", nil, map[string]any{"telegram_id": tg}), http.StatusConflict, paychat.CodeAlreadyRegistered)
}
