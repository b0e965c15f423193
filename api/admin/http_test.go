package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"ledgerd/api/apitest"
)

// Black-box tests of the admin API over a real listener.

func credit(amount int64, ref string) string {
	return fmt.Sprintf(`{"amount":%d,"reference":%q}`, amount, ref)
}

func TestAdmin_Unauthorized(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	target := s.NewPartner(t, "payshards")
	routes := []struct{ name, method, path, body string }{
		{"create partner", "POST", "/admin/partners", `{"api":"payshards","name":"Mallory","rateLimitPerMinute":600}`},
		{"get partner", "GET", "/admin/partners/" + target.ID, ""},
		{"patch partner", "PATCH", "/admin/partners/" + target.ID, `{"status":"inactive"}`},
		{"credit", "POST", "/admin/payshards/users/u_victim/credit", credit(1000, "topup_x")},
	}
	headers := []struct {
		name string
		h    apitest.Header
	}{
		{"no header", nil},
		{"wrong token", apitest.Bearer("adm_wrong")},
		{"token prefix", apitest.Bearer(s.AdminToken[:len(s.AdminToken)-1])},
		{"token plus suffix", apitest.Bearer(s.AdminToken + "x")},
		{"empty bearer", apitest.Header{"Authorization": "Bearer "}},
		{"no scheme", apitest.Header{"Authorization": s.AdminToken}},
		{"basic scheme", apitest.Header{"Authorization": "Basic " + s.AdminToken}},
		{"partner key as bearer", apitest.Bearer(p.APIKey)},
		{"token as x-api-key", apitest.APIKey(s.AdminToken)},
	}
	for _, h := range headers {
		for _, rt := range routes {
			t.Run(h.name+"/"+rt.name, func(t *testing.T) {
				var body any
				if rt.body != "" {
					body = rt.body
				}
				s.Do(t, rt.method, rt.path, h.h, body).WantError(t, http.StatusUnauthorized, "unauthorized")
			})
		}
	}
	// Nothing happened: the target is still active, the user was not
	// created, and the top-up reference is still free.
	s.Admin(t, "GET", "/partners/"+target.ID, nil).WantStatus(t, http.StatusOK)
	if got := s.Admin(t, "GET", "/partners/"+target.ID, nil).Str(t, "status"); got != "active" {
		t.Fatalf("target status %q after refused PATCHes", got)
	}
	s.PayShards(t, "GET", "/balance?userId=u_victim", p.APIKey, nil).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	s.Admin(t, "POST", "/payshards/users/u_victim/credit", credit(5, "topup_x")).WantJSON(t, 200, `{"userId":"u_victim","balance":5}`)
}

func TestCreatePartner_Success(t *testing.T) {
	s := apitest.Start(t)
	r := s.Admin(t, "POST", "/partners", `{"api":"payshards","name":"Acme","rateLimitPerMinute":600}`)
	r.WantStatus(t, http.StatusCreated)
	m := r.JSON(t)
	id, key := r.Str(t, "id"), r.Str(t, "apiKey")
	if id == "" {
		t.Errorf("empty id")
	}
	if !strings.HasPrefix(key, "pk_live_") || len(key) < len("pk_live_")+24 {
		t.Errorf("apiKey %q: want pk_live_ and at least 24 more characters", key)
	}
	if len(m) != 6 {
		t.Errorf("members %v, want exactly id, api, name, status, rateLimitPerMinute, apiKey", m)
	}
	r.WantJSON(t, http.StatusCreated, fmt.Sprintf(
		`{"id":%q,"api":"payshards","name":"Acme","status":"active","rateLimitPerMinute":600,"apiKey":%q}`, id, key))

	// The key works on PayShards at once.
	s.Credit(t, "u_1", 10, "t1")
	s.PayShards(t, "GET", "/balance?userId=u_1", key, nil).WantJSON(t, 200, `{"userId":"u_1","balance":10}`)

	// GET shows the partner, never its key.
	s.Admin(t, "GET", "/partners/"+id, nil).WantJSON(t, http.StatusOK, fmt.Sprintf(
		`{"id":%q,"api":"payshards","name":"Acme","status":"active","rateLimitPerMinute":600}`, id))

	// Without rateLimitPerMinute the default is 600. The same name again is
	// a different partner with a different id and key.
	r2 := s.Admin(t, "POST", "/partners", `{"api":"payshards","name":"Acme"}`)
	r2.WantStatus(t, http.StatusCreated)
	if r2.Int(t, "rateLimitPerMinute") != 600 {
		t.Errorf("default rate limit: %s", r2.Body)
	}
	if r2.Str(t, "id") == id || r2.Str(t, "apiKey") == key {
		t.Errorf("second partner reuses id or key: %s", r2.Body)
	}
}

