package paypay_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/paypay"
	"ledgerd/engine"
	enginepaypay "ledgerd/engine/paypay"
)

// Black-box tests of the PayPay.cards partner API over a real listener.
// Time is the test's: every server runs on an apitest.Clock, so code
// expiry, redeemed_at, audit times, rate-limit windows and idempotency
// retention move only when a test moves the clock. Responses are durable
// when sent, so nothing sleeps; the one wait (the 24 h expiry tick) polls
// the ledger's state.

var (
	requestIDRE = regexp.MustCompile(`^req_[0-9A-Za-z]{18}$`)
	timeRE      = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
)

// start runs a server whose System clock is a Clock standing at the
// current time (whole milliseconds): the admin API checks expires_at
// against the real clock, so the test clock starts there.
func start(t *testing.T, o apitest.Options) (*apitest.Server, *apitest.Clock) {
	t.Helper()
	clk := apitest.NewClock(time.Now().UTC().Truncate(time.Millisecond))
	o.Now = clk.Now
	return apitest.StartWith(t, o), clk
}

func codeBody(code string) string { return fmt.Sprintf(`{"code":%q}`, code) }

func fmtTime(t time.Time) string { return paypay.FormatTime(t.UnixMilli()) }

func idemKey(k string) apitest.Header { return apitest.Header{"Idempotency-Key": k} }

// requestID checks the X-Request-Id header's form and returns it.
func requestID(t *testing.T, r *apitest.Response) string {
	t.Helper()
	id := r.Header.Get("X-Request-Id")
	if !requestIDRE.MatchString(id) {
		t.Fatalf("X-Request-Id %q does not match %s (status %d, body %s)", id, requestIDRE, r.Status, r.Body)
	}
	return id
}

// wantEnvelope fails the test unless r is status with exactly the body
// extra (JSON members without braces, may be "") followed by the error
// envelope of code, message and the X-Request-Id header's request id.
func wantEnvelope(t *testing.T, r *apitest.Response, status int, extra, code, message string) string {
	t.Helper()
	id := requestID(t, r)
	if extra != "" {
		extra += ","
	}
	r.WantJSON(t, status, fmt.Sprintf(`{%s"error":%q,"message":%q,"request_id":%q}`, extra, code, message, id))
	return id
}

func wantUnauthorized(t *testing.T, r *apitest.Response) {
	t.Helper()
	wantEnvelope(t, r, http.StatusUnauthorized, "", paypay.CodeUnauthorized, paypay.MsgUnauthorized)
}

func wantValid(t *testing.T, r *apitest.Response, expires time.Time) {
	t.Helper()
	requestID(t, r)
	r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"valid":true,"tier":"month","entitlement_label":"1 month","expires_at":%q}`, fmtTime(expires)))
}

func wantInvalid(t *testing.T, r *apitest.Response, reason string) {
	t.Helper()
	requestID(t, r)
	r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"valid":false,"reason":%q}`, reason))
}

// redeemed is a successful redeem's body.
type redeemed struct {
	Redeemed         bool   `json:"redeemed"`
	Tier             string `json:"tier"`
	EntitlementLabel string `json:"entitlement_label"`
	RedeemedAt       string `json:"redeemed_at"`
	RedemptionID     string `json:"redemption_id"`
}

// wantRedeemed checks a 200 redeem at clock time at and returns its body.
func wantRedeemed(t *testing.T, r *apitest.Response, at time.Time) redeemed {
	t.Helper()
	requestID(t, r)
	var out redeemed
	if err := json.Unmarshal(r.Body, &out); err != nil || out.RedemptionID == "" {
		t.Fatalf("redeem: %d %s (%v)", r.Status, r.Body, err)
	}
	r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"redeemed":true,"tier":"month","entitlement_label":"1 month","redeemed_at":%q,"redemption_id":%q}`,
		fmtTime(at), out.RedemptionID))
	return out
}

// wantRefused checks a refused redeem: the spec's members and the envelope.
func wantRefused(t *testing.T, r *apitest.Response, reason, redeemedAt string) string {
	t.Helper()
	extra := fmt.Sprintf(`"redeemed":false,"reason":%q`, reason)
	if redeemedAt != "" {
		extra += fmt.Sprintf(`,"redeemed_at":%q`, redeemedAt)
	}
	return wantEnvelope(t, r, paypay.Status(reason), extra, reason, paypay.Message(reason))
}

func TestHealth(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 1)
	code := s.IssueCode(t, p.ID, time.Now().Add(time.Hour))
	s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)).WantStatus(t, http.StatusOK)
	r := s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code))
	wantEnvelope(t, r, http.StatusTooManyRequests, "", paypay.CodeRateLimited, paypay.MsgRateLimited)

	ids := map[string]bool{}
	for i := range 100 {
		key := "" // public: no header at all ...
		if i%2 == 1 {
			key = p.APIKey // ... or the bearer of a partner at its limit
		}
		r := s.PayPay(t, "GET", "/health", key, nil)
		r.WantStatus(t, http.StatusOK)
		if id := requestID(t, r); ids[id] { // every answer has its own X-Request-Id
			t.Fatalf("health %d: X-Request-Id %q seen before", i, id)
		} else {
			ids[id] = true
		}
		var h struct {
			OK   *bool  `json:"ok"`
			Time string `json:"time"`
		}
		if err := json.Unmarshal(r.Body, &h); err != nil || h.OK == nil || !*h.OK || !timeRE.MatchString(h.Time) {
			t.Fatalf("health %d: %s (%v)", i, r.Body, err)
		}
		got, err := time.Parse(time.RFC3339Nano, h.Time)
		if err != nil || got.Location() != time.UTC {
			t.Fatalf("health time %q: %v", h.Time, err)
		}
		if i == 0 {
			r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"ok":true,"time":%q}`, h.Time)) // nothing else
		}
	}
	// The partner is still limited: health did not reset or use its window.
	r = s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code))
	wantEnvelope(t, r, http.StatusTooManyRequests, "", paypay.CodeRateLimited, paypay.MsgRateLimited)
}

