package payshards_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"ledgerd/actors"
	"ledgerd/api/apitest"
	"ledgerd/engine"
)

// Black-box tests of the PayShards partner API over a real listener. Every
// test reads balances back through the API: a response is only sent after
// the change it reports is durable, so no test waits or polls.

func cmd(user string, amount int64, ref string) string {
	return fmt.Sprintf(`{"userId":%q,"amount":%d,"reference":%q}`, user, amount, ref)
}

func okBody(newBalance int64, idempotent bool) string {
	return fmt.Sprintf(`{"success":true,"newBalance":%d,"idempotent":%t}`, newBalance, idempotent)
}

func insufficient(balance int64) string {
	return fmt.Sprintf(`{"error":"insufficient_balance","balance":%d}`, balance)
}

func refundExceeds(refundable int64) string {
	return fmt.Sprintf(`{"error":"refund_exceeds_deducted","refundable":%d}`, refundable)
}

const (
	invalidRequest = `{"error":"invalid_request"}`
	conflict       = `{"error":"idempotency_conflict"}`
)

func TestBalance_Success(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Credit(t, "u_123", 1500, "topup_1")
	r := s.PayShards(t, "GET", "/balance?userId=u_123", p.APIKey, nil)
	r.WantJSON(t, http.StatusOK, `{"userId":"u_123","balance":1500}`)

	// A user id with punctuation round-trips through the query string.
	// (Only characters that need no escaping in the admin credit path:
	// see the admin tests for percent-encoded user ids.)
	odd := "u$+=:@~.-&_"
	s.Credit(t, odd, 7, apitest.Unique("topup_"))
	r = s.PayShards(t, "GET", "/balance?userId="+url.QueryEscape(odd), p.APIKey, nil)
	r.WantJSON(t, http.StatusOK, fmt.Sprintf(`{"userId":%q,"balance":7}`, odd))
}

func TestBalance_UnknownUser(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, user := range []string{"nobody", strings.Repeat("x", 128)} {
		r := s.PayShards(t, "GET", "/balance?userId="+user, p.APIKey, nil)
		r.WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	}
}

func TestBalance_InvalidRequest(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, tc := range []struct{ name, query string }{
		{"no userId", ""},
		{"empty userId", "?userId="},
		{"129 chars", "?userId=" + strings.Repeat("x", 129)},
		{"control char", "?userId=u%01"},
		{"newline", "?userId=u%0A"},
		{"invalid UTF-8", "?userId=u%FF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.PayShards(t, "GET", "/balance"+tc.query, p.APIKey, nil)
			r.WantJSON(t, http.StatusBadRequest, invalidRequest)
		})
	}
}

// endpoint is one PayShards route with a request that would succeed.
type endpoint struct {
	name, method, path string
	body               func(user, ref string) string
}

func endpoints() []endpoint {
	return []endpoint{
		{"balance", "GET", "", nil},
		{"deduct", "POST", "/deduct", func(u, ref string) string { return cmd(u, 10, ref) }},
		{"refund", "POST", "/refund", func(u, ref string) string { return cmd(u, 10, ref) }},
	}
}

func (e endpoint) call(t *testing.T, s *apitest.Server, h apitest.Header, user, ref string) *apitest.Response {
	t.Helper()
	if e.body == nil {
		return s.Do(t, "GET", "/payshards/api/partner/balance?userId="+user, h, nil)
	}
	return s.Do(t, e.method, "/payshards/api/partner"+e.path, h, e.body(user, ref))
}

