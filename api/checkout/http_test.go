package checkout_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/checkout"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

func TestCreatePayment_Fields(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	p := create(t, s, sh.TestKey, validBody())
	want := []string{"id", "object", "livemode", "amount", "currency", "status", "checkout_url", "return_url", "customer_email", "customer_name",
		"metadata", "amount_refunded", "failure_reason", "receipt_url", "created_at", "expires_at", "completed_at"}
	for _, k := range want {
		if _, ok := p[k]; !ok {
			t.Errorf("field %q missing", k)
		}
	}
	if len(p) != len(want) {
		t.Errorf("fields %v", p)
	}
	for _, k := range []string{"customer_email", "customer_name", "metadata", "failure_reason", "receipt_url", "completed_at"} {
		if p[k] != nil {
			t.Errorf("%s = %v, want null", k, p[k])
		}
	}
	if p["status"] != "pending" || p["currency"] != "usd" || p["livemode"] != false || jsonNum(t, p["amount"]) != 2000 ||
		!isTime(p["created_at"]) || !isTime(p["expires_at"]) || !strings.HasPrefix(p["id"].(string), "pay_") {
		t.Fatalf("payment %v", p)
	}
	created, _ := time.Parse(time.RFC3339, p["created_at"].(string))
	expires, _ := time.Parse(time.RFC3339, p["expires_at"].(string))
	if expires.Sub(created) != checkout.DefaultExpiry {
		t.Errorf("expires %v after creation", expires.Sub(created))
	}
	if u := p["checkout_url"].(string); !strings.HasPrefix(u, s.URL+"/checkout/pay/") || len(token(t, p)) != 43 {
		t.Errorf("checkout_url %q", u)
	}
	// Optional fields as sent; USD answered usd; numbers kept as written.
	body := validBody()
	body["currency"] = "USD"
	body["customer_email"] = "ann@example.com"
	body["customer_name"] = "Ann Émile"
	r := api(t, s, "POST", "/payments", sh.TestKey, `{"amount":5000,"currency":"USD","return_url":"https://shop.example/done","customer_email":"ann@example.com",`+
		`"customer_name":"Ann Émile","metadata":{"order":"A-1","total":12.50,"big":12345678901234567890,"gift":true}}`)
	r.WantStatus(t, http.StatusOK)
	if !bytes.Contains(r.Body, []byte(`"metadata":{"order":"A-1","total":12.50,"big":12345678901234567890,"gift":true}`)) {
		t.Errorf("metadata not as sent: %s", r.Body)
	}
	q := r.JSON(t)
	if q["currency"] != "usd" || q["customer_email"] != "ann@example.com" || q["customer_name"] != "Ann Émile" {
		t.Errorf("payment %v", q)
	}
	// Live key: live mode.
	if l := create(t, s, sh.LiveKey, validBody()); l["livemode"] != true {
		t.Errorf("live payment %v", l)
	}
	// GET returns the same object.
	g := api(t, s, "GET", "/payments/"+q["id"].(string), sh.TestKey, nil)
	g.WantStatus(t, http.StatusOK)
	if !bytes.Equal(g.Body, r.Body) {
		t.Errorf("GET %s\nPOST %s", g.Body, r.Body)
	}
}

