package apitest

import (
	"encoding/base64"
	"net/http"
	"testing"

	"ledgerd/api/paysmart"
)

// Basic returns HTTP Basic credentials with key as the user name and an
// empty password (Stripe's habit, PaySmart's auth).
func Basic(key string) Header {
	return Header{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(key+":"))}
}

// PaySmartAccount is an account as the admin API returned it at creation,
// with its four keys.
type PaySmartAccount struct {
	ID   string
	Name string
	Keys paysmart.Keys
}

// NewPaySmartAccount creates a PaySmart account with a unique name through
// POST /admin/paysmart/accounts and fails the test unless it gets 201.
func (s *Server) NewPaySmartAccount(t testing.TB) PaySmartAccount {
	t.Helper()
	r := s.Admin(t, "POST", "/paysmart/accounts", map[string]string{"name": Unique("Shop ")})
	if r.Status != http.StatusCreated {
		t.Fatalf("apitest: create paysmart account: %d %s", r.Status, r.Body)
	}
	keys, _ := r.JSON(t)["keys"].(map[string]any)
	str := func(k string) string { v, _ := keys[k].(string); return v }
	return PaySmartAccount{ID: r.Str(t, "id"), Name: r.Str(t, "name"), Keys: paysmart.Keys{
		SecretTest: str("secret_test"), PublishableTest: str("publishable_test"),
		SecretLive: str("secret_live"), PublishableLive: str("publishable_live")}}
}

// PaySmart sends a request to the PaySmart API with key in HTTP Basic (no
// Authorization header when key is ""); path is below /paysmart/v2 (e.g.
// "/payments"). A string body is sent as is with the Content-Type of the
// extra headers (default application/json). Extra headers are added.
func (s *Server) PaySmart(t testing.TB, method, path, key string, body any, headers ...Header) *Response {
	t.Helper()
	return s.Do(t, method, paysmart.Base+path, paySmartHeader(key, headers), body)
}

// PaySmartRequest is PaySmart that returns an error instead of failing the
// test, for use from other goroutines.
func (s *Server) PaySmartRequest(method, path, key string, body any, headers ...Header) (*Response, error) {
	return s.Request(method, paysmart.Base+path, paySmartHeader(key, headers), body)
}

// Form is the Content-Type header of a form-encoded body.
func Form() Header { return Header{"Content-Type": "application/x-www-form-urlencoded"} }

func paySmartHeader(key string, extra []Header) Header {
	h := Header{}
	if key != "" {
		h = Basic(key)
	}
	for _, e := range extra {
		for k, v := range e {
			h[k] = v
		}
	}
	return h
}