func TestValidate_Valid(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(7 * 24 * time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
	// Pasted codes are trimmed and upper-cased.
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(" \t"+strings.ToLower(code)+"\r\n")), expires)
	// Every answer has its own request id.
	a := requestID(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)))
	b := requestID(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)))
	if a == b {
		t.Fatalf("two requests got the same request id %s", a)
	}
}

func TestValidate_Reasons(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expiresSoon := clk.Now().Add(time.Hour)
	later := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
	c := s.IssueCodes(t, p.ID, 3, "month", "1 month", later).Codes
	soon := s.IssueCode(t, p.ID, expiresSoon)
	redeemedCode, revokedCode := c[0], c[1]

	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody("PP-2222-3333-4444")), paypay.CodeNotFound)
	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody("not even a code")), paypay.CodeNotFound)

	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(redeemedCode)), clk.Now())
	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(redeemedCode)), paypay.CodeAlreadyRedeemed)

	s.Admin(t, "POST", "/paypay/codes/"+revokedCode+"/revoke", nil).WantStatus(t, http.StatusOK)
	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(revokedCode)), paypay.CodeRevoked)

	// One millisecond before expires_at the code is valid; at it, expired.
	clk.Set(expiresSoon.Add(-time.Millisecond))
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(soon)), expiresSoon)
	clk.Set(expiresSoon)
	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(soon)), paypay.CodeExpired)
	// The untouched code is still valid.
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(c[2])), later)
}

func TestValidate_NeverChangesCode(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	for range 5 {
		wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
		clk.Advance(time.Second)
	}
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code)), clk.Now())
}

func TestRedeem_Success(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	code := s.IssueCode(t, p.ID, time.Now().Add(time.Hour))
	clk.Advance(1234 * time.Millisecond)
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code))
	wantRedeemed(t, r, clk.Now())
	if v := r.Header.Get("Idempotent-Replayed"); v != "" {
		t.Fatalf("a first redeem has Idempotent-Replayed %q", v)
	}
	// Redemption ids are unique.
	ids := map[string]bool{}
	for _, c := range s.IssueCodes(t, p.ID, 20, "month", "1 month", time.Now().Add(time.Hour)).Codes {
		id := wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(c)), clk.Now()).RedemptionID
		if ids[id] {
			t.Fatalf("redemption id %s given twice", id)
		}
		ids[id] = true
	}
}

func TestRedeem_Refusals(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expiresSoon := clk.Now().Add(time.Minute)
	c := s.IssueCodes(t, p.ID, 2, "month", "1 month", time.Now().Add(time.Hour)).Codes
	soon := s.IssueCode(t, p.ID, expiresSoon)

	t.Run("not_found", func(t *testing.T) {
		wantRefused(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-3333-4444")), paypay.CodeNotFound, "")
	})
	t.Run("already_redeemed", func(t *testing.T) {
		first := wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(c[0])), clk.Now())
		for range 3 {
			clk.Advance(time.Second)
			r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(c[0]))
			wantRefused(t, r, paypay.CodeAlreadyRedeemed, first.RedeemedAt)
			if r.Status != http.StatusConflict {
				t.Fatalf("status %d", r.Status)
			}
		}
		// A revoke of a redeemed code is refused and changes nothing.
		s.Admin(t, "POST", "/paypay/codes/"+c[0]+"/revoke", nil).WantError(t, http.StatusConflict, "already_redeemed")
		wantRefused(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(c[0])), paypay.CodeAlreadyRedeemed, first.RedeemedAt)
	})
	t.Run("revoked", func(t *testing.T) {
		s.Admin(t, "POST", "/paypay/codes/"+c[1]+"/revoke", nil).WantStatus(t, http.StatusOK)
		r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(c[1]))
		wantRefused(t, r, paypay.CodeRevoked, "")
		if r.Status != http.StatusLocked {
			t.Fatalf("status %d, want 423", r.Status)
		}
	})
	t.Run("expired", func(t *testing.T) {
		clk.Set(expiresSoon)
		r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(soon))
		wantRefused(t, r, paypay.CodeExpired, "")
		if r.Status != http.StatusGone {
			t.Fatalf("status %d, want 410", r.Status)
		}
		// Moving the clock back makes it redeemable again: expiry is a
		// comparison, not a state change.
		clk.Set(expiresSoon.Add(-time.Millisecond))
		wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(soon)), clk.Now())
	})
}

func TestCodesBelongToTheirPartner(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	a := s.NewPayPayPartner(t, 0)
	b := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, a.ID, expires)

	wantInvalid(t, s.PayPay(t, "POST", "/validate", b.APIKey, codeBody(code)), paypay.CodeNotFound)
	wantRefused(t, s.PayPay(t, "POST", "/redeem", b.APIKey, codeBody(code)), paypay.CodeNotFound, "")
	wantRefused(t, s.PayPay(t, "POST", "/redeem", b.APIKey, codeBody(code), idemKey("k1")), paypay.CodeNotFound, "")
	// B's attempts changed nothing for A.
	wantValid(t, s.PayPay(t, "POST", "/validate", a.APIKey, codeBody(code)), expires)
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", a.APIKey, codeBody(code), idemKey("k1")), clk.Now())
	// After A redeemed it, B still learns nothing about the code.
	wantInvalid(t, s.PayPay(t, "POST", "/validate", b.APIKey, codeBody(code)), paypay.CodeNotFound)
	wantRefused(t, s.PayPay(t, "POST", "/redeem", b.APIKey, codeBody(code)), paypay.CodeNotFound, "")
}

