package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
)

// Black-box tests of the admin routes for API keys and PayPay.cards codes.

var (
	apiKeyRE = regexp.MustCompile(`^pk_live_[0-9A-Za-z]{48}$`)
	codeRE   = regexp.MustCompile(`^PP-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}$`)
	msTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

type keyView struct {
	ID        string `json:"id"`
	Display   string `json:"display"`
	CreatedAt string `json:"created_at"`
	Status    string `json:"status"`
	RevokedAt string `json:"revoked_at"`
	APIKey    string `json:"apiKey"`
}

func listKeys(t *testing.T, s *apitest.Server, id string, secrets ...string) []keyView {
	t.Helper()
	r := s.Admin(t, "GET", "/partners/"+id+"/keys", nil)
	r.WantStatus(t, http.StatusOK)
	noSecrets(t, r, secrets...)
	var out struct {
		Data []keyView `json:"data"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("keys: %s: %v", r.Body, err)
	}
	return out.Data
}

// noSecrets fails if the body shows any key, or more of it than the first
// 8 and last 4 characters.
func noSecrets(t *testing.T, r *apitest.Response, secrets ...string) {
	t.Helper()
	for _, k := range secrets {
		if strings.Contains(string(r.Body), k) || strings.Contains(string(r.Body), k[8:len(k)-4]) ||
			strings.Contains(string(r.Body), k[len(k)-5:]) {
			t.Fatalf("body shows the key %s: %s", k, r.Body)
		}
	}
}

func wantKey(t *testing.T, k keyView, key, status string) {
	t.Helper()
	if k.Display != "pk_live_…"+key[len(key)-4:] || k.Status != status || !msTimeRE.MatchString(k.CreatedAt) ||
		!strings.HasPrefix(k.ID, "key_") || k.APIKey != "" {
		t.Fatalf("key %+v, want display of %s… and status %s", k, key[:12], status)
	}
	if (status == "revoked") != msTimeRE.MatchString(k.RevokedAt) {
		t.Fatalf("key %+v: revoked_at", k)
	}
}

func TestPayPayPartner_CreateAndKeys(t *testing.T) {
	s := apitest.Start(t)
	r := s.Admin(t, "POST", "/partners", `{"api":"paypay","name":"Cards Inc","rateLimitPerMinute":60}`)
	r.WantStatus(t, http.StatusCreated)
	m := r.JSON(t)
	key1 := r.Str(t, "apiKey")
	if m["api"] != "paypay" || m["status"] != "active" || !apiKeyRE.MatchString(key1) || r.Int(t, "rateLimitPerMinute") != 60 {
		t.Fatalf("create: %s", r.Body)
	}
	id := r.Str(t, "id")
	noSecrets(t, s.Admin(t, "GET", "/partners/"+id, nil), key1)

	keys := listKeys(t, s, id, key1)
	if len(keys) != 1 {
		t.Fatalf("keys: %+v", keys)
	}
	wantKey(t, keys[0], key1, "active")
	key1ID := keys[0].ID

	// A second key: shown once, at creation.
	r = s.Admin(t, "POST", "/partners/"+id+"/keys", nil)
	r.WantStatus(t, http.StatusCreated)
	var added keyView
	if err := json.Unmarshal(r.Body, &added); err != nil {
		t.Fatal(err)
	}
	key2 := added.APIKey
	if !apiKeyRE.MatchString(key2) || key2 == key1 || added.ID == key1ID || added.Status != "active" ||
		added.Display != "pk_live_…"+key2[len(key2)-4:] {
		t.Fatalf("add key: %s", r.Body)
	}
	keys = listKeys(t, s, id, key1, key2)
	if len(keys) != 2 || keys[0].ID != key1ID || keys[1].ID != added.ID {
		t.Fatalf("keys after add: %+v", keys)
	}
	wantKey(t, keys[1], key2, "active")

	// Revoke the first.
	r = s.Admin(t, "DELETE", "/partners/"+id+"/keys/"+key1ID, nil)
	r.WantStatus(t, http.StatusOK)
	noSecrets(t, r, key1, key2)
	keys = listKeys(t, s, id, key1, key2)
	wantKey(t, keys[0], key1, "revoked")
	wantKey(t, keys[1], key2, "active")
	s.Admin(t, "DELETE", "/partners/"+id+"/keys/"+key1ID, nil).WantStatus(t, http.StatusConflict)   // already revoked
	s.Admin(t, "DELETE", "/partners/"+id+"/keys/"+added.ID, nil).WantStatus(t, http.StatusConflict) // last live key
	s.Admin(t, "DELETE", "/partners/"+id+"/keys/key_nope", nil).WantError(t, http.StatusNotFound, "not_found")
	s.Admin(t, "DELETE", "/partners/ptr_nope/keys/"+key1ID, nil).WantError(t, http.StatusNotFound, "not_found")
	s.Admin(t, "GET", "/partners/ptr_nope/keys", nil).WantError(t, http.StatusNotFound, "not_found")
	s.Admin(t, "POST", "/partners/ptr_nope/keys", nil).WantError(t, http.StatusNotFound, "not_found")
	// Key ids are per partner: another partner's key id is unknown here.
	other := s.NewPayPayPartner(t, 0)
	otherKeyID := s.KeyIDs(t, other.ID)[0]
	s.Admin(t, "DELETE", "/partners/"+id+"/keys/"+otherKeyID, nil).WantError(t, http.StatusNotFound, "not_found")

	// Revoked key: 401; live key: works. Everything survives a restart.
	s.Restart(t)
	keys = listKeys(t, s, id, key1, key2)
	wantKey(t, keys[0], key1, "revoked")
	wantKey(t, keys[1], key2, "active")
	s.PayPay(t, "GET", "/redemption_attempts", key1, nil).WantError(t, http.StatusUnauthorized, "unauthorized")
	s.PayPay(t, "GET", "/redemption_attempts", key2, nil).WantStatus(t, http.StatusOK)
	// The other partner's key still works.
	s.PayPay(t, "GET", "/redemption_attempts", other.APIKey, nil).WantStatus(t, http.StatusOK)
}

func TestPayPayAdmin_Unauthorized(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPayPayPartner(t, 0)
	issued := s.IssueCodes(t, p.ID, 1, "month", "1 month", time.Now().Add(time.Hour))
	code := issued.Codes[0]
	keyID := s.KeyIDs(t, p.ID)[0]
	routes := []struct{ method, path, body string }{
		{"GET", "/admin/partners/" + p.ID + "/keys", ""},
		{"POST", "/admin/partners/" + p.ID + "/keys", ""},
		{"DELETE", "/admin/partners/" + p.ID + "/keys/" + keyID, ""},
		{"POST", "/admin/paypay/partners/" + p.ID + "/codes", `{"count":1,"tier":"month","entitlement_label":"1 month","expires_at":"2999-01-01T00:00:00Z"}`},
		{"POST", "/admin/paypay/codes/" + code + "/revoke", ""},
	}
	for _, rt := range routes {
		for _, h := range []apitest.Header{nil, apitest.Bearer(p.APIKey), apitest.Bearer("nope")} {
			var body any
			if rt.body != "" {
				body = rt.body
			}
			s.Do(t, rt.method, rt.path, h, body).WantError(t, http.StatusUnauthorized, "unauthorized")
		}
	}
	// Nothing changed.
	if ids := s.KeyIDs(t, p.ID); len(ids) != 1 {
		t.Fatalf("keys: %v", ids)
	}
	s.PayPay(t, "POST", "/validate", p.APIKey, fmt.Sprintf(`{"code":%q}`, code)).WantJSON(t, http.StatusOK,
		fmt.Sprintf(`{"valid":true,"tier":"month","entitlement_label":"1 month","expires_at":%q}`, issued.ExpiresAt))
}

func issueBody(count any, expires string) string {
	return fmt.Sprintf(`{"count":%v,"tier":"year","entitlement_label":"12 months","expires_at":%q}`, count, expires)
}

func TestIssueCodes_TenThousand(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Millisecond)
	r := s.Admin(t, "POST", "/paypay/partners/"+p.ID+"/codes", issueBody(10_000, expires.Format(time.RFC3339Nano)))
	r.WantStatus(t, http.StatusCreated)
	var out struct {
		PartnerID        string   `json:"partner_id"`
		Tier             string   `json:"tier"`
		EntitlementLabel string   `json:"entitlement_label"`
		ExpiresAt        string   `json:"expires_at"`
		Codes            []string `json:"codes"`
	}
	dec := json.NewDecoder(strings.NewReader(string(r.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.PartnerID != p.ID || out.Tier != "year" || out.EntitlementLabel != "12 months" ||
		out.ExpiresAt != expires.Format("2006-01-02T15:04:05.000Z") || len(out.Codes) != 10_000 {
		t.Fatalf("issue: partner %q tier %q label %q expires %q, %d codes", out.PartnerID, out.Tier, out.EntitlementLabel, out.ExpiresAt, len(out.Codes))
	}
	seen := make(map[string]bool, len(out.Codes))
	for _, c := range out.Codes {
		if !codeRE.MatchString(c) || seen[c] {
			t.Fatalf("code %q: malformed or repeated", c)
		}
		seen[c] = true
	}
	// A second batch never repeats the first.
	more := s.IssueCodes(t, p.ID, 10_000, "year", "12 months", expires)
	for _, c := range more.Codes {
		if !codeRE.MatchString(c) || seen[c] {
			t.Fatalf("second batch code %q: malformed or repeated", c)
		}
	}
	// Every code of the batch is live: the first, the last, some between.
	for _, c := range []string{out.Codes[0], out.Codes[4999], out.Codes[9999], more.Codes[9999]} {
		s.PayPay(t, "POST", "/validate", p.APIKey, fmt.Sprintf(`{"code":%q}`, c)).WantJSON(t, http.StatusOK,
			fmt.Sprintf(`{"valid":true,"tier":"year","entitlement_label":"12 months","expires_at":%q}`, out.ExpiresAt))
	}
	s.PayPay(t, "POST", "/redeem", p.APIKey, fmt.Sprintf(`{"code":%q}`, out.Codes[9999])).WantStatus(t, http.StatusOK)
	// They survive a restart.
	s.Restart(t)
	s.PayPay(t, "POST", "/validate", p.APIKey, fmt.Sprintf(`{"code":%q}`, out.Codes[1])).WantStatus(t, http.StatusOK)
	r = s.PayPay(t, "POST", "/redeem", p.APIKey, fmt.Sprintf(`{"code":%q}`, out.Codes[9999]))
	r.WantStatus(t, http.StatusConflict)
}

func TestIssueCodes_Invalid(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPayPayPartner(t, 0)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct{ name, body string }{
		{"count 0", issueBody(0, future)},
		{"count 10001", issueBody(10_001, future)},
		{"count -1", issueBody(-1, future)},
		{"count 1.5", issueBody(1.5, future)},
		{"count 1.0", issueBody("1.0", future)},
		{"count string", issueBody(`"5"`, future)},
		{"expires in the past", issueBody(1, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))},
		{"expires not RFC 3339", issueBody(1, "2030-01-01")},
		{"expires garbage", issueBody(1, "tomorrow")},
		{"missing count", `{"tier":"year","entitlement_label":"12 months","expires_at":"` + future + `"}`},
		{"missing tier", `{"count":1,"entitlement_label":"12 months","expires_at":"` + future + `"}`},
		{"missing label", `{"count":1,"tier":"year","expires_at":"` + future + `"}`},
		{"missing expires", `{"count":1,"tier":"year","entitlement_label":"12 months"}`},
		{"empty tier", `{"count":1,"tier":"","entitlement_label":"12 months","expires_at":"` + future + `"}`},
		{"unknown field", `{"count":1,"tier":"year","entitlement_label":"x","expires_at":"` + future + `","x":1}`},
		{"not JSON", `count=1`},
		{"empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any = tc.body
			if tc.body == "" {
				body = nil
			}
			s.Admin(t, "POST", "/paypay/partners/"+p.ID+"/codes", body).WantError(t, http.StatusBadRequest, "invalid_request")
		})
	}
	shards := s.NewPartner(t, "payshards")
	s.Admin(t, "POST", "/paypay/partners/"+shards.ID+"/codes", issueBody(1, future)).WantError(t, http.StatusConflict, "wrong_api")
	s.Admin(t, "POST", "/paypay/partners/ptr_nope/codes", issueBody(1, future)).WantError(t, http.StatusNotFound, "not_found")
	// An offset is normalized to UTC with milliseconds.
	r := s.Admin(t, "POST", "/paypay/partners/"+p.ID+"/codes", issueBody(1, "2999-06-01T12:00:00.5+02:00"))
	r.WantStatus(t, http.StatusCreated)
	if got := r.Str(t, "expires_at"); got != "2999-06-01T10:00:00.500Z" {
		t.Fatalf("expires_at %q", got)
	}
	// The issued code is live.
	c := r.JSON(t)["codes"].([]any)[0].(string)
	s.PayPay(t, "POST", "/validate", p.APIKey, fmt.Sprintf(`{"code":%q}`, c)).WantStatus(t, http.StatusOK)
}

func TestRevokeCode(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPayPayPartner(t, 0)
	codes := s.IssueCodes(t, p.ID, 2, "month", "1 month", time.Now().Add(time.Hour)).Codes
	r := s.Admin(t, "POST", "/paypay/codes/"+codes[0]+"/revoke", nil)
	r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"code":%q,"partner_id":%q,"status":"revoked"}`, codes[0], p.ID))
	// Revoking again is a no-op with the same answer.
	s.Admin(t, "POST", "/paypay/codes/"+codes[0]+"/revoke", nil).WantJSON(t, http.StatusOK,
		fmt.Sprintf(`{"code":%q,"partner_id":%q,"status":"revoked"}`, codes[0], p.ID))
	s.PayPay(t, "POST", "/validate", p.APIKey, fmt.Sprintf(`{"code":%q}`, codes[0])).WantJSON(t, http.StatusOK, `{"valid":false,"reason":"revoked"}`)
	s.PayPay(t, "POST", "/redeem", p.APIKey, fmt.Sprintf(`{"code":%q}`, codes[0])).WantError(t, http.StatusLocked, "revoked")

	s.PayPay(t, "POST", "/redeem", p.APIKey, fmt.Sprintf(`{"code":%q}`, codes[1])).WantStatus(t, http.StatusOK)
	s.Admin(t, "POST", "/paypay/codes/"+codes[1]+"/revoke", nil).WantError(t, http.StatusConflict, "already_redeemed")
	s.Admin(t, "POST", "/paypay/codes/PP-2222-3333-4444/revoke", nil).WantError(t, http.StatusNotFound, "not_found")

	s.Restart(t)
	s.PayPay(t, "POST", "/redeem", p.APIKey, fmt.Sprintf(`{"code":%q}`, codes[0])).WantError(t, http.StatusLocked, "revoked")
	s.Admin(t, "POST", "/paypay/codes/"+codes[1]+"/revoke", nil).WantError(t, http.StatusConflict, "already_redeemed")
}

