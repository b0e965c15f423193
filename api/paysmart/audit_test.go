package paysmart_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"ledgerd/api/apitest"
)

// Tests of the gaps the issue-10 audit found (/work/plan/ps-audit.md).

// A failed payment can be updated like any other (description, metadata,
// customer): the answer is the payment (200), not its decline again.
func TestUpdatePayment_Failed(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	id := errOf(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4000000000000002")))["payment"].(string)
	cus := obj(t, s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Ann"}))["id"].(string)
	r := s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"description": "retry later", "metadata": map[string]any{"order": "7"}, "customer": cus},
		key("upd-failed"))
	r.WantStatus(t, 200)
	p := obj(t, r)
	if p["id"] != id || p["status"] != "failed" || p["description"] != "retry later" || p["customer"] != cus ||
		fmt.Sprint(p["metadata"]) != "map[order:7]" || p["failure_code"] != "card_declined" || p["decline_code"] != "generic_decline" {
		t.Fatalf("updated failed payment %s", r.Body)
	}
	if got := s.PaySmart(t, "GET", "/payments/"+id, k, nil); !bytes.Equal(got.Body, r.Body) {
		t.Fatalf("GET %s, update answered %s", got.Body, r.Body)
	}
	// Its replay is the same 200.
	again := s.PaySmart(t, "POST", "/payments/"+id, k, map[string]any{"description": "retry later", "metadata": map[string]any{"order": "7"}, "customer": cus},
		key("upd-failed"))
	if again.Status != 200 || !bytes.Equal(again.Body, r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s", again.Status, again.Body)
	}
	if !strings.Contains(string(r.Body), `"status":"failed"`) {
		t.Fatal("status changed")
	}
}

// A body over 64 KiB (and under fasthttp's 1 MiB) is refused as such, in
// either encoding, before anything is decoded: 400 body_invalid, nothing
// created, the Idempotency-Key not bound.
func TestBody_TooLarge(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	pad := strings.Repeat("a", 70<<10)
	for _, c := range []struct {
		body string
		h    apitest.Header
	}{
		{"name=Ann&description=" + pad, apitest.Form()},
		{"name=Ann&description=" + pad, apitest.Header{"Content-Type": ""}},
		{`{"name":"Ann","description":"` + pad + `"}`, nil},
	} {
		r := s.PaySmart(t, "POST", "/customers", k, c.body, c.h, key("big"))
		e := wantError(t, r, 400, "invalid_request_error", "body_invalid", "")
		if e["message"] != "The request body is too large: at most 64 KiB." {
			t.Fatalf("message %v", e["message"])
		}
	}
	if n := count(t, s, k, "/customers"); n != 0 {
		t.Fatalf("%d customers after refused bodies", n)
	}
	r := s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Ann"}, key("big"))
	if r.WantStatus(t, 200); r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a refused body bound the key")
	}
}

