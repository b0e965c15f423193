package apitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// PayPayBase is the PayPay.cards API's path prefix.
const PayPayBase = "/paypay/api/v1"

// Clock is a clock a test moves by hand: pass its Now as Options.Now. It
// is safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// Advance moves the clock forward by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// PayPay sends a request to the PayPay.cards API with key as a Bearer token
// (no Authorization header when key is ""); path is below /paypay/api/v1
// (e.g. "/redeem"). Extra headers are added (and win over Authorization).
func (s *Server) PayPay(t testing.TB, method, path, key string, body any, headers ...Header) *Response {
	t.Helper()
	return s.Do(t, method, PayPayBase+path, payPayHeader(key, headers), body)
}

// PayPayRequest is PayPay that returns an error instead of failing the
// test, for use from other goroutines.
func (s *Server) PayPayRequest(method, path, key string, body any, headers ...Header) (*Response, error) {
	return s.Request(method, PayPayBase+path, payPayHeader(key, headers), body)
}

func payPayHeader(key string, headers []Header) Header {
	h := Header{}
	if key != "" {
		h["Authorization"] = "Bearer " + key
	}
	for _, x := range headers {
		for k, v := range x {
			h[k] = v
		}
	}
	return h
}

// NewPayPayPartner creates an active PayPay.cards partner with a unique
// name and rateLimit requests per minute per key (0: HighRateLimit).
func (s *Server) NewPayPayPartner(t testing.TB, rateLimit int64) Partner {
	t.Helper()
	if rateLimit == 0 {
		rateLimit = HighRateLimit
	}
	return s.CreatePartner(t, "paypay", Unique("PayPay partner "), rateLimit)
}

// Codes is the answer to POST /admin/paypay/partners/{id}/codes.
type Codes struct {
	PartnerID        string   `json:"partner_id"`
	Tier             string   `json:"tier"`
	EntitlementLabel string   `json:"entitlement_label"`
	ExpiresAt        string   `json:"expires_at"`
	Codes            []string `json:"codes"`
}

// IssueCodes issues count codes of tier/label expiring at expires to a
// partner through the admin API and fails the test unless it gets 201
// with count codes.
func (s *Server) IssueCodes(t testing.TB, partnerID string, count int, tier, label string, expires time.Time) Codes {
	t.Helper()
	r := s.Admin(t, "POST", "/paypay/partners/"+url.PathEscape(partnerID)+"/codes", map[string]any{
		"count": count, "tier": tier, "entitlement_label": label, "expires_at": expires.UTC().Format(time.RFC3339Nano),
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("apitest: issue %d codes to %s: %d %s", count, partnerID, r.Status, r.Body)
	}
	var c Codes
	if err := json.Unmarshal(r.Body, &c); err != nil {
		t.Fatalf("apitest: issue codes: decode %s: %v", r.Body, err)
	}
	if len(c.Codes) != count {
		t.Fatalf("apitest: issue %d codes: got %d", count, len(c.Codes))
	}
	return c
}

// IssueCode issues one code ("month", "1 month") expiring at expires.
func (s *Server) IssueCode(t testing.TB, partnerID string, expires time.Time) string {
	t.Helper()
	return s.IssueCodes(t, partnerID, 1, "month", "1 month", expires).Codes[0]
}

// AddKey gives a partner a new API key through the admin API and returns
// its id and the key; it fails the test unless it gets 201.
func (s *Server) AddKey(t testing.TB, partnerID string) (id, key string) {
	t.Helper()
	r := s.Admin(t, "POST", "/partners/"+url.PathEscape(partnerID)+"/keys", nil)
	if r.Status != http.StatusCreated {
		t.Fatalf("apitest: add key to %s: %d %s", partnerID, r.Status, r.Body)
	}
	return r.Str(t, "id"), r.Str(t, "apiKey")
}

// KeyIDs lists a partner's key ids (oldest first) through the admin API.
func (s *Server) KeyIDs(t testing.TB, partnerID string) []string {
	t.Helper()
	r := s.Admin(t, "GET", "/partners/"+url.PathEscape(partnerID)+"/keys", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("apitest: list keys of %s: %d %s", partnerID, r.Status, r.Body)
	}
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil {
		t.Fatalf("apitest: list keys: decode %s: %v", r.Body, err)
	}
	ids := make([]string, len(out.Data))
	for i, k := range out.Data {
		ids[i] = k.ID
	}
	return ids
}
