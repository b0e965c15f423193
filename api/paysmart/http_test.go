package paysmart_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"ledgerd/api/apitest"
)

func TestAuth_Refusals(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	other := s.NewPartner(t, "payshards")
	body := cardBody(2000, "4242424242424242")
	cases := []struct {
		name   string
		h      apitest.Header
		status int
		code   string
	}{
		{"no header", nil, 401, "api_key_missing"},
		{"unknown key", apitest.Basic("sk_test_nope"), 401, "api_key_invalid"},
		{"key of another API", apitest.Bearer(other.APIKey), 401, "api_key_invalid"},
		{"basic with a password", apitest.Header{"Authorization": "Basic c2tfdGVzdF94OnB3"}, 401, "api_key_missing"},
		{"secret key with a suffix", apitest.Bearer(acct.Keys.SecretTest + "x"), 401, "api_key_invalid"},
		{"publishable test key", apitest.Basic(acct.Keys.PublishableTest), 403, "secret_key_required"},
		{"publishable live key", apitest.Bearer(acct.Keys.PublishableLive), 403, "secret_key_required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ := "authentication_error"
			if c.status == 403 {
				typ = "invalid_request_error"
			}
			wantError(t, s.Do(t, "POST", "/paysmart/v2/payments", c.h, body), c.status, typ, c.code, "")
			wantError(t, s.Do(t, "GET", "/paysmart/v2/payments", c.h, nil), c.status, typ, c.code, "")
			wantError(t, s.Do(t, "GET", "/paysmart/v2/balance", c.h, nil), c.status, typ, c.code, "")
		})
	}
	if n := count(t, s, acct.Keys.SecretTest, "/payments"); n != 0 {
		t.Fatalf("%d payments after refused requests", n)
	}
	// Bearer and Basic both work; an inactive account's keys are refused.
	s.PaySmart(t, "GET", "/balance", "", nil, apitest.Bearer(acct.Keys.SecretTest)).WantStatus(t, 200)
	s.PaySmart(t, "GET", "/balance", acct.Keys.SecretLive, nil).WantStatus(t, 200)
	s.SetPartnerStatus(t, acct.ID, "inactive")
	wantError(t, s.PaySmart(t, "GET", "/balance", acct.Keys.SecretTest, nil), 401, "authentication_error", "api_key_invalid", "")
	s.SetPartnerStatus(t, acct.ID, "active")
	s.PaySmart(t, "GET", "/balance", acct.Keys.SecretTest, nil).WantStatus(t, 200)
}

func TestCreatePayment_SpecExample(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	req := cardBody(2000, "4242424242424242")
	req["description"] = "Payment for order #1234"
	r := s.PaySmart(t, "POST", "/payments", k, req)
	r.WantStatus(t, 200)
	p := obj(t, r)
	pm, _ := p["payment_method"].(map[string]any)
	card, _ := pm["card"].(map[string]any)
	if !strings.HasPrefix(p["id"].(string), "pay_") || p["object"] != "payment" || num(t, p, "amount") != 2000 || p["currency"] != "usd" ||
		p["status"] != "succeeded" || p["customer"] != nil || p["description"] != "Payment for order #1234" || p["livemode"] != false {
		t.Fatalf("payment %s", r.Body)
	}
	if !strings.HasPrefix(pm["id"].(string), "pm_") || pm["type"] != "card" || card["brand"] != "visa" || card["last4"] != "4242" ||
		num(t, card, "exp_month") != 12 || num(t, card, "exp_year") != int64(expYear) {
		t.Fatalf("payment method %v", pm)
	}
	if r.Header.Get("Idempotent-Replayed") != "" || len(r.Header.Get("Request-Id")) != 28 {
		t.Fatalf("headers %v", r.Header)
	}
	// The receipt: absolute, unguessable, an HTML page.
	url := p["receipt_url"].(string)
	if !strings.HasPrefix(url, s.URL+"/paysmart/receipts/") || len(url) != len(s.URL+"/paysmart/receipts/")+32 {
		t.Fatalf("receipt_url %q", url)
	}
	page := s.Do(t, "GET", strings.TrimPrefix(url, s.URL), nil, nil)
	if page.Status != 200 || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(string(page.Body), "20.00 USD") || !strings.Contains(string(page.Body), "visa ending in 4242") {
		t.Fatalf("receipt %d %s", page.Status, page.Body)
	}
	if g := s.Do(t, "GET", "/paysmart/receipts/"+strings.Repeat("x", 32), nil, nil); g.Status != 404 {
		t.Fatalf("unknown receipt: %d", g.Status)
	}
	// Retrieve gives the same object.
	s.PaySmart(t, "GET", "/payments/"+p["id"].(string), k, nil).WantJSON(t, 200, string(r.Body))
	wantError(t, s.PaySmart(t, "GET", "/payments/pay_nope", k, nil), 404, "invalid_request_error", "resource_missing", "id")
}