// TestCreatePayment_Validation: each rule of the spec's 400 list (and the
// issue's) is its own error naming the field, and nothing is created.
func TestCreatePayment_Validation(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	bigMeta := make([]string, 0, 51)
	for i := range 51 {
		bigMeta = append(bigMeta, fmt.Sprintf(`"k%d":"v"`, i))
	}
	longValue := strings.Repeat("x", 501)
	heavy := make([]string, 0, 12)
	for i := range 12 {
		heavy = append(heavy, fmt.Sprintf(`"k%d":"%s"`, i, strings.Repeat("é", 250)))
	}
	const base = `"currency":"usd","return_url":"http://127.0.0.1/x"`
	for _, c := range []struct{ name, body, code, param string }{
		{"amount missing", `{` + base + `}`, checkout.CodeParameterMissing, "amount"},
		{"amount null", `{"amount":null,` + base + `}`, checkout.CodeParameterMissing, "amount"},
		{"amount 49", `{"amount":49,` + base + `}`, checkout.CodeAmountTooSmall, "amount"},
		{"amount 0", `{"amount":0,` + base + `}`, checkout.CodeAmountTooSmall, "amount"},
		{"amount negative", `{"amount":-100,` + base + `}`, checkout.CodeAmountTooSmall, "amount"},
		{"amount too large", `{"amount":100000000,` + base + `}`, checkout.CodeAmountTooLarge, "amount"},
		{"amount huge", `{"amount":99999999999999999999999,` + base + `}`, checkout.CodeAmountTooLarge, "amount"},
		{"amount decimal", `{"amount":20.5,` + base + `}`, checkout.CodeInvalidInteger, "amount"},
		{"amount string", `{"amount":"2000",` + base + `}`, checkout.CodeInvalidInteger, "amount"},
		{"currency missing", `{"amount":2000,"return_url":"http://127.0.0.1/x"}`, checkout.CodeParameterMissing, "currency"},
		{"currency eur", `{"amount":2000,"currency":"eur","return_url":"http://127.0.0.1/x"}`, checkout.CodeCurrencyNotSupported, "currency"},
		{"currency number", `{"amount":2000,"currency":840,"return_url":"http://127.0.0.1/x"}`, checkout.CodeCurrencyNotSupported, "currency"},
		{"return_url missing", `{"amount":2000,"currency":"usd"}`, checkout.CodeParameterMissing, "return_url"},
		{"return_url relative", `{"amount":2000,"currency":"usd","return_url":"/done"}`, checkout.CodeURLInvalid, "return_url"},
		{"return_url ftp", `{"amount":2000,"currency":"usd","return_url":"ftp://x.test/"}`, checkout.CodeURLInvalid, "return_url"},
		{"return_url javascript", `{"amount":2000,"currency":"usd","return_url":"javascript:alert(1)"}`, checkout.CodeURLInvalid, "return_url"},
		{"return_url spaces", `{"amount":2000,"currency":"usd","return_url":"http://x.test/a b"}`, checkout.CodeURLInvalid, "return_url"},
		{"return_url userinfo", `{"amount":2000,"currency":"usd","return_url":"http://u:p@x.test/"}`, checkout.CodeURLInvalid, "return_url"},
		{"return_url too long", `{"amount":2000,"currency":"usd","return_url":"http://x.test/` + strings.Repeat("a", 2048) + `"}`, checkout.CodeURLInvalid, "return_url"},
		{"email invalid", `{"amount":2000,` + base + `,"customer_email":"not-an-email"}`, checkout.CodeEmailInvalid, "customer_email"},
		{"email with name", `{"amount":2000,` + base + `,"customer_email":"Ann <a@b.test>"}`, checkout.CodeEmailInvalid, "customer_email"},
		{"email no dot", `{"amount":2000,` + base + `,"customer_email":"a@localhost"}`, checkout.CodeEmailInvalid, "customer_email"},
		{"name too long", `{"amount":2000,` + base + `,"customer_name":"` + strings.Repeat("n", 201) + `"}`, checkout.CodeInvalidString, "customer_name"},
		{"name control", `{"amount":2000,` + base + `,"customer_name":"a\u0007b"}`, checkout.CodeInvalidString, "customer_name"},
		{"metadata array", `{"amount":2000,` + base + `,"metadata":[1]}`, checkout.CodeMetadataInvalid, "metadata"},
		{"metadata 51 keys", `{"amount":2000,` + base + `,"metadata":{` + strings.Join(bigMeta, ",") + `}}`, checkout.CodeMetadataTooManyKeys, "metadata"},
		{"metadata empty key", `{"amount":2000,` + base + `,"metadata":{"":"v"}}`, checkout.CodeMetadataKeyInvalid, "metadata"},
		{"metadata long key", `{"amount":2000,` + base + `,"metadata":{"` + strings.Repeat("k", 41) + `":"v"}}`, checkout.CodeMetadataKeyInvalid, "metadata"},
		{"metadata nested", `{"amount":2000,` + base + `,"metadata":{"a":{"b":1}}}`, checkout.CodeMetadataValueInvalid, "metadata[a]"},
		{"metadata null value", `{"amount":2000,` + base + `,"metadata":{"a":null}}`, checkout.CodeMetadataValueInvalid, "metadata[a]"},
		{"metadata long value", `{"amount":2000,` + base + `,"metadata":{"a":"` + longValue + `"}}`, checkout.CodeMetadataValueTooLong, "metadata[a]"},
		{"metadata over 5 KB", `{"amount":2000,` + base + `,"metadata":{` + strings.Join(heavy, ",") + `}}`, checkout.CodeMetadataTooLarge, "metadata"},
		{"unknown field", `{"amount":2000,` + base + `,"description":"x"}`, checkout.CodeParameterUnknown, "description"},
		{"not json", `amount=2000`, checkout.CodeInvalidJSON, ""},
		{"array body", `[1]`, checkout.CodeInvalidJSON, ""},
		{"duplicate key", `{"amount":2000,"amount":3000,` + base + `}`, checkout.CodeInvalidJSON, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := api(t, s, "POST", "/payments", sh.TestKey, c.body, apitest.Header{"Idempotency-Key": "v-" + strings.ReplaceAll(c.name, " ", "_")})
			r.WantStatus(t, http.StatusBadRequest)
			e := r.JSON(t)["error"].(map[string]any)
			var param any = c.param
			if c.param == "" {
				param = nil
			}
			if e["code"] != c.code || e["param"] != param || e["type"] != checkout.TypeInvalidRequest {
				t.Fatalf("error %v, want code %s param %v", e, c.code, param)
			}
		})
	}
	if n := count(t, s, sh.TestKey); n != 0 {
		t.Fatalf("%d payments after refusals", n)
	}
	// A refusal binds no Idempotency-Key: the same key with a good body creates.
	r := api(t, s, "POST", "/payments", sh.TestKey, validBody(), apitest.Header{"Idempotency-Key": "v-amount_49"})
	r.WantStatus(t, http.StatusOK)
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a validation refusal bound its key")
	}
	// 5 KB exactly is allowed: {"k":"xxx…"} of 5120 bytes.
	entries := make([]string, 11)
	for i := range entries {
		v := strings.Repeat("x", 456)
		if i == 10 {
			v += "xxxx"
		}
		entries[i] = fmt.Sprintf(`"k%02d":"%s"`, i, v)
	}
	exact := "{" + strings.Join(entries, ",") + "}"
	if len(exact) != 5120 {
		t.Fatalf("metadata of %d bytes", len(exact))
	}
	p := create(t, s, sh.TestKey, `{"amount":2000,`+base+`,"metadata":`+exact+`}`)
	if p["metadata"] == nil {
		t.Fatal("5120 bytes of metadata refused")
	}
	fifty := strings.Join(bigMeta[:50], ",")
	create(t, s, sh.TestKey, `{"amount":50,`+base+`,"metadata":{`+fifty+`}}`)
}