func TestCreatePartner_KeysAreUnique(t *testing.T) {
	s := apitest.Start(t)
	ids, keys := map[string]bool{}, map[string]bool{}
	for range 20 {
		p := s.NewPartner(t, "payshards")
		if ids[p.ID] || keys[p.APIKey] {
			t.Fatalf("duplicate id or key: %+v", p)
		}
		ids[p.ID], keys[p.APIKey] = true, true
	}
}

func TestCreatePartner_InvalidRequest(t *testing.T) {
	s := apitest.Start(t)
	for _, tc := range []struct{ name, body string }{
		{"unknown api", `{"api":"nopay","name":"Acme"}`},
		{"api missing", `{"name":"Acme"}`},
		{"name missing", `{"api":"payshards"}`},
		{"name empty", `{"api":"payshards","name":""}`},
		{"name too long", `{"api":"payshards","name":"` + strings.Repeat("n", 201) + `"}`},
		{"name control char", `{"api":"payshards","name":"A\u0000"}`},
		{"rate 0", `{"api":"payshards","name":"Acme","rateLimitPerMinute":0}`},
		{"rate negative", `{"api":"payshards","name":"Acme","rateLimitPerMinute":-1}`},
		{"rate fraction", `{"api":"payshards","name":"Acme","rateLimitPerMinute":600.5}`},
		{"rate 600.0", `{"api":"payshards","name":"Acme","rateLimitPerMinute":600.0}`},
		{"rate string", `{"api":"payshards","name":"Acme","rateLimitPerMinute":"600"}`},
		{"unknown field", `{"api":"payshards","name":"Acme","status":"inactive"}`},
		{"duplicate field", `{"api":"payshards","name":"Acme","name":"Evil"}`},
		{"not JSON", `api=payshards`},
		{"empty body", ``},
		{"array", `[{"api":"payshards","name":"Acme"}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Admin(t, "POST", "/partners", tc.body).WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
}

func TestPatchPartner_Status(t *testing.T) {
	s := apitest.Start(t)
	p := s.CreatePartner(t, "payshards", "Acme", 600)
	s.Credit(t, "u_1", 100, "t1")
	want := func(status string) string {
		return fmt.Sprintf(`{"id":%q,"api":"payshards","name":"Acme","status":%q,"rateLimitPerMinute":600}`, p.ID, status)
	}
	for _, tc := range []struct {
		status string
		psCode int
		twice  bool
	}{
		{"inactive", http.StatusForbidden, false},
		{"inactive", http.StatusForbidden, true}, // setting it again is fine
		{"active", http.StatusOK, false},
		{"active", http.StatusOK, true},
	} {
		t.Run(tc.status, func(t *testing.T) {
			s.Admin(t, "PATCH", "/partners/"+p.ID, fmt.Sprintf(`{"status":%q}`, tc.status)).WantJSON(t, http.StatusOK, want(tc.status))
			s.Admin(t, "GET", "/partners/"+p.ID, nil).WantJSON(t, http.StatusOK, want(tc.status))
			s.PayShards(t, "GET", "/balance?userId=u_1", p.APIKey, nil).WantStatus(t, tc.psCode)
		})
	}
}

func TestPatchPartner_UnknownID(t *testing.T) {
	s := apitest.Start(t)
	s.NewPartner(t, "payshards")
	for _, id := range []string{"ptr_nope", "x"} {
		s.Admin(t, "PATCH", "/partners/"+id, `{"status":"inactive"}`).WantError(t, http.StatusNotFound, "not_found")
		s.Admin(t, "GET", "/partners/"+id, nil).WantError(t, http.StatusNotFound, "not_found")
	}
}

func TestPatchPartner_InvalidRequest(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, tc := range []struct{ name, body string }{
		{"unknown status", `{"status":"paused"}`},
		{"upper case", `{"status":"INACTIVE"}`},
		{"empty status", `{"status":""}`},
		{"status number", `{"status":1}`},
		{"status null", `{"status":null}`},
		{"no status", `{}`},
		{"other field", `{"name":"Evil"}`},
		{"extra field", `{"status":"inactive","name":"Evil"}`},
		{"not JSON", `inactive`},
		{"empty body", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Admin(t, "PATCH", "/partners/"+p.ID, tc.body).WantError(t, http.StatusBadRequest, "invalid_request")
			// Nothing changed.
			if got := s.Admin(t, "GET", "/partners/"+p.ID, nil).Str(t, "status"); got != "active" {
				t.Fatalf("status %q after a refused PATCH", got)
			}
		})
	}
}

func TestCredit_CreatesUser(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.PayShards(t, "GET", "/balance?userId=u_123", p.APIKey, nil).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	s.Admin(t, "POST", "/payshards/users/u_123/credit", `{"amount":1500,"reference":"topup_1"}`).
		WantJSON(t, http.StatusOK, `{"userId":"u_123","balance":1500}`)
	s.PayShards(t, "GET", "/balance?userId=u_123", p.APIKey, nil).WantJSON(t, http.StatusOK, `{"userId":"u_123","balance":1500}`)
	s.Admin(t, "POST", "/payshards/users/u_123/credit", `{"amount":500,"reference":"topup_2"}`).
		WantJSON(t, http.StatusOK, `{"userId":"u_123","balance":2000}`)
	s.WantBalance(t, p.APIKey, "u_123", 2000)
}

func TestCredit_Idempotent(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1500, "topup_1")).WantJSON(t, 200, `{"userId":"u_1","balance":1500}`)
	// A retry returns the original result and credits nothing, even after
	// the balance moved.
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1500, "topup_1")).WantJSON(t, 200, `{"userId":"u_1","balance":1500}`)
	s.WantBalance(t, p.APIKey, "u_1", 1500)
	s.PayShards(t, "POST", "/deduct", p.APIKey, `{"userId":"u_1","amount":100,"reference":"d"}`).WantStatus(t, 200)
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1500, "topup_1")).WantJSON(t, 200, `{"userId":"u_1","balance":1500}`)
	s.WantBalance(t, p.APIKey, "u_1", 1400)

	for _, tc := range []struct{ name, user, body string }{
		{"other amount", "u_1", credit(1501, "topup_1")},
		{"other user", "u_2", credit(1500, "topup_1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Admin(t, "POST", "/payshards/users/"+tc.user+"/credit", tc.body).WantError(t, http.StatusConflict, "idempotency_conflict")
			s.WantBalance(t, p.APIKey, "u_1", 1400)
			s.PayShards(t, "GET", "/balance?userId=u_2", p.APIKey, nil).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
		})
	}
}

func TestCredit_ConcurrentSameReference(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	const n = 50
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.Request("POST", "/admin/payshards/users/u_c/credit", apitest.Bearer(s.AdminToken), credit(700, "once"))
	})
	for i, r := range resps {
		if !r.SameJSON(200, `{"userId":"u_c","balance":700}`) {
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	s.WantBalance(t, p.APIKey, "u_c", 700)
}

func TestCredit_InvalidRequest(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Credit(t, "u_1", 100, "seed")
	for _, tc := range []struct{ name, user, body string }{
		{"amount 0", "u_1", `{"amount":0,"reference":"bad_ref"}`},
		{"amount negative", "u_1", `{"amount":-5,"reference":"bad_ref"}`},
		{"amount fraction", "u_1", `{"amount":1.5,"reference":"bad_ref"}`},
		{"amount 100.0", "u_1", `{"amount":100.0,"reference":"bad_ref"}`},
		{"amount exponent", "u_1", `{"amount":1e2,"reference":"bad_ref"}`},
		{"amount string", "u_1", `{"amount":"100","reference":"bad_ref"}`},
		{"amount 2^53", "u_1", `{"amount":9007199254740992,"reference":"bad_ref"}`},
		{"amount missing", "u_1", `{"reference":"bad_ref"}`},
		{"reference missing", "u_1", `{"amount":100}`},
		{"reference empty", "u_1", `{"amount":100,"reference":""}`},
		{"reference 256 chars", "u_1", `{"amount":100,"reference":"` + strings.Repeat("r", 256) + `"}`},
		{"unknown field", "u_1", `{"amount":100,"reference":"bad_ref","userId":"u_2"}`},
		{"duplicate field", "u_1", `{"amount":100,"amount":100,"reference":"bad_ref"}`},
		{"not JSON", "u_1", `amount=100`},
		{"empty body", "u_1", ``},
		{"over 64 KiB", "u_1", `{"amount":100,"reference":"bad_ref"` + strings.Repeat(" ", 64<<10) + `}`},
		// Bad user ids in the path carry their own reference, checked below.
		{"user id 129 chars", strings.Repeat("u", 129), `{"amount":100,"reference":"bad_uid_ref"}`},
		{"user id control char", "u%01", `{"amount":100,"reference":"bad_uid_ref"}`},
		{"user id newline", "u%0A", `{"amount":100,"reference":"bad_uid_ref"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.Do(t, "POST", "/admin/payshards/users/"+tc.user+"/credit", apitest.Bearer(s.AdminToken), tc.body).
				WantError(t, http.StatusBadRequest, "invalid_request")
			s.WantBalance(t, p.APIKey, "u_1", 100)
		})
	}
	// A 400 binds nothing: bad_ref is still free.
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1, "bad_ref")).WantJSON(t, 200, `{"userId":"u_1","balance":101}`)
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1, "bad_uid_ref")).WantJSON(t, 200, `{"userId":"u_1","balance":102}`)
	// 128 characters is a valid user id, and the largest amount is valid.
	u128 := strings.Repeat("u", 128)
	s.Admin(t, "POST", "/payshards/users/"+u128+"/credit", credit(9007199254740991, "max")).
		WantJSON(t, 200, fmt.Sprintf(`{"userId":%q,"balance":9007199254740991}`, u128))
}