// The spec's Quick Example has exp 12/2025, which has passed: Stripe's
// answer to a past expiry year, and nothing is created.
func TestCreatePayment_QuickExamplePastExpiry(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	r := s.PaySmart(t, "POST", "/payments", k, `{
"amount": 2000,
"currency": "usd",
"payment_method": {
"type": "card",
"card": {
"number": "4242424242424242",
"exp_month": 12,
"exp_year": 2025,
"cvc": "123"
}
}
}`)
	e := wantError(t, r, 402, "card_error", "invalid_expiry_year", "payment_method[card][exp_year]")
	if e["message"] != "Your card's expiration year is in the past." || e["payment"] != nil {
		t.Fatalf("error %v", e)
	}
	if n := count(t, s, k, "/payments"); n != 0 {
		t.Fatalf("%d payments", n)
	}
}

func TestCreatePayment_Form(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	form := fmt.Sprintf("amount=2000&currency=eur&payment_method[type]=card&payment_method[card][number]=5555555555554444"+
		"&payment_method[card][exp_month]=7&payment_method[card][exp_year]=%d&payment_method[card][cvc]=321"+
		"&metadata[order]=1234&metadata[note]=a+b&description=Order%%20%%231234", expYear)
	r := s.PaySmart(t, "POST", "/payments", k, form, apitest.Form())
	r.WantStatus(t, 200)
	p := obj(t, r)
	md := p["metadata"].(map[string]any)
	card := p["payment_method"].(map[string]any)["card"].(map[string]any)
	if p["currency"] != "eur" || card["brand"] != "mastercard" || num(t, card, "exp_month") != 7 || md["order"] != "1234" ||
		md["note"] != "a b" || p["description"] != "Order #1234" {
		t.Fatalf("form payment %s", r.Body)
	}
	// Escaped brackets are the same names; a name twice is refused.
	r = s.PaySmart(t, "POST", "/payments", k, strings.ReplaceAll(form, "[", "%5B"), apitest.Form())
	r.WantStatus(t, 200)
	wantError(t, s.PaySmart(t, "POST", "/payments", k, form+"&amount=3000", apitest.Form()), 400, "invalid_request_error", "body_invalid", "")
	wantError(t, s.PaySmart(t, "POST", "/payments", k, "amount=x", apitest.Form()), 400, "invalid_request_error", "parameter_invalid_integer", "amount")
}

