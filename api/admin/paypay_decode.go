package admin

import (
	"errors"
	"fmt"

	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
	"ledgerd/engine"
)

// Limits of PayPay.cards code issuing.
const (
	MaxIssueCount            = 10_000 // codes per POST, as the issue asks
	MaxTierChars             = 64
	MaxEntitlementLabelChars = 200
)

// IssueCodes is a decoded request to issue a batch of PayPay.cards codes.
type IssueCodes struct {
	Count            int
	Tier             string
	EntitlementLabel string
	ExpiresMs        int64 // Unix milliseconds
}

// PartnerPatch is a decoded PATCH /admin/partners/{id} body. A zero field
// was not given: Status "" keeps the status, RateLimit 0 the rate limit.
type PartnerPatch struct {
	Status    string // engine.StatusActive or engine.StatusInactive
	RateLimit int64  // 1..MaxRateLimit per minute
}

// DecodeIssueCodes parses
//
//	{"count":100,"tier":"month","entitlement_label":"1 month","expires_at":"2026-04-25T14:25:01.798Z"}
//
// count is a JSON integer literal from 1 to MaxIssueCount, tier 1 to
// MaxTierChars and entitlement_label 1 to MaxEntitlementLabelChars printable
// characters, expires_at an RFC 3339 time (paypay.ParseTime). All four are
// required; unknown or repeated fields are refused. Whether expires_at lies
// in the future is the caller's check: decoding reads no clock.
func DecodeIssueCodes(body []byte) (IssueCodes, error) {
	var c IssueCodes
	var haveExpiry bool
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "count":
			var n int64
			n, err = httpx.Integer(v, 1, MaxIssueCount)
			c.Count = int(n)
		case "tier":
			c.Tier, err = httpx.PrintableString(v, MaxTierChars)
		case "entitlement_label":
			c.EntitlementLabel, err = httpx.PrintableString(v, MaxEntitlementLabelChars)
		case "expires_at":
			c.ExpiresMs, err = decodeTime(v)
			haveExpiry = true
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err == nil && (c.Count == 0 || c.Tier == "" || c.EntitlementLabel == "" || !haveExpiry) {
		err = errors.New("count, tier, entitlement_label and expires_at are required")
	}
	if err != nil {
		return IssueCodes{}, invalid(err)
	}
	return c, nil
}

func decodeTime(v httpx.Value) (int64, error) {
	if v.Kind != httpx.KindString {
		return 0, paypay.ErrBadTime
	}
	return paypay.ParseTime(string(v.Str))
}

// DecodePartnerPatch parses {"status":"active"|"inactive",
// "rateLimitPerMinute":N}: each member optional (N a JSON integer literal
// from 1 to MaxRateLimit), at least one given, nothing else.
func DecodePartnerPatch(body []byte) (PartnerPatch, error) {
	var p PartnerPatch
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "status":
			p.Status, err = decodeStatus(v)
		case "rateLimitPerMinute":
			p.RateLimit, err = httpx.Integer(v, 1, MaxRateLimit)
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
	if err == nil && p == (PartnerPatch{}) {
		err = errors.New("status or rateLimitPerMinute is required")
	}
	if err != nil {
		return PartnerPatch{}, invalid(err)
	}
	return p, nil
}

func decodeStatus(v httpx.Value) (string, error) {
	if v.Kind == httpx.KindString {
		switch string(v.Str) {
		case engine.StatusActive:
			return engine.StatusActive, nil
		case engine.StatusInactive:
			return engine.StatusInactive, nil
		}
	}
	return "", fmt.Errorf("must be %q or %q", engine.StatusActive, engine.StatusInactive)
}