func TestPatchPartner_RateLimitAndStatus(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPayPayPartner(t, 60)
	s.Admin(t, "PATCH", "/partners/"+p.ID, `{"rateLimitPerMinute":120}`).WantJSON(t, http.StatusOK,
		fmt.Sprintf(`{"id":%q,"api":"paypay","name":%q,"status":"active","rateLimitPerMinute":120}`, p.ID, p.Name))
	s.Admin(t, "PATCH", "/partners/"+p.ID, `{"status":"inactive","rateLimitPerMinute":5}`).WantJSON(t, http.StatusOK,
		fmt.Sprintf(`{"id":%q,"api":"paypay","name":%q,"status":"inactive","rateLimitPerMinute":5}`, p.ID, p.Name))
	for _, body := range []string{`{"rateLimitPerMinute":0}`, `{"rateLimitPerMinute":-1}`, `{"rateLimitPerMinute":1.5}`,
		`{"rateLimitPerMinute":"60"}`, `{}`, `{"status":"suspended"}`} {
		s.Admin(t, "PATCH", "/partners/"+p.ID, body).WantError(t, http.StatusBadRequest, "invalid_request")
	}
	s.Admin(t, "PATCH", "/partners/ptr_nope", `{"rateLimitPerMinute":5}`).WantError(t, http.StatusNotFound, "not_found")
	s.Restart(t)
	s.Admin(t, "GET", "/partners/"+p.ID, nil).WantJSON(t, http.StatusOK,
		fmt.Sprintf(`{"id":%q,"api":"paypay","name":%q,"status":"inactive","rateLimitPerMinute":5}`, p.ID, p.Name))
}

// A PaySmart account's keys are listed with their own prefixes (sk_test_,
// pk_test_, sk_live_, pk_live_), never more than the first 8 and last 4
// characters.
func TestListKeysShowsPaySmartPrefixes(t *testing.T) {
	s := apitest.Start(t)
	acct := s.NewPaySmartAccount(t)
	k := acct.Keys
	views := listKeys(t, s, acct.ID, k.SecretTest, k.PublishableTest, k.SecretLive, k.PublishableLive)
	var got []string
	for _, v := range views {
		got = append(got, v.Display)
	}
	var want []string
	for _, key := range []string{k.SecretTest, k.PublishableTest, k.SecretLive, k.PublishableLive} {
		want = append(want, key[:8]+"…"+key[len(key)-4:])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("displays %v, want %v", got, want)
	}
}