func TestCreatePayment_ContentType(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "json"} {
		r := api(t, s, "POST", "/payments", sh.TestKey, validBody(), apitest.Header{"Content-Type": ct})
		r.WantStatus(t, http.StatusUnsupportedMediaType)
		if r.JSON(t)["error"].(map[string]any)["code"] != checkout.CodeUnsupportedMedia {
			t.Fatalf("%s: %s", ct, r.Body)
		}
	}
	// No Content-Type at all.
	req, _ := http.NewRequest("POST", s.URL+checkout.Base+"/payments", strings.NewReader(`{"amount":2000}`))
	req.Header.Set("Authorization", "Bearer "+sh.TestKey)
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("no Content-Type: %d", resp.StatusCode)
	}
	if n := count(t, s, sh.TestKey); n != 0 {
		t.Fatalf("%d payments after refusals", n)
	}
	for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
		create(t, s, sh.TestKey, validBody(), apitest.Header{"Content-Type": ct})
	}
}

func TestCreatePayment_Unauthorized(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	other := newShop(t, s, nil)
	psKey := s.NewPartner(t, "payshards").APIKey
	for _, c := range []struct {
		name, auth, code string
	}{
		{"no header", "", checkout.CodeKeyMissing},
		{"basic", "Basic " + sh.TestKey, checkout.CodeKeyFormat},
		{"bearer nothing", "Bearer ", checkout.CodeKeyFormat},
		{"short", "Bearer ck_test_abc", checkout.CodeKeyFormat},
		{"wrong prefix", "Bearer sk_test_" + strings.Repeat("a", 48), checkout.CodeKeyFormat},
		{"bad character", "Bearer ck_test_" + strings.Repeat("a", 47) + "-", checkout.CodeKeyFormat},
		{"another API's key", "Bearer " + psKey, checkout.CodeKeyFormat},
		{"unknown", "Bearer ck_test_" + strings.Repeat("a", 48), checkout.CodeKeyUnknown},
		{"unknown live", "Bearer ck_live_" + strings.Repeat("Z", 48), checkout.CodeKeyUnknown},
	} {
		h := apitest.Header{}
		if c.auth != "" {
			h["Authorization"] = c.auth
		}
		r := s.Do(t, "POST", checkout.Base+"/payments", h, validBody())
		r.WantStatus(t, http.StatusUnauthorized)
		if e := r.JSON(t)["error"].(map[string]any); e["code"] != c.code || e["type"] != checkout.TypeAuthentication {
			t.Errorf("%s: %v", c.name, e)
		}
	}
	// A revoked key, and an inactive shop.
	r := s.Admin(t, "DELETE", "/partners/"+sh.ID+"/keys/"+sh.KeyIDs[1], nil)
	r.WantStatus(t, http.StatusOK)
	r = api(t, s, "POST", "/payments", sh.LiveKey, validBody())
	r.WantStatus(t, http.StatusUnauthorized)
	if r.JSON(t)["error"].(map[string]any)["code"] != checkout.CodeKeyUnknown {
		t.Fatalf("revoked: %s", r.Body)
	}
	s.Admin(t, "PATCH", "/checkout/shops/"+other.ID, map[string]any{"status": "inactive"}).WantStatus(t, http.StatusOK)
	for _, path := range []string{"/payments", "/payments", "/payments/pay_x", "/payments/pay_x/refund"} {
		method := "GET"
		if path == "/payments/pay_x/refund" {
			method = "POST"
		}
		r = api(t, s, method, path, other.TestKey, nil)
		r.WantStatus(t, http.StatusUnauthorized)
		if r.JSON(t)["error"].(map[string]any)["code"] != checkout.CodeShopInactive {
			t.Fatalf("inactive %s: %s", path, r.Body)
		}
	}
	s.Admin(t, "PATCH", "/checkout/shops/"+other.ID, map[string]any{"status": "active"}).WantStatus(t, http.StatusOK)
	if n := count(t, s, other.TestKey); n != 0 {
		t.Fatal("payments created by refused requests")
	}
	if n := count(t, s, sh.TestKey); n != 0 {
		t.Fatal("payments created by refused requests")
	}
}