func TestCardValidation_NothingCreated(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	card := func(number string, month, year int, cvc string) map[string]any {
		b := cardBody(2000, number)
		b["payment_method"].(map[string]any)["card"] = map[string]any{"number": number, "exp_month": month, "exp_year": year, "cvc": cvc}
		return b
	}
	cases := []struct {
		name  string
		body  map[string]any
		code  string
		param string
	}{
		{"bad luhn", card("4242424242424241", 12, expYear, "123"), "incorrect_number", "number"},
		{"too short", card("42424242", 12, expYear, "123"), "incorrect_number", "number"},
		{"spaces", card("4242 4242 4242 4242", 12, expYear, "123"), "incorrect_number", "number"},
		{"month 13", card("4242424242424242", 13, expYear, "123"), "invalid_expiry_month", "exp_month"},
		{"month 0", card("4242424242424242", 0, expYear, "123"), "invalid_expiry_month", "exp_month"},
		{"past year", card("4242424242424242", 12, 2020, "123"), "invalid_expiry_year", "exp_year"},
		{"two-digit year", card("4242424242424242", 12, 30, "123"), "invalid_expiry_year", "exp_year"},
		{"far year", card("4242424242424242", 12, expYear+60, "123"), "invalid_expiry_year", "exp_year"},
		{"cvc 2 digits", card("4242424242424242", 12, expYear, "12"), "invalid_cvc", "cvc"},
		{"amex cvc 3 digits", card("378282246310005", 12, expYear, "123"), "invalid_cvc", "cvc"},
		{"cvc letters", card("4242424242424242", 12, expYear, "12a"), "invalid_cvc", "cvc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.PaySmart(t, "POST", "/payments", k, c.body, key("card-"+c.name))
			wantError(t, r, 402, "card_error", c.code, "payment_method[card]["+c.param+"]")
			// Not bound: the same key with a good card creates the payment.
			s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("card-"+c.name)).WantStatus(t, 200)
		})
	}
	if n := count(t, s, k, "/payments"); n != len(cases) {
		t.Fatalf("%d payments, want %d (only the good retries)", n, len(cases))
	}
}

