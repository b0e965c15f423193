package admin

import (
	"encoding/json"
	"testing"

	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
	"ledgerd/engine"
)

func FuzzDecodeIssueCodes(f *testing.F) {
	for _, s := range []string{
		`{"count":100,"tier":"month","entitlement_label":"1 month","expires_at":"2026-04-25T14:25:01.798Z"}`,
		`{"count":10000,"tier":"t","entitlement_label":"l","expires_at":"2026-04-25T16:25:01+02:00"}`,
		`{"count":10001,"tier":"t","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z"}`,
		`{"count":1,"tier":"t","entitlement_label":"l","expires_at":"2026-02-30T14:25:01Z"}`,
		`{"count":1.0,"tier":"t","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z"}`,
		`{"count":1,"tier":"","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z"}`,
		`{"count":1,"tier":"t","entitlement_label":"l"}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeIssueCodes(body)
		if err != nil {
			if c != (IssueCodes{}) {
				t.Fatalf("partial result with error: %+v", c)
			}
			return
		}
		if c.Count < 1 || c.Count > MaxIssueCount || !httpx.Printable([]byte(c.Tier), MaxTierChars) ||
			!httpx.Printable([]byte(c.EntitlementLabel), MaxEntitlementLabelChars) ||
			c.ExpiresMs < paypay.MinTimeMs || c.ExpiresMs > paypay.MaxTimeMs {
			t.Fatalf("accepted %q as %+v", body, c)
		}
		var std struct {
			Count            int
			Tier             string
			EntitlementLabel string `json:"entitlement_label"`
			ExpiresAt        string `json:"expires_at"`
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, encoding/json: %v", body, err)
		}
		if std.Count != c.Count || std.Tier != c.Tier || std.EntitlementLabel != c.EntitlementLabel {
			t.Fatalf("accepted %q as %+v, encoding/json reads %+v", body, c, std)
		}
		if ms, err := paypay.ParseTime(std.ExpiresAt); err != nil || ms != c.ExpiresMs {
			t.Fatalf("expires_at %q: %d, ParseTime %d %v", std.ExpiresAt, c.ExpiresMs, ms, err)
		}
	})
}

func FuzzDecodePartnerPatch(f *testing.F) {
	for _, s := range []string{
		`{"status":"active"}`, `{"status":"inactive","rateLimitPerMinute":60}`, `{"rateLimitPerMinute":0}`,
		`{"rateLimitPerMinute":100000001}`, `{"status":"x"}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := DecodePartnerPatch(body)
		if err != nil {
			if p != (PartnerPatch{}) {
				t.Fatalf("partial result with error: %+v", p)
			}
			return
		}
		if p == (PartnerPatch{}) {
			t.Fatalf("accepted %q with nothing to change", body)
		}
		if p.Status != "" && p.Status != engine.StatusActive && p.Status != engine.StatusInactive {
			t.Fatalf("accepted %q with status %q", body, p.Status)
		}
		if p.RateLimit != 0 && (p.RateLimit < 1 || p.RateLimit > MaxRateLimit) {
			t.Fatalf("accepted %q with rate limit %d", body, p.RateLimit)
		}
	})
}