func TestAuth_Unauthorized(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	// Give the partner something refundable, so a refund that got through
	// auth would succeed.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 100, "setup")).WantJSON(t, 200, okBody(900, false))

	// A partner of another API: only the admin API's list of APIs keeps us
	// from creating one over HTTP, so create it on the System directly.
	otherKey := "pk_live_other_api_key_0000000000000000000000000"
	if _, err := s.Sys.CreatePartner("ptr_paypay", "paypay", "Other API", 600, actors.NewKey{ID: "key_1", Hash: engine.HashKey([]byte(otherKey))}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		h    apitest.Header
		want string
	}{
		{"no header", nil, `{"error":"missing_api_key"}`},
		{"empty header", apitest.Header{"x-api-key": ""}, `{"error":"missing_api_key"}`},
		{"made-up key", apitest.APIKey("pk_live_madeup000000000000000000000000000000000000"), `{"error":"invalid_api_key"}`},
		{"key with a typo", apitest.APIKey(p.APIKey[:len(p.APIKey)-1] + "!"), `{"error":"invalid_api_key"}`},
		{"key plus suffix", apitest.APIKey(p.APIKey + "x"), `{"error":"invalid_api_key"}`},
		{"key of another API", apitest.APIKey(otherKey), `{"error":"invalid_api_key"}`},
		{"admin token", apitest.APIKey(s.AdminToken), `{"error":"invalid_api_key"}`},
		{"bearer instead of x-api-key", apitest.Bearer(p.APIKey), `{"error":"missing_api_key"}`},
	} {
		for _, e := range endpoints() {
			t.Run(tc.name+"/"+e.name, func(t *testing.T) {
				ref := apitest.Unique("ref_")
				e.call(t, s, tc.h, user, ref).WantJSON(t, http.StatusUnauthorized, tc.want)
				s.WantBalance(t, p.APIKey, user, 900)
				if e.body != nil {
					// An auth failure binds nothing: the same reference
					// then works with a good key.
					e.call(t, s, apitest.APIKey(p.APIKey), user, ref).WantStatus(t, http.StatusOK)
					// Put the balance back for the next case.
					if e.path == "/deduct" {
						s.PayShards(t, "POST", "/refund", p.APIKey, cmd(user, 10, ref)).WantStatus(t, 200)
					} else {
						s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 10, ref)).WantStatus(t, 200)
					}
					s.WantBalance(t, p.APIKey, user, 900)
				}
			})
		}
	}
}

func TestPartner_Inactive(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	other := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 100, "before")).WantJSON(t, 200, okBody(900, false))

	s.SetPartnerStatus(t, p.ID, "inactive")
	for _, e := range endpoints() {
		t.Run("inactive/"+e.name, func(t *testing.T) {
			e.call(t, s, apitest.APIKey(p.APIKey), user, apitest.Unique("ref_")).
				WantJSON(t, http.StatusForbidden, `{"error":"partner_inactive"}`)
		})
	}
	// A retry of an earlier reference is refused too, not replayed.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 100, "before")).
		WantJSON(t, http.StatusForbidden, `{"error":"partner_inactive"}`)
	// Bad input from an inactive partner: the partner status wins.
	s.PayShards(t, "POST", "/deduct", p.APIKey, `{"nope":1}`).
		WantJSON(t, http.StatusForbidden, `{"error":"partner_inactive"}`)
	// Another partner is not affected.
	s.WantBalance(t, other.APIKey, user, 900)

	s.SetPartnerStatus(t, p.ID, "active")
	s.WantBalance(t, p.APIKey, user, 900)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 100, "after")).WantJSON(t, 200, okBody(800, false))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 100, "before")).WantJSON(t, 200, okBody(900, true))
	s.PayShards(t, "POST", "/refund", p.APIKey, cmd(user, 200, "r1")).WantJSON(t, 200, okBody(1000, false))
}

func TestDeduct_Success(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Credit(t, "u_123", 1500, "topup_1")
	s.PayShards(t, "POST", "/deduct", p.APIKey,
		`{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"Pro export"}`).
		WantJSON(t, http.StatusOK, `{"success":true,"newBalance":1250,"idempotent":false}`)
	s.WantBalance(t, p.APIKey, "u_123", 1250)

	// The whole balance can be spent, down to exactly 0.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd("u_123", 1250, "all")).WantJSON(t, 200, okBody(0, false))
	s.WantBalance(t, p.APIKey, "u_123", 0)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd("u_123", 1, "one_more")).WantJSON(t, http.StatusPaymentRequired, insufficient(0))
}

func TestDeduct_AcceptedShapes(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1_000_000)
	balance := int64(1_000_000)
	for _, tc := range []struct {
		name   string
		body   func(ref string) string
		amount int64
	}{
		{"description null", func(r string) string {
			return fmt.Sprintf(`{"userId":%q,"amount":5,"reference":%q,"description":null}`, user, r)
		}, 5},
		{"description empty", func(r string) string {
			return fmt.Sprintf(`{"userId":%q,"amount":5,"reference":%q,"description":""}`, user, r)
		}, 5},
		{"fields reordered and spaced", func(r string) string {
			return fmt.Sprintf(" \n{ \"reference\" : %q ,\t\"amount\":7, \"userId\":%q }\n", r, user)
		}, 7},
		{"amount 1", func(r string) string { return cmd(user, 1, r) }, 1},
		{"escaped strings", func(r string) string {
			esc := strings.NewReplacer("u", `\u0075`).Replace(user)
			return fmt.Sprintf(`{"userId":"%s","amount":3,"reference":%q}`, esc, r)
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			balance -= tc.amount
			s.PayShards(t, "POST", "/deduct", p.APIKey, tc.body(apitest.Unique("ok_"))).WantJSON(t, 200, okBody(balance, false))
			s.WantBalance(t, p.APIKey, user, balance)
		})
	}
	// A reference of 255 characters and a user id of 128 are allowed.
	u128 := strings.Repeat("U", 128)
	s.Credit(t, u128, 10, apitest.Unique("topup_"))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(u128, 10, strings.Repeat("R", 255))).WantJSON(t, 200, okBody(0, false))
	// The largest amount is valid input (and too much for this user).
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 9007199254740991, "max")).WantJSON(t, http.StatusPaymentRequired, insufficient(balance))
}