func TestRedeem_Concurrent(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	code := s.IssueCode(t, p.ID, time.Now().Add(time.Hour))
	const n = 100
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.PayPayRequest("POST", "/redeem", p.APIKey, codeBody(code))
	})
	var ok []*apitest.Response
	var conflicts []*apitest.Response
	for i, r := range resps {
		switch r.Status {
		case http.StatusOK:
			ok = append(ok, r)
		case http.StatusConflict:
			conflicts = append(conflicts, r)
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if len(ok) != 1 || len(conflicts) != n-1 {
		t.Fatalf("%d × 200 and %d × 409, want 1 and %d", len(ok), len(conflicts), n-1)
	}
	first := wantRedeemed(t, ok[0], clk.Now())
	for _, r := range conflicts {
		wantRefused(t, r, paypay.CodeAlreadyRedeemed, first.RedeemedAt)
	}
	// The audit holds exactly one redemption.
	redeemedN := 0
	for _, at := range allAttempts(t, s, p.APIKey) {
		if at.Outcome == "redeemed" {
			redeemedN++
		}
	}
	if redeemedN != 1 {
		t.Fatalf("%d redeemed attempts in the audit, want 1", redeemedN)
	}
}

func TestAuth_Unauthorized(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	shards := s.NewPartner(t, "payshards")
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)

	headers := []struct {
		name string
		h    apitest.Header
	}{
		{"no header", nil},
		{"empty bearer", apitest.Header{"Authorization": "Bearer "}},
		{"no scheme", apitest.Header{"Authorization": p.APIKey}},
		{"basic scheme", apitest.Header{"Authorization": "Basic " + p.APIKey}},
		{"x-api-key", apitest.Header{"x-api-key": p.APIKey}},
		{"unknown key", apitest.Bearer("pk_live_" + strings.Repeat("A", 48))},
		{"key prefix", apitest.Bearer(p.APIKey[:len(p.APIKey)-1])},
		{"key plus suffix", apitest.Bearer(p.APIKey + "x")},
		{"payshards key", apitest.Bearer(shards.APIKey)},
		{"admin token", apitest.Bearer(s.AdminToken)},
	}
	for _, h := range headers {
		t.Run(h.name, func(t *testing.T) {
			wantUnauthorized(t, s.Do(t, "POST", apitest.PayPayBase+"/validate", h.h, codeBody(code)))
			wantUnauthorized(t, s.Do(t, "POST", apitest.PayPayBase+"/redeem", h.h, codeBody(code)))
			wantUnauthorized(t, s.Do(t, "GET", apitest.PayPayBase+"/redemption_attempts", h.h, nil))
		})
	}
	// The scheme is case-insensitive (RFC 9110).
	wantValid(t, s.Do(t, "POST", apitest.PayPayBase+"/validate", apitest.Header{"Authorization": "bearer " + p.APIKey}, codeBody(code)), expires)
	// Nothing above touched the code.
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
	if got := allAttempts(t, s, p.APIKey); len(got) != 2 {
		t.Fatalf("audit has %d attempts, want the 2 authorized validates: %+v", len(got), got)
	}
}

func TestAuth_KeyRotation(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	codes := s.IssueCodes(t, p.ID, 2, "month", "1 month", expires).Codes
	key1 := p.APIKey
	key1ID := s.KeyIDs(t, p.ID)[0]
	key2ID, key2 := s.AddKey(t, p.ID)
	if key2 == key1 || key2ID == key1ID {
		t.Fatalf("second key repeats the first")
	}
	wantValid(t, s.PayPay(t, "POST", "/validate", key1, codeBody(codes[0])), expires)
	wantValid(t, s.PayPay(t, "POST", "/validate", key2, codeBody(codes[0])), expires)

	s.Admin(t, "DELETE", "/partners/"+p.ID+"/keys/"+key1ID, nil).WantStatus(t, http.StatusOK)
	wantUnauthorized(t, s.PayPay(t, "POST", "/validate", key1, codeBody(codes[0])))
	wantUnauthorized(t, s.PayPay(t, "POST", "/redeem", key1, codeBody(codes[0])))
	wantUnauthorized(t, s.PayPay(t, "GET", "/redemption_attempts", key1, nil))
	wantValid(t, s.PayPay(t, "POST", "/validate", key2, codeBody(codes[0])), expires)
	// Both keys are one partner: key 2 sees key 1's audit and redeems its codes.
	if got := allAttempts(t, s, key2); len(got) != 3 {
		t.Fatalf("audit has %d attempts, want 3", len(got))
	}
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", key2, codeBody(codes[0])), clk.Now())

	// A revoked key stays revoked after a restart.
	s.Restart(t)
	wantUnauthorized(t, s.PayPay(t, "POST", "/redeem", key1, codeBody(codes[1])))
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", key2, codeBody(codes[1])), clk.Now())
}

