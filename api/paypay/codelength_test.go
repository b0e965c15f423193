package paypay_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/paypay"
)

// TestCode_LengthRule pins the rule docs/api/paypay-cards.md states: a
// code of 1..MaxCodeChars printable characters after trimming and
// upper-casing is looked up (a malformed one is not_found, and audited);
// a longer one does not match the body's schema: 400 invalid_body, no
// audit record, the code untouched.
func TestCode_LengthRule(t *testing.T) {
	s, _ := start(t, apitest.Options{})
	p := s.NewPayPayPartner(t, 0)
	expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	code := s.IssueCode(t, p.ID, expires)

	longest := strings.Repeat("x", paypay.MaxCodeChars)
	wantInvalid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(longest)), paypay.CodeNotFound)
	wantRefused(t, s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(" \t"+longest+"\n")), paypay.CodeNotFound, "")

	tooLong := longest + "x"
	for _, path := range []string{"/validate", "/redeem"} {
		for _, c := range []string{tooLong, code + strings.Repeat("X", paypay.MaxCodeChars)} {
			r := s.PayPay(t, "POST", path, p.APIKey, codeBody(c), idemKey("len_"+path))
			wantEnvelope(t, r, http.StatusBadRequest, "", paypay.CodeInvalidBody, paypay.MsgInvalidBody)
		}
	}
	// Only the two well-formed lookups were audited, and the real code is
	// still valid and redeemable under the key the 400s did not bind.
	got := allAttempts(t, s, p.APIKey)
	if len(got) != 2 || got[0].Outcome != paypay.CodeNotFound || got[1].Outcome != paypay.CodeNotFound {
		t.Fatalf("audit %+v, want the two not_found lookups only", got)
	}
	wantValid(t, s.PayPay(t, "POST", "/validate", p.APIKey, codeBody(code)), expires)
	r := s.PayPay(t, "POST", "/redeem", p.APIKey, codeBody(code), idemKey("len_/redeem"))
	if r.Status != http.StatusOK || r.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("redeem after the 400s: %d %v %s", r.Status, r.Header, r.Body)
	}
}
