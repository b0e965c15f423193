package paysmart_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"ledgerd/api/apitest"
)

func TestRefunds(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys.SecretTest
	pay := obj(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242")))
	pid := pay["id"].(string)
	payment := func() map[string]any { return obj(t, s.PaySmart(t, "GET", "/payments/"+pid, k, nil)) }
	r := s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pid, "amount": 500, "reason": "requested_by_customer"}, key("r1"))
	r.WantStatus(t, 200)
	re := obj(t, r)
	if !strings.HasPrefix(re["id"].(string), "re_") || re["object"] != "refund" || num(t, re, "amount") != 500 || re["currency"] != "usd" ||
		re["payment"] != pid || re["reason"] != "requested_by_customer" || re["status"] != "succeeded" || re["livemode"] != false {
		t.Fatalf("refund %s", r.Body)
	}
	if p := payment(); num(t, p, "amount_refunded") != 500 || p["refunded"] != false {
		t.Fatalf("payment after partial refund %v", p)
	}
	// A replay, and refusals that change nothing (each bound to its key
	// and replayed too: they are answers against state, not validation).
	if again := s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pid, "amount": 500, "reason": "requested_by_customer"}, key("r1")); !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("refund replay %s", again.Body)
	}
	over := s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pid, "amount": 1501}, key("r2"))
	wantError(t, over, 400, "invalid_request_error", "amount_too_large", "amount")
	if again := s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pid, "amount": 1501}, key("r2")); !bytes.Equal(again.Body, over.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("refusal replay %s", again.Body)
	}
	wantError(t, s.PaySmart(t, "POST", "/refunds", acct.Keys.SecretLive, map[string]any{"payment": pid}), 400, "invalid_request_error", "resource_missing", "payment")
	wantError(t, s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": "pay_nope"}), 400, "invalid_request_error", "resource_missing", "payment")
	for _, c := range []struct {
		body        map[string]any
		code, param string
	}{
		{map[string]any{}, "parameter_missing", "payment"},
		{map[string]any{"payment": pid, "amount": 0}, "amount_too_small", "amount"},
		{map[string]any{"payment": pid, "amount": "5"}, "parameter_invalid_integer", "amount"},
		{map[string]any{"payment": pid, "reason": "bored"}, "parameter_invalid", "reason"},
		{map[string]any{"payment": pid, "metadata": map[string]any{}}, "parameter_unknown", "metadata"},
		{map[string]any{"payment": "re_1"}, "resource_missing", "payment"},
	} {
		wantError(t, s.PaySmart(t, "POST", "/refunds", k, c.body), 400, "invalid_request_error", c.code, c.param)
	}
	if p := payment(); num(t, p, "amount_refunded") != 500 || count(t, s, k, "/refunds") != 1 {
		t.Fatalf("refusals changed something: %v", p)
	}
	s.PaySmart(t, "GET", "/balance", k, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":1500,"currency":"usd"}],"livemode":false}`)
	// The rest (no amount), then nothing is left.
	rest := obj(t, s.PaySmart(t, "POST", "/refunds", k, "payment="+pid, apitest.Form()))
	if num(t, rest, "amount") != 1500 || rest["reason"] != nil {
		t.Fatalf("rest %v", rest)
	}
	if p := payment(); num(t, p, "amount_refunded") != 2000 || p["refunded"] != true {
		t.Fatalf("payment after full refund %v", p)
	}
	wantError(t, s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": pid, "amount": 1}), 400, "invalid_request_error", "charge_already_refunded", "payment")
	s.PaySmart(t, "GET", "/balance", k, nil).WantJSON(t, 200, `{"object":"balance","available":[{"amount":0,"currency":"usd"}],"livemode":false}`)
	// A failed payment has nothing to refund.
	failed := errOf(t, s.PaySmart(t, "POST", "/payments", k, cardBody(3000, "4000000000000002")))["payment"].(string)
	wantError(t, s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": failed}), 400, "invalid_request_error", "charge_not_refundable", "payment")
	// Retrieve and list (filter by payment, newest first).
	s.PaySmart(t, "GET", "/refunds/"+re["id"].(string), k, nil).WantJSON(t, 200, string(r.Body))
	wantError(t, s.PaySmart(t, "GET", "/refunds/"+re["id"].(string), acct.Keys.SecretLive, nil), 404, "invalid_request_error", "resource_missing", "id")
	other := obj(t, s.PaySmart(t, "POST", "/payments", k, cardBody(900, "4242424242424242")))["id"].(string)
	s.PaySmart(t, "POST", "/refunds", k, map[string]any{"payment": other, "amount": 100}).WantStatus(t, 200)
	l := obj(t, s.PaySmart(t, "GET", "/refunds?payment="+pid, k, nil))
	data := l["data"].([]any)
	if len(data) != 2 || data[0].(map[string]any)["id"] != rest["id"] || data[1].(map[string]any)["id"] != re["id"] || l["url"] != "/paysmart/v2/refunds" {
		t.Fatalf("refunds of %s: %v", pid, l)
	}
	if count(t, s, k, "/refunds") != 3 {
		t.Fatal("all refunds")
	}
	// The receipt shows the refund.
	url := payment()["receipt_url"].(string)
	if page := s.Do(t, "GET", strings.TrimPrefix(url, s.URL), nil, nil); !strings.Contains(string(page.Body), "Refunded") {
		t.Fatalf("receipt %s", page.Body)
	}
}

func TestCustomers(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys.SecretTest
	spec := `{"email":"customer@example.com","name":"John Doe","phone":"+1234567890","address":{"line1":"123 Main St","city":"San Francisco","state":"CA","postal_code":"94111","country":"US"}}`
	r := s.PaySmart(t, "POST", "/customers", k, spec)
	r.WantStatus(t, 200)
	c := obj(t, r)
	id := c["id"].(string)
	created := num(t, c, "created")
	r.WantJSON(t, 200, fmt.Sprintf(`{"id":%q,"object":"customer","email":"customer@example.com","name":"John Doe","phone":"+1234567890",
		"address":{"line1":"123 Main St","line2":null,"city":"San Francisco","state":"CA","postal_code":"94111","country":"US"},
		"created":%d,"description":null,"metadata":{},"livemode":false}`, id, created))
	s.PaySmart(t, "GET", "/customers/"+id, k, nil).WantJSON(t, 200, string(r.Body))
	empty := s.PaySmart(t, "POST", "/customers", k, nil)
	empty.WantStatus(t, 200)
	if e := obj(t, empty); e["email"] != nil || e["name"] != nil || e["address"] != nil {
		t.Fatalf("empty customer %s", empty.Body)
	}
	// Update: fields, address replaced whole or cleared, metadata merged.
	u := s.PaySmart(t, "POST", "/customers/"+id, k, "name=Jane+Doe&address[line1]=1+Elm&metadata[a]=1&metadata[b]=2", apitest.Form())
	u.WantStatus(t, 200)
	if m := obj(t, u); m["name"] != "Jane Doe" || m["email"] != "customer@example.com" || m["address"].(map[string]any)["city"] != nil ||
		fmt.Sprint(m["metadata"]) != "map[a:1 b:2]" {
		t.Fatalf("updated %s", u.Body)
	}
	u = s.PaySmart(t, "POST", "/customers/"+id, k, map[string]any{"address": nil, "metadata": map[string]any{"a": nil}, "phone": ""})
	if m := obj(t, u); m["address"] != nil || m["phone"] != nil || fmt.Sprint(m["metadata"]) != "map[b:2]" {
		t.Fatalf("cleared %s", u.Body)
	}
	for _, c := range []struct {
		body        any
		code, param string
	}{
		{map[string]any{"email": "not-an-email"}, "parameter_invalid", "email"},
		{map[string]any{"name": strings.Repeat("n", 501)}, "parameter_invalid_string", "name"},
		{map[string]any{"address": map[string]any{"street": "x"}}, "parameter_unknown", "address[street]"},
		{map[string]any{"address": map[string]any{"city": 5}}, "parameter_invalid_string", "address[city]"},
		{map[string]any{"balance": 5}, "parameter_unknown", "balance"},
	} {
		wantError(t, s.PaySmart(t, "POST", "/customers", k, c.body), 400, "invalid_request_error", c.code, c.param)
		wantError(t, s.PaySmart(t, "POST", "/customers/"+id, k, c.body), 400, "invalid_request_error", c.code, c.param)
	}
	wantError(t, s.PaySmart(t, "POST", "/customers/cus_nope", k, map[string]any{"name": "x"}), 404, "invalid_request_error", "resource_missing", "id")
	if count(t, s, k, "/customers") != 2 || obj(t, s.PaySmart(t, "GET", "/customers/"+id, k, nil))["name"] != "Jane Doe" {
		t.Fatal("refused updates changed something")
	}
	// Payments by customer.
	b := cardBody(1000, "4242424242424242")
	b["customer"] = id
	p1 := obj(t, s.PaySmart(t, "POST", "/payments", k, b))["id"].(string)
	s.PaySmart(t, "POST", "/payments", k, cardBody(1000, "4242424242424242")).WantStatus(t, 200)
	l := obj(t, s.PaySmart(t, "GET", "/payments?customer="+id, k, nil))["data"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["id"] != p1 || l[0].(map[string]any)["customer"] != id {
		t.Fatalf("payments of customer %v", l)
	}
	// A live key sees no test customer.
	wantError(t, s.PaySmart(t, "GET", "/customers/"+id, acct.Keys.SecretLive, nil), 404, "invalid_request_error", "resource_missing", "id")
	lb := cardBody(1000, "4111111111111111")
	lb["customer"] = id
	wantError(t, s.PaySmart(t, "POST", "/payments", acct.Keys.SecretLive, lb), 400, "invalid_request_error", "resource_missing", "customer")
	// Delete: the stub, retrievable; gone from lists; refused afterwards.
	d := s.PaySmart(t, "DELETE", "/customers/"+id, k, nil, key("del"))
	d.WantJSON(t, 200, fmt.Sprintf(`{"id":%q,"object":"customer","deleted":true}`, id))
	if again := s.PaySmart(t, "DELETE", "/customers/"+id, k, nil, key("del")); !bytes.Equal(again.Body, d.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("delete replay %d %s", again.Status, again.Body)
	}
	s.PaySmart(t, "GET", "/customers/"+id, k, nil).WantJSON(t, 200, string(d.Body))
	wantError(t, s.PaySmart(t, "DELETE", "/customers/"+id, k, nil), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, s.PaySmart(t, "POST", "/customers/"+id, k, map[string]any{"name": "x"}), 404, "invalid_request_error", "resource_missing", "id")
	wantError(t, s.PaySmart(t, "POST", "/payments", k, b), 400, "invalid_request_error", "resource_missing", "customer")
	wantError(t, s.PaySmart(t, "POST", "/payments/"+p1, k, map[string]any{"customer": id}), 400, "invalid_request_error", "resource_missing", "customer")
	if count(t, s, k, "/customers") != 1 {
		t.Fatal("a deleted customer is listed")
	}
	// The deleted customer's payment keeps its customer id.
	if p := obj(t, s.PaySmart(t, "GET", "/payments/"+p1, k, nil)); p["customer"] != id {
		t.Fatalf("payment %v", p)
	}
}
