package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"ledgerd/actors"
	"ledgerd/api/apitest"
	"ledgerd/api/paysmart"
	"ledgerd/engine"
)

func TestAdmin_PaySmartAccount(t *testing.T) {
	s := apitest.Start(t)
	r := s.Admin(t, "POST", "/paysmart/accounts", map[string]string{"name": "Demo shop"})
	r.WantStatus(t, http.StatusCreated)
	m := r.JSON(t)
	keys := m["keys"].(map[string]any)
	for field, prefix := range map[string]string{"secret_test": "sk_test_", "publishable_test": "pk_test_", "secret_live": "sk_live_", "publishable_live": "pk_live_"} {
		if k, _ := keys[field].(string); !strings.HasPrefix(k, prefix) {
			t.Fatalf("%s = %q", field, k)
		}
	}
	id := r.Str(t, "id")
	if m["api"] != "paysmart" || m["name"] != "Demo shop" || r.Int(t, "rateLimitPerMinute") != 6000 {
		t.Fatalf("account %s", r.Body)
	}
	// The keys work (the secret ones on the API), and the account is a
	// partner the partner routes manage.
	s.PaySmart(t, "GET", "/balance", keys["secret_test"].(string), nil).WantStatus(t, 200)
	s.PaySmart(t, "GET", "/balance", keys["secret_live"].(string), nil).WantStatus(t, 200)
	got := s.Admin(t, "GET", "/partners/"+id, nil)
	got.WantJSON(t, 200, `{"id":"`+id+`","api":"paysmart","name":"Demo shop","status":"active","rateLimitPerMinute":6000}`)
	if strings.Contains(string(got.Body), "sk_") {
		t.Fatal("a key shown again")
	}
	// Refusals.
	for _, body := range []string{`{}`, `{"name":""}`, `{"name":"x","api":"paysmart"}`, `{"name":3}`, `not json`} {
		s.Admin(t, "POST", "/paysmart/accounts", body).WantError(t, 400, "invalid_request")
	}
	s.Do(t, "POST", "/admin/paysmart/accounts", nil, `{"name":"x"}`).WantError(t, 401, "unauthorized")
}

// The demo account's keys (cmd/ledgerd --demo: ids key_demo_<hex>) are
// listed in the shape the OpenAPI document gives, like an account's made
// by POST /paysmart/accounts.
func TestListKeys_DemoStyleIDs(t *testing.T) {
	s := apitest.Start(t)
	key := paysmart.PrefixSecretTest + strings.Repeat("ab12", 12)
	if _, err := s.Sys.CreatePartner("acct_demo", "paysmart", "Demo", 6000,
		actors.NewKey{ID: "key_demo_0123456789abcdef", Hash: engine.HashKey([]byte(key)), Hint: paysmart.KeyHint(key)}); err != nil {
		t.Fatal(err)
	}
	r := s.Admin(t, "GET", "/partners/acct_demo/keys", nil)
	r.WantJSON(t, http.StatusOK, `{"data":[{"id":"key_demo_0123456789abcdef","display":"sk_test_…ab12","created_at":"`+
		r.JSON(t)["data"].([]any)[0].(map[string]any)["created_at"].(string)+`","status":"active"}]}`)
}