// The decline table: the payment exists, failed, and error.payment names it.
func TestDeclines(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	cases := []struct{ number, code, decline, message string }{
		{"4000000000000002", "card_declined", "generic_decline", "Your card was declined."},
		{"4000000000009995", "card_declined", "insufficient_funds", "Your card has insufficient funds."},
		{"4000000000009987", "card_declined", "lost_card", "Your card was declined."},
		{"4000000000009979", "card_declined", "stolen_card", "Your card was declined."},
		{"4000000000000069", "expired_card", "", "Your card has expired."},
		{"4000000000000127", "incorrect_cvc", "", "Your card's security code is incorrect."},
		{"4000000000000119", "processing_error", "", "An error occurred while processing your card. Try again in a little bit."},
	}
	for _, c := range cases {
		t.Run(c.number, func(t *testing.T) {
			e := wantError(t, s.PaySmart(t, "POST", "/payments", k, cardBody(5000, c.number)), 402, "card_error", c.code, "")
			dc, _ := e["decline_code"].(string)
			if dc != c.decline || e["message"] != c.message {
				t.Fatalf("error %v", e)
			}
			id, _ := e["payment"].(string)
			p := obj(t, s.PaySmart(t, "GET", "/payments/"+id, k, nil))
			if p["status"] != "failed" || p["failure_code"] != c.code || p["failure_message"] != c.message {
				t.Fatalf("failed payment %v", p)
			}
		})
	}
	// Other valid numbers succeed in test mode.
	for _, n := range []string{"4111111111111111", "378282246310005", "6011111111111117"} {
		s.PaySmart(t, "POST", "/payments", k, cardBody(5000, n)).WantStatus(t, 200)
	}
	// Failed payments are not in the balance.
	s.PaySmart(t, "GET", "/balance", k, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":15000,"currency":"usd"}],"livemode":false}`)
}

func TestLiveMode(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	live, test := acct.Keys.SecretLive, acct.Keys.SecretTest
	for _, n := range []string{"4242424242424242", "5555555555554444", "378282246310005", "4000000000000002", "4000000000000069"} {
		e := wantError(t, s.PaySmart(t, "POST", "/payments", live, cardBody(5000, n)), 402, "card_error", "card_declined", "")
		if e["decline_code"] != "test_mode_decline" || !strings.Contains(e["message"].(string), "live mode") || !strings.Contains(e["message"].(string), "test card") {
			t.Fatalf("live test card %s: %v", n, e)
		}
	}
	r := s.PaySmart(t, "POST", "/payments", live, cardBody(5000, "4111111111111111"))
	r.WantStatus(t, 200)
	p := obj(t, r)
	if p["livemode"] != true || p["status"] != "succeeded" {
		t.Fatalf("live payment %s", r.Body)
	}
	// Test and live objects are invisible to each other.
	id := p["id"].(string)
	wantError(t, s.PaySmart(t, "GET", "/payments/"+id, test, nil), 404, "invalid_request_error", "resource_missing", "id")
	s.PaySmart(t, "GET", "/payments/"+id, live, nil).WantStatus(t, 200)
	if count(t, s, test, "/payments") != 0 || count(t, s, live, "/payments") != 6 {
		t.Fatal("lists cross modes")
	}
	s.PaySmart(t, "GET", "/balance", live, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":5000,"currency":"usd"}],"livemode":true}`)
	s.PaySmart(t, "GET", "/balance", test, nil).WantJSON(t, 200, `{"object":"balance","available":[],"livemode":false}`)
}

func TestCreatePayment_Validation(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	with := func(k string, v any) map[string]any {
		b := cardBody(2000, "4242424242424242")
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	bigMD := map[string]any{}
	for i := range 51 {
		bigMD[fmt.Sprintf("k%d", i)] = "v"
	}
	cases := []struct {
		name        string
		body        any
		code, param string
	}{
		{"no amount", with("amount", nil), "parameter_missing", "amount"},
		{"amount 49", with("amount", 49), "amount_too_small", "amount"},
		{"amount too large", with("amount", 100_000_000), "amount_too_large", "amount"},
		{"amount fraction", `{"amount":20.5,"currency":"usd"}`, "parameter_invalid_integer", "amount"},
		{"amount string", with("amount", "2000"), "parameter_invalid_integer", "amount"},
		{"no currency", with("currency", nil), "parameter_missing", "currency"},
		{"currency upper", with("currency", "USD"), "invalid_currency", "currency"},
		{"currency jpy", with("currency", "jpy"), "invalid_currency", "currency"},
		{"no payment_method", with("payment_method", nil), "parameter_missing", "payment_method"},
		{"payment_method type", with("payment_method", map[string]any{"type": "sepa", "card": map[string]any{}}), "parameter_invalid", "payment_method[type]"},
		{"no card", with("payment_method", map[string]any{"type": "card"}), "parameter_missing", "payment_method[card]"},
		{"no cvc", with("payment_method", map[string]any{"type": "card", "card": map[string]any{"number": "4242424242424242", "exp_month": 1, "exp_year": expYear}}),
			"parameter_missing", "payment_method[card][cvc]"},
		{"unknown card field", with("payment_method", map[string]any{"type": "card", "card": map[string]any{"name": "x"}}), "parameter_unknown", "payment_method[card][name]"},
		{"unknown field", with("capture", true), "parameter_unknown", "capture"},
		{"customer malformed", with("customer", "nope"), "resource_missing", "customer"},
		{"description too long", with("description", strings.Repeat("d", 501)), "parameter_invalid_string", "description"},
		{"metadata 51 keys", with("metadata", bigMD), "parameter_invalid", "metadata"},
		{"metadata key 41", with("metadata", map[string]any{strings.Repeat("k", 41): "v"}), "parameter_invalid", "metadata[" + strings.Repeat("k", 41) + "]"},
		{"metadata value 501", with("metadata", map[string]any{"k": strings.Repeat("v", 501)}), "parameter_invalid", "metadata[k]"},
		{"metadata number", with("metadata", map[string]any{"k": 1}), "parameter_invalid", "metadata[k]"},
		{"malformed JSON", `{"amount":`, "body_invalid", ""},
		{"duplicate key", `{"amount":2000,"amount":3000}`, "body_invalid", ""},
		{"not an object", `[1]`, "body_invalid", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, s.PaySmart(t, "POST", "/payments", k, c.body, key("v-"+c.name)), 400, "invalid_request_error", c.code, c.param)
		})
	}
	wantError(t, s.PaySmart(t, "POST", "/payments", k, "amount=1", apitest.Header{"Content-Type": "text/plain"}), 400, "invalid_request_error", "body_invalid", "")
	// Metadata at the limits is accepted.
	okMD := map[string]any{}
	for i := range 50 {
		okMD[fmt.Sprintf("%040d", i)] = strings.Repeat("v", 500)
	}
	s.PaySmart(t, "POST", "/payments", k, with("metadata", okMD)).WantStatus(t, 200)
	if n := count(t, s, k, "/payments"); n != 1 {
		t.Fatalf("%d payments after refusals", n)
	}
	// The refusals bound no key: each key is free for a good request.
	for _, c := range cases[:3] {
		s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("v-"+c.name)).WantStatus(t, 200)
	}
}