func TestAuth_SuspendedPartner(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	_, key2 := s.AddKey(t, p.ID)
	s.SetPartnerStatus(t, p.ID, "inactive")
	for _, key := range []string{p.APIKey, key2} {
		wantUnauthorized(t, s.PayPay(t, "POST", "/validate", key, codeBody(code)))
		wantUnauthorized(t, s.PayPay(t, "POST", "/redeem", key, codeBody(code), idemKey("k")))
		wantUnauthorized(t, s.PayPay(t, "GET", "/redemption_attempts", key, nil))
	}
	s.Restart(t)
	wantUnauthorized(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code)))
	s.SetPartnerStatus(t, p.ID, "active")
	wantValid(t, s.PayPay(t, "POST", "/validate", key2, codeBody(code)), expires)
	// The 401 bound nothing: the Idempotency-Key is fresh.
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey("k"))
	wantRedeemed(t, r, clk.Now())
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first use of a key after a 401 was replayed")
	}
}

func TestInvalidBody(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	bodies := map[string]string{
		"empty":            "",
		"truncated":        `{"code":"` + code,
		"not an object":    `["` + code + `"]`,
		"null":             "null",
		"string":           `"` + code + `"`,
		"missing code":     `{}`,
		"code null":        `{"code":null}`,
		"code number":      `{"code":12}`,
		"code object":      `{"code":{"v":"x"}}`,
		"empty code":       `{"code":""}`,
		"blank code":       `{"code":"   "}`,
		"unknown field":    `{"code":"` + code + `","extra":1}`,
		"misspelled":       `{"Code":"` + code + `"}`,
		"repeated":         `{"code":"` + code + `","code":"` + code + `"}`,
		"trailing data":    `{"code":"` + code + `"} {}`,
		"code over 64":     codeBody(strings.Repeat("A", 65)),
		"control char":     `{"code":"PP-\u0001"}`,
		"invalid utf8":     "{\"code\":\"PP-\xff\"}",
		"trailing comma":   `{"code":"` + code + `",}`,
		"single quoted":    `{'code':'` + code + `'}`,
		"huge body":        `{"code":"` + code + `","pad":"` + strings.Repeat("x", 70_000) + `"}`,
		"code with nested": `{"code":["` + code + `"]}`,
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/validate", "/redeem"} {
				r := s.PayPay(t, "POST", path, p.APIKey, body)
				wantEnvelope(t, r, http.StatusBadRequest, "", paypay.CodeInvalidBody, paypay.MsgInvalidBody)
			}
		})
	}
	// A 64-character code is well-formed: looked up, not found.
	wantRefused(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(strings.Repeat("A", 64))), paypay.CodeNotFound, "")

	keys := map[string]string{
		"empty":        "",
		"256 chars":    strings.Repeat("k", 256),
		"tab":          "a\tb",
		"inner space":  "a b",
		"non-ASCII":    "ключ",
		"1000 chars":   strings.Repeat("k", 1000),
		"latin1 bytes": "caf\xe9",
	}
	for name, k := range keys {
		t.Run("Idempotency-Key "+name, func(t *testing.T) {
			r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey(k))
			wantEnvelope(t, r, http.StatusBadRequest, "", paypay.CodeInvalidBody, paypay.MsgInvalidIdempotencyKey)
		})
	}
	// None of it touched the code or the audit.
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
	if got := allAttempts(t, s, p.APIKey); len(got) != 2 { // the 64-char not_found and the validate
		t.Fatalf("audit has %d attempts, want 2: %+v", len(got), got)
	}
	// Validate ignores Idempotency-Key, even an invalid one.
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code), idemKey(strings.Repeat("k", 300))), expires)
	// A 400 binds no Idempotency-Key.
	s.PayPay(t, "POST", "/redeem", p.APIKey, `{"code":1}`, idemKey("bound?")).WantStatus(t, http.StatusBadRequest)
	// 255 visible ASCII characters are a valid key.
	long := strings.Repeat("~", 254) + "!"
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey(long)), clk.Now())
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey(long))
	if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay with a 255-char key: %d %v %s", r.Status, r.Header, r.Body)
	}
	r = s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-3333-4444"), idemKey("bound?"))
	wantRefused(t, r, paypay.CodeNotFound, "")
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("a key first used in a 400 was replayed")
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	// Every 4xx of the API carries the envelope, routing errors included.
	r := s.PayPay(t, "GET", "/nope", p.APIKey, nil)
	wantEnvelope(t, r, http.StatusNotFound, "", "not_found", paypay.MsgRouteNotFound)
	r = s.PayPay(t, "GET", "/redeem", p.APIKey, nil)
	wantEnvelope(t, r, http.StatusMethodNotAllowed, "", paypay.CodeMethodNotAllowed, paypay.MsgMethodNotAllowed)
}

// --- rate limits ---

// limited checks a 429: envelope and Retry-After.
func limited(t *testing.T, r *apitest.Response, retryAfter int) {
	t.Helper()
	wantEnvelope(t, r, http.StatusTooManyRequests, "", paypay.CodeRateLimited, paypay.MsgRateLimited)
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(retryAfter) {
		t.Fatalf("Retry-After %q, want %d", got, retryAfter)
	}
}