func TestCreatePayment_RateLimit(t *testing.T) {
	clock := apitest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	sh := newShop(t, s, map[string]any{"rate_limit_per_minute": 3})
	for range 3 {
		create(t, s, sh.TestKey, validBody())
	}
	r := api(t, s, "POST", "/payments", sh.TestKey, validBody())
	r.WantStatus(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" || r.JSON(t)["error"].(map[string]any)["type"] != checkout.TypeRateLimit {
		t.Fatalf("429: %v %s", r.Header, r.Body)
	}
	clock.Advance(61 * time.Second)
	if n := count(t, s, sh.TestKey); n != 3 {
		t.Fatalf("%d payments", n)
	}
}

func TestCreatePayment_Idempotency(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	k := apitest.Header{"Idempotency-Key": "order-1"}
	first := api(t, s, "POST", "/payments", sh.TestKey, validBody(), k)
	first.WantStatus(t, http.StatusOK)
	again := api(t, s, "POST", "/payments", sh.TestKey, validBody(), k)
	again.WantStatus(t, http.StatusOK)
	if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" || first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("replay:\n%s\n%s", first.Body, again.Body)
	}
	other := validBody()
	other["amount"] = 2001
	r := api(t, s, "POST", "/payments", sh.TestKey, other, k)
	r.WantStatus(t, http.StatusBadRequest)
	if e := r.JSON(t)["error"].(map[string]any); e["type"] != checkout.TypeIdempotency || e["code"] != checkout.CodeIdemKeyReused {
		t.Fatalf("reuse: %v", e)
	}
	// The same key in live mode is another key.
	if l := api(t, s, "POST", "/payments", sh.LiveKey, validBody(), k); l.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("live mode replayed a test key")
	}
	for _, bad := range []string{strings.Repeat("k", 256), "with space", "ünï"} {
		r := api(t, s, "POST", "/payments", sh.TestKey, validBody(), apitest.Header{"Idempotency-Key": bad})
		r.WantStatus(t, http.StatusBadRequest)
		if r.JSON(t)["error"].(map[string]any)["code"] != checkout.CodeInvalidIdemKey {
			t.Fatalf("key %q: %s", bad, r.Body)
		}
	}
	// Concurrent duplicates: one payment.
	resps := apitest.Concurrently(t, 30, func(int) (*apitest.Response, error) {
		return s.Request("POST", checkout.Base+"/payments", apitest.Header{"Authorization": "Bearer " + sh.TestKey, "Idempotency-Key": "burst"}, validBody())
	})
	firsts := 0
	for _, r := range resps {
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, resps[0].Body) {
			t.Fatalf("burst: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("Idempotent-Replayed") == "" {
			firsts++
		}
	}
	if firsts != 1 || count(t, s, sh.TestKey) != 2 {
		t.Fatalf("%d first answers, %d payments", firsts, count(t, s, sh.TestKey))
	}
	// Across a restart.
	s.Restart(t)
	again = api(t, s, "POST", "/payments", sh.TestKey, validBody(), k)
	if again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body[:40], first.Body[:40]) {
		t.Fatalf("after restart: %s", again.Body)
	}
}