func TestRoutes_NotFound(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	r := s.PaySmart(t, "GET", "/nope", k, nil)
	wantError(t, r, 404, "invalid_request_error", "route_not_found", "")
	r = s.PaySmart(t, "DELETE", "/payments", k, nil)
	wantError(t, r, 405, "invalid_request_error", "method_not_allowed", "")
	if s.PaySmart(t, "GET", "/openapi.json", "", nil).Status != 200 {
		t.Fatal("openapi.json")
	}
}

func TestPaymentMethods(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	pk, sk := acct.Keys.PublishableTest, acct.Keys.SecretTest
	pmBody := func(number string) map[string]any {
		return map[string]any{"type": "card", "card": map[string]any{"number": number, "exp_month": 3, "exp_year": expYear, "cvc": cvcOf(number)}}
	}
	r := s.PaySmart(t, "POST", "/payment_methods", pk, pmBody("4242424242424242"))
	r.WantStatus(t, 200)
	if r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("no CORS header: %v", r.Header)
	}
	pm := obj(t, r)
	id := pm["id"].(string)
	if pm["object"] != "payment_method" || pm["card"].(map[string]any)["last4"] != "4242" {
		t.Fatalf("pm %s", r.Body)
	}
	s.PaySmart(t, "GET", "/payment_methods/"+id, sk, nil).WantJSON(t, 200, string(r.Body))
	wantError(t, s.PaySmart(t, "GET", "/payment_methods/"+id, pk, nil), 403, "invalid_request_error", "secret_key_required", "")
	wantError(t, s.PaySmart(t, "GET", "/payment_methods/"+id, acct.Keys.SecretLive, nil), 404, "invalid_request_error", "resource_missing", "id")
	// Preflight.
	pre := s.Do(t, "OPTIONS", "/paysmart/v2/payment_methods", apitest.Header{"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}, nil)
	if pre.Status != 204 || pre.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight %d %v", pre.Status, pre.Header)
	}
	// A card failing validation: 402 with the route's own param names.
	bad := pmBody("4242424242424241")
	wantError(t, s.PaySmart(t, "POST", "/payment_methods", pk, bad), 402, "card_error", "incorrect_number", "card[number]")
	wantError(t, s.PaySmart(t, "POST", "/payment_methods", pk, map[string]any{"type": "card"}), 400, "invalid_request_error", "parameter_missing", "card")
	// Paying with the payment method (secret key); a declining test card
	// tokenized keeps its outcome; another mode's or account's pm is missing.
	pay := func(key, pmID string) *apitest.Response {
		return s.PaySmart(t, "POST", "/payments", key, map[string]any{"amount": 700, "currency": "gbp", "payment_method": pmID})
	}
	r = pay(sk, id)
	r.WantStatus(t, 200)
	if p := obj(t, r); p["payment_method"].(map[string]any)["id"] != id || p["status"] != "succeeded" {
		t.Fatalf("payment with pm %s", r.Body)
	}
	declining := obj(t, s.PaySmart(t, "POST", "/payment_methods", pk, pmBody("4000000000009995")))["id"].(string)
	e := wantError(t, pay(sk, declining), 402, "card_error", "card_declined", "")
	if e["decline_code"] != "insufficient_funds" {
		t.Fatalf("decline %v", e)
	}
	wantError(t, pay(acct.Keys.SecretLive, id), 400, "invalid_request_error", "resource_missing", "payment_method")
	wantError(t, pay(s.NewPaySmartAccount(t).Keys.SecretTest, id), 400, "invalid_request_error", "resource_missing", "payment_method")
	wantError(t, pay(sk, "pm_nope"), 400, "invalid_request_error", "resource_missing", "payment_method")
	if n := count(t, s, sk, "/payments"); n != 2 {
		t.Fatalf("%d payments, want 2", n)
	}
}