func TestRateLimit_SlidingWindow(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 60)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	codes := s.IssueCodes(t, p.ID, 2, "month", "1 month", expires).Codes
	t0 := clk.Now()
	// Any mix of endpoints counts, bad requests included.
	call := func(i int) *apitest.Response {
		switch i % 4 {
		case 0:
			return s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0]))
		case 1:
			return s.PayPay(t, "GET", "/redemption_attempts?limit=1", p.APIKey, nil)
		case 2:
			return s.PayPay(t, "POST", "/redeem", p.APIKey, `{"bad":1}`)
		}
		return s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-2222-2222"))
	}
	// 1st at t0, 2nd-59th at t0+10s, 60th at t0+30s.
	for i := range 60 {
		switch i {
		case 1:
			clk.Set(t0.Add(10 * time.Second))
		case 59:
			clk.Set(t0.Add(30 * time.Second))
		}
		if r := call(i); r.Status == http.StatusTooManyRequests {
			t.Fatalf("request %d of 60 refused: %s", i+1, r.Body)
		}
	}
	clk.Set(t0.Add(30*time.Second + 500*time.Millisecond))
	limited(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])), 30) // 29.5 s until t0+60s
	clk.Set(t0.Add(59*time.Second + 200*time.Millisecond))
	limited(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[1])), 1) // 0.8 s
	limited(t, s.PayPay(t, "GET", "/redemption_attempts", p.APIKey, nil), 1)
	clk.Set(t0.Add(60*time.Second - time.Nanosecond))
	limited(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])), 1)

	// At t0+60s the first request leaves the window: one slot.
	clk.Set(t0.Add(60 * time.Second))
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])), expires)
	// The next slot frees when the 2nd request (t0+10s) leaves: 10 s.
	limited(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])), 10)
	// At t0+70s the 58 requests of t0+10s leave together.
	clk.Set(t0.Add(70 * time.Second))
	for i := range 58 {
		if r := s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])); r.Status != http.StatusOK {
			t.Fatalf("request %d at t0+70s: %d %s", i, r.Status, r.Body)
		}
	}
	limited(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[0])), 20) // the t0+30s one

	// The limit is per key: a second key of the partner has its own window.
	_, key2 := s.AddKey(t, p.ID)
	wantValid(t, s.PayPay(t, "POST", "/validate", key2, codeBody(codes[0])), expires)
	// 401s do not count (nor could they: no key).
	// The refused requests changed nothing: codes[1] is still redeemable.
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", key2, codeBody(codes[1])), clk.Now())
}

func TestRateLimit_RefusalChangesNothing(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 1)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
	limited(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey("k1")), 60)
	clk.Advance(time.Second)
	limited(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey("k1")), 59)
	clk.Advance(59 * time.Second)
	// The code is still valid, the 429s are not in the audit, and k1 is
	// not bound: its first real use redeems.
	items := allAttemptsAt(t, s, p.APIKey, clk)
	if len(items) != 1 || items[0].Action != "validate" {
		t.Fatalf("audit after 429s: %+v", items)
	}
	clk.Advance(time.Minute)
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey("k1"))
	wantRedeemed(t, r, clk.Now())
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("a key first refused by the rate limiter was replayed")
	}
}

func TestRateLimit_AdminChangesTakeEffect(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 3)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)
	burst := func(n, retry int) {
		t.Helper()
		for i := range n {
			if r := s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)); r.Status != http.StatusOK {
				t.Fatalf("request %d of %d: %d %s", i+1, n, r.Status, r.Body)
			}
		}
		limited(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), retry)
	}
	burst(3, 60)
	for _, limit := range []int{5, 2, 60} {
		r := s.Admin(t, "PATCH", "/partners/"+p.ID, map[string]any{"rateLimitPerMinute": limit})
		r.WantStatus(t, http.StatusOK)
		if got := r.Int(t, "rateLimitPerMinute"); got != int64(limit) {
			t.Fatalf("PATCH answered rateLimitPerMinute %d, want %d", got, limit)
		}
		clk.Advance(time.Minute)
		burst(limit, 60)
	}
	// The limit survives a restart (windows start empty).
	s.Restart(t)
	burst(60, 60)
}