func TestGetAndList(t *testing.T) {
	s := apitest.Start(t)
	sh, other := newShop(t, s, nil), newShop(t, s, nil)
	var ids []string
	for range 12 {
		ids = append(ids, create(t, s, sh.TestKey, validBody())["id"].(string))
	}
	complete(t, s, ids[3])
	for _, c := range []struct{ key, id string }{{other.TestKey, ids[0]}, {sh.LiveKey, ids[0]}, {sh.TestKey, "pay_nope"}} {
		r := api(t, s, "GET", "/payments/"+c.id, c.key, nil)
		r.WantStatus(t, http.StatusNotFound)
		if e := r.JSON(t)["error"].(map[string]any); e["code"] != checkout.CodeResourceMissing || e["param"] != "id" {
			t.Fatalf("404: %v", e)
		}
	}
	list := func(q string) ([]string, bool) {
		r := api(t, s, "GET", "/payments"+q, sh.TestKey, nil)
		r.WantStatus(t, http.StatusOK)
		m := r.JSON(t)
		var out []string
		for _, p := range m["data"].([]any) {
			out = append(out, p.(map[string]any)["id"].(string))
		}
		return out, m["has_more"].(bool)
	}
	page, more := list("")
	if len(page) != 10 || !more || page[0] != ids[11] || page[9] != ids[2] {
		t.Fatalf("first page %v %v", page, more)
	}
	page, more = list("?limit=5&starting_after=" + ids[2])
	if len(page) != 2 || more || page[0] != ids[1] {
		t.Fatalf("second page %v %v", page, more)
	}
	if page, _ := list("?status=completed"); len(page) != 1 || page[0] != ids[3] {
		t.Fatalf("completed %v", page)
	}
	if page, _ := list("?status=failed"); len(page) != 0 {
		t.Fatalf("failed %v", page)
	}
	for _, c := range []struct{ q, param string }{{"?limit=0", "limit"}, {"?limit=101", "limit"}, {"?limit=x", "limit"}, {"?limit=", "limit"},
		{"?status=paid", "status"}, {"?starting_after=pay_nope", "starting_after"}} {
		r := api(t, s, "GET", "/payments"+c.q, sh.TestKey, nil)
		r.WantStatus(t, http.StatusBadRequest)
		if e := r.JSON(t)["error"].(map[string]any); e["param"] != c.param {
			t.Fatalf("%s: %v", c.q, e)
		}
	}
	// Another shop's payment is no cursor.
	r := api(t, s, "GET", "/payments?starting_after="+ids[0], other.TestKey, nil)
	r.WantStatus(t, http.StatusBadRequest)
}