// The user id in the credit path is percent-encoded like any URL path
// segment; the server must decode it, so the wallet credited is the one
// GET /balance?userId= (a decoded query parameter) and deduct (a JSON
// string) name.
func TestCredit_UserIDIsPercentDecoded(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, tc := range []struct{ name, user, path string }{
		{"space", "user one", "user%20one"},
		{"non-ASCII", "usér", "us%C3%A9r"},
		{"hash", "u#1", "u%231"},
		{"slash", "team/u1", "team%2Fu1"},
		{"percent", "100%", "100%25"},
		{"needlessly escaped", "u_1x", "u%5F1x"},
		{"sub-delims Go escapes", "u(1)", "u%281%29"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Admin(t, "POST", "/payshards/users/"+tc.path+"/credit", credit(40, apitest.Unique("t_")))
			r.WantJSON(t, 200, fmt.Sprintf(`{"userId":%q,"balance":40}`, tc.user))
			s.WantBalance(t, p.APIKey, tc.user, 40)
			s.PayShards(t, "POST", "/deduct", p.APIKey, fmt.Sprintf(`{"userId":%q,"amount":40,"reference":%q}`, tc.user, apitest.Unique("d_"))).
				WantJSON(t, 200, `{"success":true,"newBalance":0,"idempotent":false}`)
		})
	}
}