func TestDeduct_InsufficientBalance(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, tc := range []struct {
		name            string
		balance, amount int64
	}{
		{"one short", 249, 250},
		{"spec example", 100, 250},
		{"max amount", 1500, 9007199254740991},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := s.NewUser(t, tc.balance)
			s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, tc.amount, apitest.Unique("ref_"))).
				WantJSON(t, http.StatusPaymentRequired, insufficient(tc.balance))
			s.WantBalance(t, p.APIKey, user, tc.balance)
		})
	}
	// A user with no shards at all.
	user := "empty_" + apitest.Unique("")
	s.Credit(t, user, 1, apitest.Unique("topup_"))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 1, "x")).WantJSON(t, 200, okBody(0, false))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 1, "y")).WantJSON(t, http.StatusPaymentRequired, insufficient(0))
}

func TestDeduct_UnknownUser(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for _, path := range []string{"/deduct", "/refund"} {
		s.PayShards(t, "POST", path, p.APIKey, cmd("ghost"+path, 10, "r1")).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
		// The failed request did not create the user.
		s.PayShards(t, "GET", "/balance?userId=ghost"+path, p.APIKey, nil).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	}
}

// invalidBodies are deduct/refund bodies that must be 400 invalid_request.
// Each uses the reference "bad_ref" where it has one.
func invalidBodies(user string) []struct{ name, body string } {
	const ref = `"reference":"bad_ref"`
	u := fmt.Sprintf(`"userId":%q`, user)
	obj := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	pad := func(size int) string { // a valid body padded with spaces to size bytes
		b := obj(u, `"amount":250`, ref)
		return b[:len(b)-1] + strings.Repeat(" ", size-len(b)) + "}"
	}
	return []struct{ name, body string }{
		{"amount 250.0", obj(u, `"amount":250.0`, ref)},
		{"amount 2.5e2", obj(u, `"amount":2.5e2`, ref)},
		{"amount 250e0", obj(u, `"amount":250e0`, ref)},
		{"amount 2.50E+2", obj(u, `"amount":2.50E+2`, ref)},
		{"amount string", obj(u, `"amount":"250"`, ref)},
		{"amount 0", obj(u, `"amount":0`, ref)},
		{"amount -0", obj(u, `"amount":-0`, ref)},
		{"amount -1", obj(u, `"amount":-1`, ref)},
		{"amount -250", obj(u, `"amount":-250`, ref)},
		{"amount 2^53", obj(u, `"amount":9007199254740992`, ref)},
		{"amount 2^63", obj(u, `"amount":9223372036854775808`, ref)},
		{"amount huge", obj(u, `"amount":1`+strings.Repeat("0", 40), ref)},
		{"amount leading zero", obj(u, `"amount":0250`, ref)},
		{"amount plus sign", obj(u, `"amount":+250`, ref)},
		{"amount null", obj(u, `"amount":null`, ref)},
		{"amount true", obj(u, `"amount":true`, ref)},
		{"amount array", obj(u, `"amount":[250]`, ref)},
		{"amount object", obj(u, `"amount":{"v":250}`, ref)},
		{"amount missing", obj(u, ref)},
		{"userId missing", obj(`"amount":250`, ref)},
		{"userId empty", obj(`"userId":""`, `"amount":250`, ref)},
		{"userId 129 chars", obj(fmt.Sprintf(`"userId":%q`, strings.Repeat("u", 129)), `"amount":250`, ref)},
		{"userId number", obj(`"userId":123`, `"amount":250`, ref)},
		{"userId null", obj(`"userId":null`, `"amount":250`, ref)},
		{"userId control char", obj(`"userId":"u\u0001"`, `"amount":250`, ref)},
		{"userId newline", obj(`"userId":"u\n"`, `"amount":250`, ref)},
		{"userId lone surrogate", obj(`"userId":"u\ud800"`, `"amount":250`, ref)},
		{"reference missing", obj(u, `"amount":250`)},
		{"reference empty", obj(u, `"amount":250`, `"reference":""`)},
		{"reference 256 chars", obj(u, `"amount":250`, fmt.Sprintf(`"reference":%q`, strings.Repeat("r", 256)))},
		{"reference number", obj(u, `"amount":250`, `"reference":1`)},
		{"description number", obj(u, `"amount":250`, ref, `"description":5`)},
		{"unknown field", obj(u, `"amount":250`, ref, `"currency":"shards"`)},
		{"duplicate amount", obj(u, `"amount":1`, `"amount":250`, ref)},
		{"duplicate userId", obj(u, u, `"amount":250`, ref)},
		{"trailing garbage", obj(u, `"amount":250`, ref) + "x"},
		{"two objects", obj(u, `"amount":250`, ref) + obj(u, `"amount":250`, ref)},
		{"trailing comma", "{" + u + `,"amount":250,` + ref + ",}"},
		{"single quotes", `{'userId':'u','amount':250,'reference':'bad_ref'}`},
		{"array", "[" + obj(u, `"amount":250`, ref) + "]"},
		{"string", `"hello"`},
		{"null", `null`},
		{"empty body", ``},
		{"truncated", obj(u, `"amount":250`, ref)[:20]},
		{"form encoded", "userId=" + user + "&amount=250&reference=bad_ref"},
		{"over 64 KiB", pad(64<<10 + 1)},
		{"1 MiB", pad(1 << 20)},
	}
}