func TestUpdatePayment(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	b := cardBody(2000, "4242424242424242")
	b["metadata"] = map[string]any{"a": "1", "b": "2"}
	id := obj(t, s.PaySmart(t, "POST", "/payments", k, b))["id"].(string)
	r := s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"description": "order 7", "metadata": map[string]any{"a": "", "c": "3"}})
	r.WantStatus(t, 200)
	p := obj(t, r)
	if p["description"] != "order 7" || fmt.Sprint(p["metadata"]) != "map[b:2 c:3]" {
		t.Fatalf("updated %s", r.Body)
	}
	r = s.PaySmart(t, "POST", "/payments/"+id, k, "description=&metadata=", apitest.Form())
	r.WantStatus(t, 200)
	if p := obj(t, r); p["description"] != nil || fmt.Sprint(p["metadata"]) != "map[]" {
		t.Fatalf("cleared %s", r.Body)
	}
	wantError(t, s.PaySmart(t, "POST", "/payments/pay_nope", k, map[string]any{"description": "x"}), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"amount": 5}), 400, "invalid_request_error", "parameter_unknown", "amount")
	wantError(t, s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"customer": "cus_nope"}), 400, "invalid_request_error", "resource_missing", "customer")
	if got := obj(t, s.PaySmart(t, "GET", "/payments/"+id, k, nil)); got["customer"] != nil || num(t, got, "amount") != 2000 {
		t.Fatalf("after refusals %v", got)
	}
}

