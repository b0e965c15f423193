package admin

import (
	"errors"
	"strings"
	"testing"

	"ledgerd/api/paypay"
	"ledgerd/engine"
)

func TestDecodeIssueCodes(t *testing.T) {
	const expires = int64(1777127101798) // 2026-04-25T14:25:01.798Z
	valid := []struct {
		body string
		want IssueCodes
	}{
		{`{"count":100,"tier":"month","entitlement_label":"1 month","expires_at":"2026-04-25T14:25:01.798Z"}`,
			IssueCodes{Count: 100, Tier: "month", EntitlementLabel: "1 month", ExpiresMs: expires}},
		{`{"expires_at":"2026-04-25T16:25:01.798+02:00","entitlement_label":"1 Monat ü","tier":"month","count":1}`,
			IssueCodes{Count: 1, Tier: "month", EntitlementLabel: "1 Monat ü", ExpiresMs: expires}},
		{`{"count":10000,"tier":"` + strings.Repeat("t", MaxTierChars) + `","entitlement_label":"` + strings.Repeat("é", MaxEntitlementLabelChars) + `","expires_at":"2026-04-25T14:25:01Z"}`,
			IssueCodes{Count: MaxIssueCount, Tier: strings.Repeat("t", MaxTierChars), EntitlementLabel: strings.Repeat("é", MaxEntitlementLabelChars), ExpiresMs: expires - 798}},
		// A time in the past decodes: the handler compares it with its clock.
		{`{"count":5,"tier":"t","entitlement_label":"l","expires_at":"1970-01-01T00:00:00Z"}`,
			IssueCodes{Count: 5, Tier: "t", EntitlementLabel: "l", ExpiresMs: 0}},
	}
	for _, tc := range valid {
		got, err := DecodeIssueCodes([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%.90s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
	ok := func(field, value string) string {
		m := map[string]string{"count": `3`, "tier": `"month"`, "entitlement_label": `"1 month"`, "expires_at": `"2026-04-25T14:25:01.798Z"`}
		m[field] = value
		var b strings.Builder
		b.WriteString("{")
		for i, k := range []string{"count", "tier", "entitlement_label", "expires_at"} {
			if m[k] == "" {
				continue
			}
			if i > 0 && b.Len() > 1 {
				b.WriteString(",")
			}
			b.WriteString(`"` + k + `":` + m[k])
		}
		return b.String() + "}"
	}
	invalid := map[string]string{
		"empty":              ``,
		"empty object":       `{}`,
		"missing count":      ok("count", ""),
		"missing tier":       ok("tier", ""),
		"missing label":      ok("entitlement_label", ""),
		"missing expires_at": ok("expires_at", ""),
		"count 0":            ok("count", `0`),
		"count negative":     ok("count", `-1`),
		"count 10001":        ok("count", `10001`),
		"count float":        ok("count", `3.0`),
		"count exponent":     ok("count", `3e0`),
		"count string":       ok("count", `"3"`),
		"count null":         ok("count", `null`),
		"count huge":         ok("count", strings.Repeat("9", 30)),
		"tier empty":         ok("tier", `""`),
		"tier too long":      ok("tier", `"`+strings.Repeat("t", MaxTierChars+1)+`"`),
		"tier control":       ok("tier", `"a\nb"`),
		"tier number":        ok("tier", `1`),
		"tier null":          ok("tier", `null`),
		"label empty":        ok("entitlement_label", `""`),
		"label too long":     ok("entitlement_label", `"`+strings.Repeat("l", MaxEntitlementLabelChars+1)+`"`),
		"label control":      ok("entitlement_label", `"a\u0000"`),
		"expires number":     ok("expires_at", `1777127101798`),
		"expires null":       ok("expires_at", `null`),
		"expires empty":      ok("expires_at", `""`),
		"expires no offset":  ok("expires_at", `"2026-04-25T14:25:01.798"`),
		"expires date only":  ok("expires_at", `"2026-04-25"`),
		"expires bad date":   ok("expires_at", `"2026-02-30T00:00:00Z"`),
		"expires space":      ok("expires_at", `"2026-04-25 14:25:01Z"`),
		"unknown field":      `{"count":3,"tier":"m","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z","api":"paypay"}`,
		"camel case field":   `{"count":3,"tier":"m","entitlementLabel":"l","expires_at":"2026-04-25T14:25:01Z"}`,
		"duplicate count":    `{"count":3,"count":4,"tier":"m","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z"}`,
		"duplicate expires":  `{"count":3,"tier":"m","entitlement_label":"l","expires_at":"2026-04-25T14:25:01Z","expires_at":"2026-04-25T14:25:01Z"}`,
		"trailing garbage":   ok("count", `3`) + `x`,
		"nested":             ok("tier", `{"a":1}`),
		"array":              `[` + ok("count", `3`) + `]`,
	}
	for name, body := range invalid {
		got, err := DecodeIssueCodes([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %s as %+v", name, body, got)
		} else if !errors.Is(err, ErrInvalid) || got != (IssueCodes{}) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	if _, err := DecodeIssueCodes([]byte(ok("expires_at", `"2026-02-30T00:00:00Z"`))); !errors.Is(err, paypay.ErrBadTime) {
		t.Errorf("bad time: %v does not wrap paypay.ErrBadTime", err)
	}
}

func TestDecodePartnerPatch(t *testing.T) {
	valid := map[string]PartnerPatch{
		`{"status":"active"}`:                                {Status: engine.StatusActive},
		`{"status":"inactive"}`:                              {Status: engine.StatusInactive},
		`{"rateLimitPerMinute":60}`:                          {RateLimit: 60},
		`{"rateLimitPerMinute":1}`:                           {RateLimit: 1},
		`{"rateLimitPerMinute":100000000}`:                   {RateLimit: MaxRateLimit},
		`{"status":"inactive","rateLimitPerMinute":600}`:     {Status: engine.StatusInactive, RateLimit: 600},
		` { "rateLimitPerMinute" : 5 , "status":"active" } `: {Status: engine.StatusActive, RateLimit: 5},
		`{"status":"\u0061ctive"}`:                           {Status: engine.StatusActive},
	}
	for body, want := range valid {
		if got, err := DecodePartnerPatch([]byte(body)); err != nil || got != want {
			t.Errorf("%s: %+v, %v; want %+v", body, got, err, want)
		}
	}
	invalid := map[string]string{
		"empty":               ``,
		"empty object":        `{}`,
		"unknown status":      `{"status":"suspended"}`,
		"status case":         `{"status":"Active"}`,
		"status empty":        `{"status":""}`,
		"status null":         `{"status":null}`,
		"status number":       `{"status":1}`,
		"status padded":       `{"status":" active"}`,
		"rate 0":              `{"rateLimitPerMinute":0}`,
		"rate negative":       `{"rateLimitPerMinute":-60}`,
		"rate above max":      `{"rateLimitPerMinute":100000001}`,
		"rate float":          `{"rateLimitPerMinute":60.0}`,
		"rate exponent":       `{"rateLimitPerMinute":6e1}`,
		"rate string":         `{"rateLimitPerMinute":"60"}`,
		"rate null":           `{"rateLimitPerMinute":null}`,
		"rate ok, bad status": `{"rateLimitPerMinute":60,"status":"x"}`,
		"unknown field":       `{"status":"active","name":"x"}`,
		"only unknown":        `{"name":"x"}`,
		"snake case rate":     `{"rate_limit_per_minute":60}`,
		"duplicate status":    `{"status":"active","status":"inactive"}`,
		"duplicate rate":      `{"rateLimitPerMinute":1,"rateLimitPerMinute":2}`,
		"trailing garbage":    `{"status":"active"}x`,
	}
	for name, body := range invalid {
		got, err := DecodePartnerPatch([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		} else if !errors.Is(err, ErrInvalid) || got != (PartnerPatch{}) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
}

// TestPartnerPatchAgreesWithPatchPartner: on status-only bodies, the old
// decoder and the new one accept and refuse the same bodies.
func TestPartnerPatchAgreesWithPatchPartner(t *testing.T) {
	for _, body := range []string{`{"status":"active"}`, `{"status":"inactive"}`, `{"status":"x"}`, `{}`, `{"status":null}`,
		`{"status":"active","status":"active"}`, `{"status":1}`, ``} {
		old, oldErr := DecodePatchPartner([]byte(body))
		p, err := DecodePartnerPatch([]byte(body))
		if (oldErr == nil) != (err == nil) || old != p.Status {
			t.Errorf("%s: DecodePatchPartner %q %v, DecodePartnerPatch %+v %v", body, old, oldErr, p, err)
		}
	}
}