func TestDeduct_InvalidRequest(t *testing.T) { testInvalidRequest(t, "/deduct") }
func TestRefund_InvalidRequest(t *testing.T) { testInvalidRequest(t, "/refund") }

func testInvalidRequest(t *testing.T, path string) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	// Deduct something first so that a refund that got through would work.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 500, "setup")).WantJSON(t, 200, okBody(500, false))
	for _, tc := range invalidBodies(user) {
		t.Run(tc.name, func(t *testing.T) {
			s.PayShards(t, "POST", path, p.APIKey, tc.body).WantJSON(t, http.StatusBadRequest, invalidRequest)
			s.WantBalance(t, p.APIKey, user, 500)
		})
	}
	// A 400 binds nothing: the reference every bad body carried is free.
	want := int64(250)
	if path == "/refund" {
		want = 750
	}
	s.PayShards(t, "POST", path, p.APIKey, cmd(user, 250, "bad_ref")).WantJSON(t, 200, okBody(want, false))
}

func TestDeduct_BodySizeLimit(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	body := func(size int, ref string) string {
		b := cmd(user, 100, ref)
		return b[:len(b)-1] + strings.Repeat(" ", size-len(b)) + "}"
	}
	// Exactly 64 KiB is allowed; one byte more is not.
	s.PayShards(t, "POST", "/deduct", p.APIKey, body(64<<10+1, "big")).WantJSON(t, http.StatusBadRequest, invalidRequest)
	s.WantBalance(t, p.APIKey, user, 1000)
	s.PayShards(t, "POST", "/deduct", p.APIKey, body(64<<10, "big")).WantJSON(t, 200, okBody(900, false))
}

func TestDeduct_Idempotent(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Credit(t, "u_123", 1500, "topup_1")
	first := cmd("u_123", 250, "order_abc_001")
	s.PayShards(t, "POST", "/deduct", p.APIKey, first).WantJSON(t, 200, okBody(1250, false))
	s.PayShards(t, "POST", "/deduct", p.APIKey, first).WantJSON(t, 200, okBody(1250, true))
	s.WantBalance(t, p.APIKey, "u_123", 1250)

	// Other deducts move the balance; a retry still answers the original
	// newBalance and changes nothing.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd("u_123", 100, "order_2")).WantJSON(t, 200, okBody(1150, false))
	s.Credit(t, "u_123", 1000, "topup_2")
	for i := range 3 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			s.PayShards(t, "POST", "/deduct", p.APIKey, first).WantJSON(t, 200, okBody(1250, true))
			s.WantBalance(t, p.APIKey, "u_123", 2150)
		})
	}
	// A different description (not part of the command's identity) is a
	// retry, not a conflict.
	s.PayShards(t, "POST", "/deduct", p.APIKey,
		`{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"other"}`).
		WantJSON(t, 200, okBody(1250, true))
	s.WantBalance(t, p.APIKey, "u_123", 2150)
}