func TestListPayments(t *testing.T) {
	clock := apitest.NewClock(mustTime("2026-06-01T00:00:00Z"))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	var ids []string
	var created []int64
	for i := range 5 {
		p := obj(t, s.PaySmart(t, "POST", "/payments", k, cardBody(int64(1000+i), "4242424242424242")))
		ids = append(ids, p["id"].(string))
		created = append(created, num(t, p, "created"))
		clock.Advance(10e9)
	}
	list := func(q string) ([]string, bool) {
		t.Helper()
		r := s.PaySmart(t, "GET", "/payments"+q, k, nil)
		r.WantStatus(t, 200)
		m := obj(t, r)
		if m["object"] != "list" || m["url"] != "/paysmart/v2/payments" {
			t.Fatalf("list %s", r.Body)
		}
		var out []string
		for _, d := range m["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out, m["has_more"].(bool)
	}
	want := func(q string, wantMore bool, idx ...int) {
		t.Helper()
		got, more := list(q)
		var w []string
		for _, i := range idx {
			w = append(w, ids[i])
		}
		if fmt.Sprint(got) != fmt.Sprint(w) || more != wantMore {
			t.Fatalf("%s: %v more %v, want %v more %v", q, got, more, w, wantMore)
		}
	}
	want("", false, 4, 3, 2, 1, 0)
	want("?limit=2", true, 4, 3)
	want("?limit=2&starting_after="+ids[3], true, 2, 1)
	want("?limit=2&starting_after="+ids[1], false, 0)
	want("?limit=2&ending_before="+ids[1], true, 3, 2)
	want("?ending_before="+ids[2], false, 4, 3)
	want(fmt.Sprintf("?created[gte]=%d&created[lt]=%d", created[1], created[3]), false, 2, 1)
	want(fmt.Sprintf("?created[gt]=%d", created[3]), false, 4)
	want(fmt.Sprintf("?created[lte]=%d", created[0]), false, 0)
	want(fmt.Sprintf("?created=%d", created[2]), false, 2)
	for _, q := range []struct{ q, code, param string }{
		{"?limit=0", "parameter_invalid", "limit"},
		{"?limit=101", "parameter_invalid", "limit"},
		{"?limit=x", "parameter_invalid_integer", "limit"},
		{"?starting_after=pay_nope", "resource_missing", "starting_after"},
		{"?starting_after=" + ids[0] + "&ending_before=" + ids[1], "parameter_invalid", "ending_before"},
		{"?created[since]=1", "parameter_unknown", "created[since]"},
		{"?color=red", "parameter_unknown", "color"},
	} {
		wantError(t, s.PaySmart(t, "GET", "/payments"+q.q, k, nil), 400, "invalid_request_error", q.code, q.param)
	}
}

func TestRateLimit(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	s.Admin(t, "PATCH", "/partners/"+acct.ID, map[string]any{"rateLimitPerMinute": 3}).WantStatus(t, 200)
	// The limit is the account's: its keys share it, both modes.
	s.PaySmart(t, "POST", "/payments", acct.Keys.SecretTest, cardBody(2000, "4242424242424242")).WantStatus(t, 200)
	s.PaySmart(t, "GET", "/balance", acct.Keys.SecretLive, nil).WantStatus(t, 200)
	wantError(t, s.PaySmart(t, "POST", "/payments", acct.Keys.SecretTest, map[string]any{}), 400, "invalid_request_error", "parameter_missing", "amount")
	for _, r := range []*apitest.Response{
		s.PaySmart(t, "POST", "/payments", acct.Keys.SecretTest, cardBody(2000, "4242424242424242"), key("rl")),
		s.PaySmart(t, "POST", "/payments", acct.Keys.SecretLive, map[string]any{}),
		s.PaySmart(t, "GET", "/payments", acct.Keys.SecretTest, nil),
		s.PaySmart(t, "POST", "/payment_methods", acct.Keys.PublishableTest, map[string]any{}),
	} {
		wantError(t, r, 429, "rate_limit_error", "rate_limit", "")
		if r.Header.Get("Retry-After") == "" {
			t.Fatalf("no Retry-After: %v", r.Header)
		}
	}
	// Another account is not limited; raising the limit lets the refused
	// key through as a first request (a 429 bound nothing).
	s.PaySmart(t, "GET", "/balance", s.NewPaySmartAccount(t).Keys.SecretTest, nil).WantStatus(t, 200)
	s.Admin(t, "PATCH", "/partners/"+acct.ID, map[string]any{"rateLimitPerMinute": 1000}).WantStatus(t, 200)
	r := s.PaySmart(t, "POST", "/payments", acct.Keys.SecretTest, cardBody(2000, "4242424242424242"), key("rl"))
	r.WantStatus(t, 200)
	if r.Header.Get("Idempotent-Replayed") != "" || count(t, s, acct.Keys.SecretTest, "/payments") != 2 {
		t.Fatal("the rate-limited request bound its key or created a payment")
	}
}

// TestPaymentEventObject: a payment's event carries the payment object
// as it was created: for a succeeded one the create's answer itself (the
// API renders it once for both), for a declined one the payment as GET
// shows it, while the create answers with the decline error.
func TestPaymentEventObject(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	eventObject := func(typ string) map[string]any {
		t.Helper()
		data := obj(t, s.PaySmart(t, "GET", "/events?type="+typ, k, nil))["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("%d %s events", len(data), typ)
		}
		return data[0].(map[string]any)["data"].(map[string]any)["object"].(map[string]any)
	}
	r := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"), key("ev-ok"))
	r.WantStatus(t, 200)
	if got, want := eventObject("payment.succeeded"), obj(t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("payment.succeeded object %v, want the create's answer %v", got, want)
	}
	d := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4000000000000002"), key("ev-declined"))
	d.WantStatus(t, 402)
	got := eventObject("payment.failed")
	want := obj(t, s.PaySmart(t, "GET", "/payments/"+got["id"].(string), k, nil))
	if !reflect.DeepEqual(got, want) || got["status"] != "failed" {
		t.Fatalf("payment.failed object %v, want the payment %v", got, want)
	}
}