// Metadata keys come from the request: they are escaped like values, so
// the object, its event and its replay stay valid JSON holding the key as
// sent (a key with a quote used to be written raw, making
// {"a","injected":"yes":"v"}).
func TestMetadata_KeysEscaped(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	keys := []string{`a","injected":"yes`, `back\slash`, `<tag>&`, "tab\there", "é"}
	md := map[string]any{}
	for i, mk := range keys {
		md[mk] = fmt.Sprint("v", i, `"<>`)
	}
	want := func(t *testing.T, where string, got any) {
		t.Helper()
		m, ok := got.(map[string]any)
		if !ok || len(m) != len(keys) {
			t.Fatalf("%s: metadata %v", where, got)
		}
		for i, mk := range keys {
			if m[mk] != fmt.Sprint("v", i, `"<>`) {
				t.Fatalf("%s: metadata %v lacks %q", where, got, mk)
			}
		}
	}
	r := s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Ann", "metadata": md}, key("md-esc"))
	r.WantStatus(t, 200)
	want(t, "customer", obj(t, r)["metadata"])
	id := obj(t, r)["id"].(string)
	want(t, "GET customer", obj(t, s.PaySmart(t, "GET", "/customers/"+id, k, nil))["metadata"])
	ev := obj(t, s.PaySmart(t, "GET", "/events?type=customer.created", k, nil))["data"].([]any)[0].(map[string]any)
	want(t, "event", ev["data"].(map[string]any)["object"].(map[string]any)["metadata"])
	replay := s.PaySmart(t, "POST", "/customers", k, map[string]any{"name": "Ann", "metadata": md}, key("md-esc"))
	want(t, "replay", obj(t, replay)["metadata"])

	pay := obj(t, s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242")))["id"].(string)
	u := s.PaySmart(t, "POST", "/payments/"+pay, k, map[string]any{"metadata": md})
	u.WantStatus(t, 200)
	want(t, "payment update", obj(t, u)["metadata"])
	if strings.Contains(string(u.Body), `"injected":"yes"`) {
		t.Fatalf("key written raw: %s", u.Body)
	}
}

// Every object within the documented limits renders: a customer with
// every text field at 500 bytes and 50 metadata keys of 40 bytes with
// values of 500, written with the characters JSON escapes, is created
// (200, not 503 overloaded because its answer outgrew the 64 KiB a stored
// answer may have: '<' used to be written as \u003c, six bytes).
func TestMetadata_LimitsRender(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	for _, ch := range []string{"<", `\"`} {
		text := strings.Repeat(ch, 500)
		emailCh := ch
		if ch == "<" { // not in an email address
			emailCh = "a"
		}
		var b strings.Builder
		b.WriteString(`{"email":"` + strings.Repeat(emailCh, 490) + `@b.example","name":"` + text + `","phone":"` + text + `","description":"` + text + `","address":{`)
		for i, f := range []string{"line1", "line2", "city", "state", "postal_code", "country"} {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"` + f + `":"` + text + `"`)
		}
		b.WriteString(`},"metadata":{`)
		for i := range 50 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%s%02d":"%s"`, strings.Repeat(ch, 38), i, text)
		}
		b.WriteString(`}}`)
		r := s.PaySmart(t, "POST", "/customers", k, b.String())
		r.WantStatus(t, 200)
		m := obj(t, r)
		if md := m["metadata"].(map[string]any); len(md) != 50 || m["description"] != strings.Repeat(strings.TrimPrefix(ch, `\`), 500) {
			t.Fatalf("%q: %d metadata keys, description %.20v…", ch, len(md), m["description"])
		}
		pay := cardBody(2000, "4242424242424242")
		pay["description"] = strings.Repeat(strings.TrimPrefix(ch, `\`), 500)
		p := obj(t, s.PaySmart(t, "POST", "/payments", k, pay))["id"].(string)
		var u strings.Builder
		u.WriteString(`{"description":"` + text + `","metadata":{`)
		for i := range 50 {
			if i > 0 {
				u.WriteByte(',')
			}
			fmt.Fprintf(&u, `"%s%02d":"%s"`, strings.Repeat(ch, 38), i, text)
		}
		u.WriteString(`}}`)
		s.PaySmart(t, "POST", "/payments/"+p, k, u.String()).WantStatus(t, 200)
	}
}

// topKeys is the order of an object's top-level members.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// The spec's example objects' fields come first, in the spec's order.
func TestShapes_SpecOrder(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	cus := s.PaySmart(t, "POST", "/customers", k, `{"email":"customer@example.com","name":"John Doe","phone":"+1234567890","address":{"line1":"123 Main St","city":"San Francisco","state":"CA","postal_code":"94111","country":"US"}}`)
	if got := strings.Join(topKeys(t, cus.Body), ","); !strings.HasPrefix(got, "id,object,email,name,phone,address,created,") {
		t.Errorf("customer fields %s", got)
	}
	pay := s.PaySmart(t, "POST", "/payments", k, cardBody(2000, "4242424242424242"))
	if got := strings.Join(topKeys(t, pay.Body), ","); !strings.HasPrefix(got, "id,object,amount,currency,status,payment_method,customer,description,created,receipt_url,") {
		t.Errorf("payment fields %s", got)
	}
}

// A multipart body (which no route takes), even a malformed one, is
// answered by PaySmart in its own envelope with a Request-Id: 400
// body_invalid, nothing created.
func TestBody_Multipart(t *testing.T) {
	s := apitest.Start(t)
	k := s.NewPaySmartAccount(t).Keys.SecretTest
	for _, body := range []string{"x", "--b\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAnn\r\n--b--\r\n"} {
		r := s.PaySmart(t, "POST", "/customers", k, body, apitest.Header{"Content-Type": "multipart/form-data; boundary=b"})
		wantError(t, r, 400, "invalid_request_error", "body_invalid", "")
	}
	if n := count(t, s, k, "/customers"); n != 0 {
		t.Fatalf("%d customers", n)
	}
}