func TestDeduct_IdempotentRejections(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")

	// 402 is the reference's outcome: after a top-up the retry still gets
	// the original 402 with the original balance, and nothing is debited.
	user := s.NewUser(t, 100)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 250, "R")).WantJSON(t, http.StatusPaymentRequired, insufficient(100))
	s.Credit(t, user, 1000, apitest.Unique("topup_"))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 250, "R")).WantJSON(t, http.StatusPaymentRequired, insufficient(100))
	s.WantBalance(t, p.APIKey, user, 1100)
	// ...and the same reference with other parameters is a conflict.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 50, "R")).WantJSON(t, http.StatusConflict, conflict)

	// 404 likewise: the user appearing later does not change the outcome.
	ghost := apitest.Unique("ghost_")
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(ghost, 10, "G")).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	s.Credit(t, ghost, 500, apitest.Unique("topup_"))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(ghost, 10, "G")).WantJSON(t, http.StatusNotFound, `{"error":"unknown_user"}`)
	s.WantBalance(t, p.APIKey, ghost, 500)

	// A 429 binds nothing either (tested in TestRateLimit_Exceeded).
}

func TestDeduct_IdempotencyConflict(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1500)
	other := s.NewUser(t, 1500)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 250, "R")).WantJSON(t, 200, okBody(1250, false))
	s.PayShards(t, "POST", "/refund", p.APIKey, cmd(user, 50, "RF")).WantJSON(t, 200, okBody(1300, false))
	for _, tc := range []struct{ name, path, body string }{
		{"deduct other user", "/deduct", cmd(other, 250, "R")},
		{"deduct other amount", "/deduct", cmd(user, 251, "R")},
		{"deduct both differ", "/deduct", cmd(other, 1, "R")},
		{"refund other user", "/refund", cmd(other, 50, "RF")},
		{"refund other amount", "/refund", cmd(user, 49, "RF")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.PayShards(t, "POST", tc.path, p.APIKey, tc.body).WantJSON(t, http.StatusConflict, conflict)
			s.WantBalance(t, p.APIKey, user, 1300)
			s.WantBalance(t, p.APIKey, other, 1500)
		})
	}
	// The original still replays.
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 250, "R")).WantJSON(t, 200, okBody(1250, true))
}

func TestIdempotency_ScopedPerPartner(t *testing.T) {
	s := apitest.Start(t)
	a := s.NewPartner(t, "payshards")
	b := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 100, "order_1")).WantJSON(t, 200, okBody(900, false))
	// Same reference, another partner: an independent deduct, even with
	// other parameters.
	s.PayShards(t, "POST", "/deduct", b.APIKey, cmd(user, 100, "order_1")).WantJSON(t, 200, okBody(800, false))
	s.PayShards(t, "POST", "/deduct", b.APIKey, cmd(user, 100, "order_1")).WantJSON(t, 200, okBody(800, true))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 100, "order_1")).WantJSON(t, 200, okBody(900, true))
	other := s.NewUser(t, 50)
	c := s.NewPartner(t, "payshards")
	s.PayShards(t, "POST", "/deduct", c.APIKey, cmd(other, 7, "order_1")).WantJSON(t, 200, okBody(43, false))
	s.WantBalance(t, a.APIKey, user, 800)

	// Refund references are per partner as well.
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 100, "rf_1")).WantJSON(t, 200, okBody(900, false))
	s.PayShards(t, "POST", "/refund", b.APIKey, cmd(user, 100, "rf_1")).WantJSON(t, 200, okBody(1000, false))
	s.WantBalance(t, a.APIKey, user, 1000)
}

func TestIdempotency_DeductAndRefundIndependent(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 300, "R")).WantJSON(t, 200, okBody(700, false))
	// Refund with the same reference (as the spec suggests) and another amount.
	s.PayShards(t, "POST", "/refund", p.APIKey, cmd(user, 100, "R")).WantJSON(t, 200, okBody(800, false))
	s.PayShards(t, "POST", "/refund", p.APIKey, cmd(user, 100, "R")).WantJSON(t, 200, okBody(800, true))
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 300, "R")).WantJSON(t, 200, okBody(700, true))
	s.WantBalance(t, p.APIKey, user, 800)
}

func TestRefund_Success(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.Credit(t, "u_123", 1500, "topup_1")
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd("u_123", 250, "order_abc_001")).WantJSON(t, 200, okBody(1250, false))
	s.PayShards(t, "POST", "/refund", p.APIKey, `{"userId":"u_123","amount":250,"reference":"refund_abc_001"}`).
		WantJSON(t, http.StatusOK, `{"success":true,"newBalance":1500,"idempotent":false}`)
	s.WantBalance(t, p.APIKey, "u_123", 1500)
	// Retry: same result, no second credit.
	s.PayShards(t, "POST", "/refund", p.APIKey, `{"userId":"u_123","amount":250,"reference":"refund_abc_001"}`).
		WantJSON(t, http.StatusOK, `{"success":true,"newBalance":1500,"idempotent":true}`)
	s.WantBalance(t, p.APIKey, "u_123", 1500)
}