// The spec: "Each API key is limited to 60 requests per minute". A partner
// created without rateLimitPerMinute gets that limit.
func TestRateLimit_DefaultIs60PerMinute(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	r := s.Admin(t, "POST", "/partners", map[string]any{"api": "paypay", "name": apitest.Unique("Default ")})
	r.WantStatus(t, http.StatusCreated)
	if got := r.Int(t, "rateLimitPerMinute"); got != 60 {
		t.Errorf("a PayPay.cards partner created without rateLimitPerMinute has %d per minute, want the spec's 60", got)
	}
	key := r.Str(t, "apiKey")
	for i := range 60 {
		if r := s.PayPay(t, "GET", "/redemption_attempts", key, nil); r.Status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	limited(t, s.PayPay(t, "GET", "/redemption_attempts", key, nil), 60)
}

// --- Idempotency-Key ---

func replayed(r *apitest.Response) bool { return r.Header.Get("Idempotent-Replayed") == "true" }

// wantReplay fails unless r is a replay of first: same status, same bytes,
// same X-Request-Id, and Idempotent-Replayed: true.
func wantReplay(t *testing.T, r, first *apitest.Response) {
	t.Helper()
	if r.Status != first.Status || !bytes.Equal(r.Body, first.Body) {
		t.Fatalf("replay: %d %s, want %d %s", r.Status, r.Body, first.Status, first.Body)
	}
	if got, want := r.Header.Get("X-Request-Id"), first.Header.Get("X-Request-Id"); got != want {
		t.Fatalf("replay X-Request-Id %q, want the first response's %q", got, want)
	}
	if !replayed(r) {
		t.Fatalf("replay without Idempotent-Replayed: true (headers %v)", r.Header)
	}
}

func TestIdempotency_Replay(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	codes := s.IssueCodes(t, p.ID, 3, "month", "1 month", expires).Codes

	first := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-1"))
	wantRedeemed(t, first, clk.Now())
	if replayed(first) {
		t.Fatalf("first response marked replayed")
	}
	for range 3 {
		clk.Advance(time.Minute)
		wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-1")), first)
	}
	// The same code pasted differently is the same request.
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(" "+strings.ToLower(codes[0])), idemKey("key-1")), first)
	// Without the key it is a new request: 409.
	wantRefused(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0])), paypay.CodeAlreadyRedeemed, mustRedeemedAt(t, first))

	// Refusals are replayed too, with their original request id, even
	// after the code's state changed.
	nf := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-3333-4444"), idemKey("key-404"))
	wantRefused(t, nf, paypay.CodeNotFound, "")
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-3333-4444"), idemKey("key-404")), nf)

	s.Admin(t, "POST", "/paypay/codes/"+codes[1]+"/revoke", nil).WantStatus(t, http.StatusOK)
	rv := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[1]), idemKey("key-423"))
	wantRefused(t, rv, paypay.CodeRevoked, "")
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[1]), idemKey("key-423")), rv)

	ar := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-409"))
	wantRefused(t, ar, paypay.CodeAlreadyRedeemed, mustRedeemedAt(t, first))
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-409")), ar)

	// The same key with another code: 422, and the other code is untouched.
	for _, k := range []string{"key-1", "key-404", "key-409"} {
		r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[2]), idemKey(k))
		wantEnvelope(t, r, http.StatusUnprocessableEntity, "", paypay.CodeIdempotencyKeyReused, paypay.MsgIdempotencyKeyReused)
	}
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(codes[2]), idemKey("key-1")), expires)

	// Keys are per partner: another partner's "key-1" is its own.
	q := s.NewPayPayPartner(t, 0)
	qc := s.IssueCode(t, q.ID, expires)
	r := s.PayPay(t, "POST", "/redeem", q.APIKey, codeBody(qc), idemKey("key-1"))
	wantRedeemed(t, r, clk.Now())
	if replayed(r) {
		t.Fatalf("another partner's key was replayed")
	}
	// And keys are not per API key: a partner's second key replays.
	_, key2 := s.AddKey(t, p.ID)
	wantReplay(t, s.PayPay(t, "POST", "/redeem", key2, codeBody(codes[0]), idemKey("key-1")), first)

	// Replays survive a restart.
	s.Restart(t)
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-1")), first)
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody("PP-2222-3333-4444"), idemKey("key-404")), nf)
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("key-409")), ar)
	r = s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[2]), idemKey("key-1"))
	wantEnvelope(t, r, http.StatusUnprocessableEntity, "", paypay.CodeIdempotencyKeyReused, paypay.MsgIdempotencyKeyReused)
	wantRedeemed(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[2]), idemKey("key-new")), clk.Now())
}

func mustRedeemedAt(t *testing.T, r *apitest.Response) string {
	t.Helper()
	return r.Str(t, "redeemed_at")
}

func TestIdempotency_Concurrent(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	code := s.IssueCode(t, p.ID, time.Now().Add(time.Hour))
	const n = 20
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.PayPayRequest("POST", "/redeem", p.APIKey, codeBody(code), idemKey("same-key"))
	})
	var first *apitest.Response
	for _, r := range resps {
		if !replayed(r) {
			if first != nil {
				t.Fatalf("two responses are not replays:\n%s\n%s", first.Body, r.Body)
			}
			first = r
		}
	}
	if first == nil {
		t.Fatalf("every response is a replay")
	}
	wantRedeemed(t, first, clk.Now())
	for _, r := range resps {
		if r != first {
			wantReplay(t, r, first)
		}
	}
	items := allAttempts(t, s, p.APIKey)
	if len(items) != 1 || items[0].Outcome != "redeemed" {
		t.Fatalf("audit: %+v, want one redeemed", items)
	}
}

func TestIdempotency_ForgottenAfter24h(t *testing.T) {
	s, clk := start(t, apitest.Options{ExpiryEvery: 5 * time.Millisecond})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(72 * time.Hour).Truncate(time.Millisecond)
	codes := s.IssueCodes(t, p.ID, 2, "month", "1 month", expires).Codes
	first := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("day-key"))
	wantRedeemed(t, first, clk.Now())
	redeemedAt := mustRedeemedAt(t, first)
	k := engine.IdemKey{Partner: p.ID, Scope: enginepaypay.ScopeRedeemKey, Reference: "day-key"}
	has := func() (found bool, events uint64) {
		s.Sys.ReadState(func(st *engine.State) { _, found = st.Record(k); events = st.Events })
		return found, events
	}
	if found, _ := has(); !found {
		t.Fatalf("no idempotency record for %+v", k)
	}

	// At 24 h exactly it is still remembered, after an expiry tick ran.
	clk.Advance(24 * time.Hour)
	waitTick(t, has)
	if found, _ := has(); !found {
		t.Fatalf("key forgotten at exactly 24 h")
	}
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("day-key")), first)

	// Past 24 h the record goes at the next tick.
	clk.Advance(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		found, _ := has()
		if !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("idempotency record still present 10 s after it expired")
		}
		time.Sleep(time.Millisecond)
	}
	// The key is new now: the same code is a fresh request (409 with a
	// new request id), and another code is not 422.
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("day-key"))
	id := wantRefused(t, r, paypay.CodeAlreadyRedeemed, redeemedAt)
	if replayed(r) || id == first.Header.Get("X-Request-Id") {
		t.Fatalf("expired key was replayed: %v %s", r.Header, r.Body)
	}
	// That 409 is the key's new first response, remembered across restarts.
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("day-key")), r)
	s.Restart(t)
	wantReplay(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[0]), idemKey("day-key")), r)
	// A key forgotten before it was reused with another code is free.
	second := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(codes[1]), idemKey("other-key"))
	wantRedeemed(t, second, clk.Now())
	clk.Advance(24*time.Hour + time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		var found bool
		s.Sys.ReadState(func(st *engine.State) {
			_, found = st.Record(engine.IdemKey{Partner: p.ID, Scope: enginepaypay.ScopeRedeemKey, Reference: "other-key"})
		})
		if !found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("other-key still remembered 10 s after it expired")
		}
	}
	third := s.IssueCode(t, p.ID, expires)
	r = s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(third), idemKey("other-key"))
	wantRedeemed(t, r, clk.Now())
	if replayed(r) {
		t.Fatalf("expired key was replayed")
	}
}