func TestAdmin_RestartKeepsPartnersAndCredits(t *testing.T) {
	s := apitest.Start(t)
	a := s.CreatePartner(t, "payshards", "Acme", 600)
	b := s.CreatePartner(t, "payshards", "Beta", 3)
	s.SetPartnerStatus(t, b.ID, "inactive")
	s.Credit(t, "u_1", 1500, "topup_1")

	s.Restart(t)

	s.Admin(t, "GET", "/partners/"+a.ID, nil).WantJSON(t, 200, fmt.Sprintf(
		`{"id":%q,"api":"payshards","name":"Acme","status":"active","rateLimitPerMinute":600}`, a.ID))
	s.Admin(t, "GET", "/partners/"+b.ID, nil).WantJSON(t, 200, fmt.Sprintf(
		`{"id":%q,"api":"payshards","name":"Beta","status":"inactive","rateLimitPerMinute":3}`, b.ID))
	s.WantBalance(t, a.APIKey, "u_1", 1500)
	s.PayShards(t, "GET", "/balance?userId=u_1", b.APIKey, nil).WantJSON(t, 403, `{"error":"partner_inactive"}`)
	// The top-up reference is still bound after the restart.
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1500, "topup_1")).WantJSON(t, 200, `{"userId":"u_1","balance":1500}`)
	s.Admin(t, "POST", "/payshards/users/u_1/credit", credit(1, "topup_1")).WantError(t, 409, "idempotency_conflict")
	s.WantBalance(t, a.APIKey, "u_1", 1500)
	// And the admin API still changes things.
	s.SetPartnerStatus(t, b.ID, "active")
	s.WantBalance(t, b.APIKey, "u_1", 1500)
}

// Credits stop at the ledger's balance cap (2^62) with 409 balance_limit;
// the refused credits change nothing.
func TestCredit_BalanceLimit(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	const maxAmount = 9007199254740991 // 2^53-1; 512 of them stay under 2^62
	const n = 520
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.Request("POST", "/admin/payshards/users/whale/credit", apitest.Bearer(s.AdminToken), credit(maxAmount, fmt.Sprint("t", i)))
	})
	ok, limited := 0, 0
	for i, r := range resps {
		switch r.Status {
		case 200:
			ok++
		case 409:
			if r.Str(t, "error") != "balance_limit" {
				t.Errorf("request %d: %s", i, r.Body)
			}
			limited++
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 512 || limited != 8 {
		t.Errorf("%d credited, %d refused; want 512 and 8", ok, limited)
	}
	s.WantBalance(t, p.APIKey, "whale", 512*maxAmount)
}