func TestRefund_ExceedsDeducted(t *testing.T) {
	s := apitest.Start(t)
	a := s.NewPartner(t, "payshards")
	b := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	fresh := s.NewUser(t, 1000)
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 250, "d1")).WantJSON(t, 200, okBody(750, false))
	balance := int64(750)

	steps := []struct {
		name    string
		key     string
		user    string
		amount  int64
		status  int
		body    string
		balance int64 // of user, after the step
	}{
		{"more than deducted", a.APIKey, user, 251, 409, refundExceeds(250), 750},
		{"partner B refunds A's deduct", b.APIKey, user, 1, 409, refundExceeds(0), 750},
		{"part of it", a.APIKey, user, 100, 200, okBody(850, false), 850},
		{"rest plus one", a.APIKey, user, 151, 409, refundExceeds(150), 850},
		{"exactly the rest", a.APIKey, user, 150, 200, okBody(1000, false), 1000},
		{"nothing left", a.APIKey, user, 1, 409, refundExceeds(0), 1000},
		{"never deducted from this user", a.APIKey, fresh, 1, 409, refundExceeds(0), 1000},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			s.PayShards(t, "POST", "/refund", st.key, cmd(st.user, st.amount, apitest.Unique("rf_"))).WantJSON(t, st.status, st.body)
			if st.user == user {
				balance = st.balance
			}
			s.WantBalance(t, a.APIKey, user, balance)
			s.WantBalance(t, a.APIKey, fresh, 1000)
		})
	}

	// B's own deduct is B's to refund; it does not open A's allowance.
	s.PayShards(t, "POST", "/deduct", b.APIKey, cmd(user, 300, "bd")).WantJSON(t, 200, okBody(700, false))
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 1, "ar")).WantJSON(t, 409, refundExceeds(0))
	s.PayShards(t, "POST", "/refund", b.APIKey, cmd(user, 300, "br")).WantJSON(t, 200, okBody(1000, false))

	// A refund_exceeds outcome is bound to its reference like a 402.
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 10, "bound")).WantJSON(t, 409, refundExceeds(0))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 50, "d2")).WantJSON(t, 200, okBody(950, false))
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 10, "bound")).WantJSON(t, 409, refundExceeds(0))
	s.WantBalance(t, a.APIKey, user, 950)
}

func TestUsers_GlobalAcrossPartners(t *testing.T) {
	s := apitest.Start(t)
	var ps []apitest.Partner
	for range 3 {
		ps = append(ps, s.NewPartner(t, "payshards"))
	}
	s.Credit(t, "u_global", 1500, "topup_g")
	for _, p := range ps {
		s.PayShards(t, "GET", "/balance?userId=u_global", p.APIKey, nil).WantJSON(t, 200, `{"userId":"u_global","balance":1500}`)
	}
	s.PayShards(t, "POST", "/deduct", ps[0].APIKey, cmd("u_global", 500, "x")).WantJSON(t, 200, okBody(1000, false))
	s.PayShards(t, "POST", "/deduct", ps[1].APIKey, cmd("u_global", 400, "x")).WantJSON(t, 200, okBody(600, false))
	for _, p := range ps {
		s.WantBalance(t, p.APIKey, "u_global", 600)
	}
	s.PayShards(t, "POST", "/deduct", ps[2].APIKey, cmd("u_global", 601, "x")).WantJSON(t, 402, insufficient(600))
}