// waitTick waits until the committer has applied at least one expiry tick
// (three events) after the call: the tick reads the clock after it.
func waitTick(t *testing.T, has func() (bool, uint64)) {
	t.Helper()
	_, before := has()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, n := has(); n >= before+3 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no expiry tick in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// --- GET /redemption_attempts ---

type attempt struct {
	ID        string `json:"id"`
	Code      string `json:"code"`
	Action    string `json:"action"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id"`
	CreatedAt string `json:"created_at"`
}

type attemptPage struct {
	Data       []attempt `json:"data"`
	HasMore    *bool     `json:"has_more"`
	NextCursor *string   `json:"next_cursor"`
}

func listAttempts(t *testing.T, s *apitest.Server, key, query string) attemptPage {
	t.Helper()
	r := s.PayPay(t, "GET", "/redemption_attempts"+query, key, nil)
	r.WantStatus(t, http.StatusOK)
	requestID(t, r)
	var pg attemptPage
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pg); err != nil || pg.Data == nil || pg.HasMore == nil {
		t.Fatalf("attempts%s: %s (%v)", query, r.Body, err)
	}
	if *pg.HasMore != (pg.NextCursor != nil) {
		t.Fatalf("has_more %v with next_cursor %v", *pg.HasMore, pg.NextCursor)
	}
	if pg.NextCursor != nil && (len(pg.Data) == 0 || *pg.NextCursor != pg.Data[len(pg.Data)-1].ID) {
		t.Fatalf("next_cursor %q is not the last item's id: %s", *pg.NextCursor, r.Body)
	}
	return pg
}

// allAttempts walks every page (limit 7) and checks the ids are att_N
// with N strictly decreasing.
func allAttempts(t *testing.T, s *apitest.Server, key string) []attempt {
	t.Helper()
	var out []attempt
	query := "?limit=7"
	for pages := 0; ; pages++ {
		if pages > 10_000 {
			t.Fatalf("pagination does not end")
		}
		pg := listAttempts(t, s, key, query)
		out = append(out, pg.Data...)
		if !*pg.HasMore {
			break
		}
		query = "?limit=7&cursor=" + *pg.NextCursor
	}
	prev := uint64(0)
	for i, a := range out {
		n, err := strconv.ParseUint(strings.TrimPrefix(a.ID, "att_"), 10, 64)
		if err != nil || !strings.HasPrefix(a.ID, "att_") || (i > 0 && n >= prev) {
			t.Fatalf("attempt ids not att_N newest first: %+v", out)
		}
		prev = n
	}
	return out
}

// allAttemptsAt is allAttempts for a rate-limited key: it moves the clock
// a minute ahead before every page.
func allAttemptsAt(t *testing.T, s *apitest.Server, key string, clk *apitest.Clock) []attempt {
	t.Helper()
	var out []attempt
	query := ""
	for {
		clk.Advance(time.Minute)
		pg := listAttempts(t, s, key, query)
		out = append(out, pg.Data...)
		if !*pg.HasMore {
			return out
		}
		query = "?cursor=" + *pg.NextCursor
	}
}

