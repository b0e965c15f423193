package paysmart_test

import (
	"bytes"
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