func TestDeduct_ConcurrentSameReference(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1500)
	const n = 100
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.Request("POST", "/payshards/api/partner/deduct", apitest.APIKey(p.APIKey), cmd(user, 250, "same"))
	})
	fresh := 0
	for i, r := range resps {
		switch {
		case r.SameJSON(200, okBody(1250, false)):
			fresh++
		case r.SameJSON(200, okBody(1250, true)):
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if fresh != 1 {
		t.Errorf("%d responses with idempotent:false, want exactly 1", fresh)
	}
	s.WantBalance(t, p.APIKey, user, 1250)
	if err := s.Sys.CheckConsistency(); err != nil {
		t.Error(err)
	}
}

func TestDeduct_ConcurrentNeverNegative(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	const n = 50
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.Request("POST", "/payshards/api/partner/deduct", apitest.APIKey(p.APIKey), cmd(user, 100, fmt.Sprint("ref_", i)))
	})
	ok, poor := 0, 0
	seen := map[int64]bool{}
	for i, r := range resps {
		switch r.Status {
		case 200:
			nb := r.Int(t, "newBalance")
			if seen[nb] || nb < 0 || nb > 900 || nb%100 != 0 {
				t.Errorf("request %d: newBalance %d (duplicate or out of range): %s", i, nb, r.Body)
			}
			seen[nb] = true
			ok++
		case 402:
			if !r.SameJSON(402, insufficient(0)) {
				t.Errorf("request %d: %s", i, r.Body)
			}
			poor++
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 10 || poor != 40 {
		t.Errorf("%d succeeded and %d got 402, want 10 and 40", ok, poor)
	}
	s.WantBalance(t, p.APIKey, user, 0)
	if err := s.Sys.CheckConsistency(); err != nil {
		t.Error(err)
	}
}

func TestRefund_ConcurrentNeverExceedsDeducted(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	s.PayShards(t, "POST", "/deduct", p.APIKey, cmd(user, 500, "d")).WantJSON(t, 200, okBody(500, false))
	const n = 20
	resps := apitest.Concurrently(t, n, func(i int) (*apitest.Response, error) {
		return s.Request("POST", "/payshards/api/partner/refund", apitest.APIKey(p.APIKey), cmd(user, 100, fmt.Sprint("rf_", i)))
	})
	ok := 0
	for i, r := range resps {
		switch {
		case r.Status == 200:
			ok++
		case r.SameJSON(409, refundExceeds(0)):
		default:
			t.Errorf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if ok != 5 {
		t.Errorf("%d refunds succeeded, want 5", ok)
	}
	s.WantBalance(t, p.APIKey, user, 1000)
}

func TestRateLimit_Exceeded(t *testing.T) {
	s := apitest.Start(t)
	limited := s.CreatePartner(t, "payshards", "Slow", 3)
	other := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)

	s.PayShards(t, "GET", "/balance?userId="+user, limited.APIKey, nil).WantStatus(t, 200)
	s.PayShards(t, "POST", "/deduct", limited.APIKey, cmd(user, 100, "d1")).WantJSON(t, 200, okBody(900, false))
	s.PayShards(t, "POST", "/refund", limited.APIKey, cmd(user, 50, "r1")).WantJSON(t, 200, okBody(950, false))
	for _, tc := range []struct{ name, method, path, body string }{
		{"deduct", "POST", "/deduct", cmd(user, 100, "d2")},
		{"refund", "POST", "/refund", cmd(user, 50, "r2")},
		{"balance", "GET", "/balance?userId=" + user, ""},
		{"retry of an earlier reference", "POST", "/deduct", cmd(user, 100, "d1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != "" {
				body = tc.body
			}
			r := s.PayShards(t, tc.method, tc.path, limited.APIKey, body)
			r.WantJSON(t, http.StatusTooManyRequests, `{"error":"rate_limited"}`)
			ra := r.Header.Get("Retry-After")
			secs, err := strconv.Atoi(ra)
			if err != nil || secs < 1 || secs > 60 {
				t.Errorf("Retry-After %q, want an integer from 1 to 60", ra)
			}
			// Nothing changed, and other partners are not limited.
			s.WantBalance(t, other.APIKey, user, 950)
		})
	}
	// A 429 binds nothing: after a restart (limiter windows are not
	// persisted) the refused references d2 and r2 are still free.
	s.Restart(t)
	s.PayShards(t, "POST", "/deduct", limited.APIKey, cmd(user, 100, "d2")).WantJSON(t, 200, okBody(850, false))
	s.PayShards(t, "POST", "/refund", limited.APIKey, cmd(user, 50, "r2")).WantJSON(t, 200, okBody(900, false))
}

func TestRateLimit_PerPartner(t *testing.T) {
	s := apitest.Start(t)
	a := s.CreatePartner(t, "payshards", "A", 3)
	b := s.CreatePartner(t, "payshards", "B", 3)
	user := s.NewUser(t, 1)
	for range 3 {
		s.PayShards(t, "GET", "/balance?userId="+user, a.APIKey, nil).WantStatus(t, 200)
	}
	s.PayShards(t, "GET", "/balance?userId="+user, a.APIKey, nil).WantJSON(t, 429, `{"error":"rate_limited"}`)
	for range 3 {
		s.PayShards(t, "GET", "/balance?userId="+user, b.APIKey, nil).WantStatus(t, 200)
	}
	s.PayShards(t, "GET", "/balance?userId="+user, b.APIKey, nil).WantJSON(t, 429, `{"error":"rate_limited"}`)
}

func TestRestart_StateAndIdempotencySurvive(t *testing.T) {
	s := apitest.Start(t)
	a := s.NewPartner(t, "payshards")
	b := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	poor := s.NewUser(t, 10)
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 300, "R")).WantJSON(t, 200, okBody(700, false))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 100, "R2")).WantJSON(t, 200, okBody(600, false))
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 50, "RF")).WantJSON(t, 200, okBody(650, false))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(poor, 20, "P")).WantJSON(t, 402, insufficient(10))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd("ghost_r", 20, "G")).WantJSON(t, 404, `{"error":"unknown_user"}`)
	s.SetPartnerStatus(t, b.ID, "inactive")

	for round := range 2 {
		t.Run(fmt.Sprint("restart ", round+1), func(t *testing.T) {
			s.Restart(t)
			s.WantBalance(t, a.APIKey, user, 650)
			s.WantBalance(t, a.APIKey, poor, 10)
			s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 300, "R")).WantJSON(t, 200, okBody(700, true))
			s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 50, "RF")).WantJSON(t, 200, okBody(650, true))
			s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(user, 301, "R")).WantJSON(t, 409, conflict)
			s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(poor, 20, "P")).WantJSON(t, 402, insufficient(10))
			s.PayShards(t, "POST", "/deduct", a.APIKey, cmd("ghost_r", 20, "G")).WantJSON(t, 404, `{"error":"unknown_user"}`)
			s.PayShards(t, "GET", "/balance?userId="+user, b.APIKey, nil).WantJSON(t, 403, `{"error":"partner_inactive"}`)
			// What A may still refund survives too: 400 deducted, 50 refunded.
			s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 351, apitest.Unique("rf_"))).WantJSON(t, 409, refundExceeds(350))
			s.WantBalance(t, a.APIKey, user, 650)
		})
	}
	// After the restarts the ledger still moves.
	s.Credit(t, poor, 100, apitest.Unique("topup_"))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(poor, 20, "P")).WantJSON(t, 402, insufficient(10))
	s.PayShards(t, "POST", "/deduct", a.APIKey, cmd(poor, 20, "P2")).WantJSON(t, 200, okBody(90, false))
	s.PayShards(t, "POST", "/refund", a.APIKey, cmd(user, 350, "all")).WantJSON(t, 200, okBody(1000, false))
}

