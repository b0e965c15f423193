package admin

import (
	"testing"

	"ledgerd/api/httpx"
	"ledgerd/engine"
)

func FuzzDecodeCreatePartner(f *testing.F) {
	for _, s := range []string{
		`{"api":"payshards","name":"Shop"}`, `{"api":"payshards","name":"S","rateLimitPerMinute":60}`,
		`{"api":"payshards","name":"S","rateLimitPerMinute":0}`, `{"api":"x","name":"S"}`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCreatePartner(body)
		if err != nil {
			return
		}
		if _, known := knownAPIs[c.API]; !known || !httpx.Printable([]byte(c.Name), engine.MaxNameLen) || c.RateLimit < 1 || c.RateLimit > MaxRateLimit {
			t.Fatalf("accepted %q as %+v", body, c)
		}
	})
}

func FuzzDecodePatchPartner(f *testing.F) {
	for _, s := range []string{`{"status":"active"}`, `{"status":"inactive"}`, `{"status":"x"}`, `{}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodePatchPartner(body)
		if err == nil && s != engine.StatusActive && s != engine.StatusInactive {
			t.Fatalf("accepted %q as %q", body, s)
		}
	})
}

func FuzzDecodeCredit(f *testing.F) {
	for _, s := range []string{
		`{"amount":1500,"reference":"top_1"}`, `{"amount":9007199254740992,"reference":"r"}`,
		`{"amount":250.0,"reference":"r"}`, `{"amount":0,"reference":"r"}`, `{"reference":""}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCredit(body)
		if err != nil {
			return
		}
		if c.Amount < 1 || c.Amount > engine.MaxAmount || !httpx.Printable([]byte(c.Reference), engine.MaxReferenceLen) {
			t.Fatalf("accepted %q as %+v", body, c)
		}
	})
}