func TestRefund(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	id := create(t, s, sh.TestKey, validBody())["id"].(string)
	refund := func(body any, h ...apitest.Header) *apitest.Response {
		return api(t, s, "POST", "/payments/"+id+"/refund", sh.TestKey, body, h...)
	}
	wantCode := func(r *apitest.Response, status int, code string) {
		t.Helper()
		r.WantStatus(t, status)
		if c := r.JSON(t)["error"].(map[string]any)["code"]; c != code {
			t.Fatalf("code %v, want %s: %s", c, code, r.Body)
		}
	}
	wantCode(refund(nil), http.StatusBadRequest, checkout.CodeNotRefundable)
	complete(t, s, id)
	wantCode(refund(`{"amount":0}`), http.StatusBadRequest, checkout.CodeAmountTooSmall)
	wantCode(refund(`{"amount":1.5}`), http.StatusBadRequest, checkout.CodeInvalidInteger)
	wantCode(refund(`{"amt":5}`), http.StatusBadRequest, checkout.CodeParameterUnknown)
	wantCode(refund(`{"amount":2001}`), http.StatusBadRequest, checkout.CodeRefundTooLarge)
	wantCode(refund(`{"amount":5}`, apitest.Header{"Content-Type": "text/plain"}), http.StatusUnsupportedMediaType, checkout.CodeUnsupportedMedia)
	wantCode(api(t, s, "POST", "/payments/pay_nope/refund", sh.TestKey, nil), http.StatusNotFound, checkout.CodeResourceMissing)
	wantCode(api(t, s, "POST", "/payments/"+id+"/refund", sh.LiveKey, nil), http.StatusNotFound, checkout.CodeResourceMissing)
	var p ck.Payment
	durable(s, func(st *engine.State) { p, _ = ck.PaymentByID(st, id) })
	if p.AmountRefunded != 0 {
		t.Fatalf("refused refunds changed the payment: %+v", p)
	}
	k := apitest.Header{"Idempotency-Key": "refund-1"}
	r := refund(`{"amount":500}`, k)
	r.WantStatus(t, http.StatusOK)
	if m := r.JSON(t); m["status"] != "completed" || jsonNum(t, m["amount_refunded"]) != 500 || m["receipt_url"] == nil {
		t.Fatalf("partial: %v", m)
	}
	if again := refund(`{"amount":500}`, k); again.Header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.Body, r.Body) {
		t.Fatalf("replay: %s", again.Body)
	}
	wantCode(refund(`{"amount":600}`, k), http.StatusBadRequest, checkout.CodeIdemKeyReused)
	r = refund(nil)
	r.WantStatus(t, http.StatusOK)
	if m := r.JSON(t); m["status"] != "refunded" || jsonNum(t, m["amount_refunded"]) != 2000 {
		t.Fatalf("rest: %v", m)
	}
	wantCode(refund(nil), http.StatusBadRequest, checkout.CodeNotRefundable)
	// A refusal with a key binds it.
	kr := apitest.Header{"Idempotency-Key": "refund-2"}
	first := refund(nil, kr)
	wantCode(first, http.StatusBadRequest, checkout.CodeNotRefundable)
	if again := refund(nil, kr); again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("a refusal against state did not bind its key")
	}
}

func TestExpiry_Lazy(t *testing.T) {
	clock := apitest.NewClock(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	sh := newShop(t, s, nil)
	id := create(t, s, sh.TestKey, validBody())["id"].(string)
	clock.Advance(checkout.DefaultExpiry - time.Second)
	if m := api(t, s, "GET", "/payments/"+id, sh.TestKey, nil).JSON(t); m["status"] != "pending" {
		t.Fatalf("before expiry: %v", m)
	}
	clock.Advance(time.Second)
	m := api(t, s, "GET", "/payments/"+id, sh.TestKey, nil).JSON(t)
	if m["status"] != "failed" || m["failure_reason"] != "expired" {
		t.Fatalf("at expiry: %v", m)
	}
	if page := api(t, s, "GET", "/payments?status=failed", sh.TestKey, nil).JSON(t)["data"].([]any); len(page) != 1 {
		t.Fatalf("failed list %v", page)
	}
}

func TestRoutes_NotFound(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, nil)
	r := api(t, s, "GET", "/nope", sh.TestKey, nil)
	r.WantStatus(t, http.StatusNotFound)
	r = api(t, s, "DELETE", "/payments", sh.TestKey, nil)
	r.WantStatus(t, http.StatusMethodNotAllowed)
	r = s.Do(t, "GET", checkout.Base+"/openapi.json", nil, nil)
	r.WantStatus(t, http.StatusOK)
}