func TestRouting_UnknownPathAndMethod(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	s.PayShards(t, "GET", "/nothing", p.APIKey, nil).WantStatus(t, http.StatusNotFound)
	s.PayShards(t, "GET", "/deduct", p.APIKey, nil).WantStatus(t, http.StatusMethodNotAllowed)
	s.PayShards(t, "POST", "/balance?userId=u", p.APIKey, "{}").WantStatus(t, http.StatusMethodNotAllowed)
}

// Deducts racing with the credit that creates the user: each gets a
// coherent answer (404 before the user exists, 200 or 402 after) and the
// final balance accounts for exactly the 200s.
func TestDeduct_ConcurrentWithFirstCredit(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	for round := range 5 {
		user := fmt.Sprint("late_", round)
		const n = 40
		resps := make([]*apitest.Response, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resps[i], errs[i] = s.Request("POST", "/payshards/api/partner/deduct", apitest.APIKey(p.APIKey), cmd(user, 10, fmt.Sprint(user, "_d", i)))
			})
		}
		var credit *apitest.Response
		var creditErr error
		wg.Go(func() {
			credit, creditErr = s.Request("POST", "/admin/payshards/users/"+user+"/credit", apitest.Bearer(s.AdminToken), `{"amount":300,"reference":"topup_`+user+`"}`)
		})
		wg.Wait()
		if creditErr != nil || !credit.SameJSON(200, fmt.Sprintf(`{"userId":%q,"balance":300}`, user)) {
			t.Fatalf("credit: %v %+v", creditErr, credit)
		}
		ok := 0
		for i, r := range resps {
			if errs[i] != nil {
				t.Fatalf("request %d: %v", i, errs[i])
			}
			switch {
			case r.Status == 200:
				ok++
			case r.SameJSON(404, `{"error":"unknown_user"}`), r.SameJSON(402, insufficient(0)):
			default:
				t.Errorf("request %d: %d %s", i, r.Status, r.Body)
			}
		}
		s.WantBalance(t, p.APIKey, user, 300-10*int64(ok))
		if err := s.Sys.CheckConsistency(); err != nil {
			t.Error(err)
		}
	}
}