func TestAttempts_Outcomes(t *testing.T) {
	s, clk := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expiresSoon := clk.Now().Add(time.Hour)
	c := s.IssueCodes(t, p.ID, 2, "month", "1 month", time.Now().Add(48*time.Hour)).Codes
	soon := s.IssueCode(t, p.ID, expiresSoon)
	s.Admin(t, "POST", "/paypay/codes/"+c[1]+"/revoke", nil).WantStatus(t, http.StatusOK)

	var want []attempt
	call := func(path, code, outcome string) {
		t.Helper()
		clk.Advance(1500 * time.Millisecond)
		r := s.PayPay(t, "POST", path, p.APIKey, codeBody(code))
		if r.Status >= 500 {
			t.Fatalf("%s %s: %d", path, code, r.Status)
		}
		want = append(want, attempt{Code: code, Action: strings.TrimPrefix(path, "/"), Outcome: outcome,
			RequestID: requestID(t, r), CreatedAt: fmtTime(clk.Now())})
	}
	call("/validate", c[0], "valid")
	call("/redeem", c[0], "redeemed")
	call("/validate", c[0], "already_redeemed")
	call("/redeem", c[0], "already_redeemed")
	call("/validate", "PP-2222-3333-4444", "not_found")
	call("/redeem", "PP-2222-3333-4444", "not_found")
	call("/validate", c[1], "revoked")
	call("/redeem", c[1], "revoked")
	clk.Set(expiresSoon.Add(-1500 * time.Millisecond))
	call("/validate", soon, "expired")
	call("/redeem", soon, "expired")
	// Bad requests, 401s and 429s reach no code and are not audited.
	s.PayPay(t, "POST", "/redeem", p.APIKey, `{}`).WantStatus(t, http.StatusBadRequest)
	s.PayPay(t, "POST", "/redeem", "", codeBody(c[0])).WantStatus(t, http.StatusUnauthorized)

	got := allAttempts(t, s, p.APIKey)
	if len(got) != len(want) {
		t.Fatalf("%d attempts, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[len(got)-1-i], want[i]
		w.ID = g.ID
		if g != w {
			t.Errorf("attempt %d: %+v, want %+v", i, g, w)
		}
	}
	// The audit survives a restart byte for byte.
	before := s.PayPay(t, "GET", "/redemption_attempts?limit=100", p.APIKey, nil)
	s.Restart(t)
	after := s.PayPay(t, "GET", "/redemption_attempts?limit=100", p.APIKey, nil)
	if before.Status != http.StatusOK || !bytes.Equal(before.Body, after.Body) {
		t.Fatalf("audit changed across restart:\n%s\n%s", before.Body, after.Body)
	}
}

func TestAttempts_Pagination(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	q := s.NewPayPayPartner(t, 0)
	code := s.IssueCode(t, p.ID, time.Now().Add(time.Hour))
	qcode := s.IssueCode(t, q.ID, time.Now().Add(time.Hour))

	// Empty list.
	pg := listAttempts(t, s, p.APIKey, "")
	if len(pg.Data) != 0 || *pg.HasMore {
		t.Fatalf("empty audit: %+v", pg)
	}
	const n = 57
	ids := map[string]bool{}
	for i := range n {
		r := s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code))
		ids[requestID(t, r)] = true
		if i%5 == 0 { // interleave another partner's attempts
			s.PayPay(t, "POST", "/validate", q.APIKey, codeBody(qcode)).WantStatus(t, http.StatusOK)
		}
	}
	all := allAttempts(t, s, p.APIKey)
	if len(all) != n {
		t.Fatalf("walk found %d attempts, want %d", len(all), n)
	}
	for _, a := range all {
		if !ids[a.RequestID] {
			t.Fatalf("attempt %+v is not one of this partner's requests, or listed twice", a)
		}
		delete(ids, a.RequestID)
	}

	if pg := listAttempts(t, s, p.APIKey, ""); len(pg.Data) != 20 || !*pg.HasMore {
		t.Fatalf("default page: %d items, has_more %v", len(pg.Data), *pg.HasMore)
	}
	if pg := listAttempts(t, s, p.APIKey, "?limit=100"); len(pg.Data) != n || *pg.HasMore {
		t.Fatalf("limit=100: %d items, has_more %v", len(pg.Data), *pg.HasMore)
	}
	if pg := listAttempts(t, s, p.APIKey, "?limit=57"); len(pg.Data) != n || *pg.HasMore {
		t.Fatalf("limit=57: %d items, has_more %v", len(pg.Data), *pg.HasMore)
	}
	pg = listAttempts(t, s, p.APIKey, "?limit=56")
	if len(pg.Data) != 56 || !*pg.HasMore {
		t.Fatalf("limit=56: %d items, has_more %v", len(pg.Data), *pg.HasMore)
	}
	last := listAttempts(t, s, p.APIKey, "?limit=56&cursor="+*pg.NextCursor)
	if len(last.Data) != 1 || *last.HasMore || last.Data[0] != all[n-1] {
		t.Fatalf("last page: %+v", last)
	}
	if pg := listAttempts(t, s, p.APIKey, "?limit=1"); len(pg.Data) != 1 || pg.Data[0] != all[0] {
		t.Fatalf("limit=1: %+v, want newest %+v", pg.Data, all[0])
	}
	// Cursor of the oldest: nothing older.
	if pg := listAttempts(t, s, p.APIKey, "?cursor="+all[n-1].ID); len(pg.Data) != 0 || *pg.HasMore {
		t.Fatalf("after the oldest: %+v", pg)
	}
	// Another partner sees only its own, even with this partner's cursors.
	qall := allAttempts(t, s, q.APIKey)
	if len(qall) != 12 {
		t.Fatalf("other partner sees %d attempts, want 12", len(qall))
	}
	for _, a := range qall {
		if a.Code != qcode {
			t.Fatalf("other partner sees %+v", a)
		}
	}
	if pg := listAttempts(t, s, q.APIKey, "?cursor="+all[0].ID+"&limit=100"); len(pg.Data) == 0 || pg.Data[0].Code != qcode {
		t.Fatalf("other partner with a foreign cursor: %+v", pg)
	}

	for _, query := range []string{"?limit=0", "?limit=101", "?limit=x", "?limit=", "?limit=-1", "?limit=1.5",
		"?limit=+5", "?limit=99999999999999999999", "?limit=5&limit=6", "?cursor=", "?cursor=att_", "?cursor=foo",
		"?cursor=att_x", "?cursor=att_" + strings.Repeat("9", 40), "?cursor=att_1&cursor=att_2"} {
		t.Run(query, func(t *testing.T) {
			r := s.PayPay(t, "GET", "/redemption_attempts"+query, p.APIKey, nil)
			wantEnvelope(t, r, http.StatusBadRequest, "", paypay.CodeInvalidBody, paypay.MsgInvalidQuery)
		})
	}
	// Unknown parameters are ignored.
	if pg := listAttempts(t, s, p.APIKey, "?limit=3&_=123"); len(pg.Data) != 3 {
		t.Fatalf("with an extra parameter: %+v", pg)
	}
}
