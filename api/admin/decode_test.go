package admin

import (
	"errors"
	"strings"
	"testing"

	"ledgerd/engine"
)

func TestDecodeCreatePartner(t *testing.T) {
	valid := []struct {
		body string
		want CreatePartner
	}{
		{`{"api":"payshards","name":"Shop"}`, CreatePartner{API: "payshards", Name: "Shop", RateLimit: DefaultRateLimit}},
		{`{"name":"Shop ü","api":"payshards","rateLimitPerMinute":1}`, CreatePartner{API: "payshards", Name: "Shop ü", RateLimit: 1}},
		{`{"api":"payshards","name":"S","rateLimitPerMinute":100000000}`, CreatePartner{API: "payshards", Name: "S", RateLimit: MaxRateLimit}},
		{`{"api":"payshards","name":"` + strings.Repeat("n", engine.MaxNameLen) + `"}`, CreatePartner{API: "payshards", Name: strings.Repeat("n", engine.MaxNameLen), RateLimit: DefaultRateLimit}},
	}
	for _, tc := range valid {
		got, err := DecodeCreatePartner([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%.80s: %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
	invalid := map[string]string{
		"empty":            ``,
		"empty object":     `{}`,
		"missing api":      `{"name":"Shop"}`,
		"missing name":     `{"api":"payshards"}`,
		"unknown api":      `{"api":"paypal","name":"Shop"}`,
		"api case":         `{"api":"PayShards","name":"Shop"}`,
		"api null":         `{"api":null,"name":"Shop"}`,
		"empty name":       `{"api":"payshards","name":""}`,
		"name too long":    `{"api":"payshards","name":"` + strings.Repeat("n", engine.MaxNameLen+1) + `"}`,
		"name control":     `{"api":"payshards","name":"a\nb"}`,
		"name number":      `{"api":"payshards","name":5}`,
		"rate zero":        `{"api":"payshards","name":"S","rateLimitPerMinute":0}`,
		"rate negative":    `{"api":"payshards","name":"S","rateLimitPerMinute":-1}`,
		"rate above max":   `{"api":"payshards","name":"S","rateLimitPerMinute":100000001}`,
		"rate float":       `{"api":"payshards","name":"S","rateLimitPerMinute":60.0}`,
		"rate exponent":    `{"api":"payshards","name":"S","rateLimitPerMinute":6e1}`,
		"rate string":      `{"api":"payshards","name":"S","rateLimitPerMinute":"60"}`,
		"rate null":        `{"api":"payshards","name":"S","rateLimitPerMinute":null}`,
		"unknown field":    `{"api":"payshards","name":"S","status":"active"}`,
		"duplicate name":   `{"api":"payshards","name":"S","name":"T"}`,
		"trailing garbage": `{"api":"payshards","name":"S"} {}`,
		"nested":           `{"api":"payshards","name":{"x":1}}`,
	}
	for name, body := range invalid {
		got, err := DecodeCreatePartner([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v does not wrap ErrInvalid", name, err)
		} else if got != (CreatePartner{}) {
			t.Errorf("%s: partial result %+v", name, got)
		}
	}
}

func TestDecodePatchPartner(t *testing.T) {
	for body, want := range map[string]string{
		`{"status":"active"}`:         engine.StatusActive,
		` { "status" : "inactive" } `: engine.StatusInactive,
		`{"status":"\u0061ctive"}`:    engine.StatusActive,
	} {
		if got, err := DecodePatchPartner([]byte(body)); err != nil || got != want {
			t.Errorf("%s: %q, %v", body, got, err)
		}
	}
	invalid := map[string]string{
		"empty":            ``,
		"empty object":     `{}`,
		"unknown status":   `{"status":"paused"}`,
		"status case":      `{"status":"Active"}`,
		"status empty":     `{"status":""}`,
		"status null":      `{"status":null}`,
		"status number":    `{"status":1}`,
		"unknown field":    `{"status":"active","name":"x"}`,
		"only unknown":     `{"name":"x"}`,
		"duplicate status": `{"status":"active","status":"inactive"}`,
		"trailing garbage": `{"status":"active"}x`,
		"status padded":    `{"status":" active"}`,
	}
	for name, body := range invalid {
		got, err := DecodePatchPartner([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %q", name, got)
		} else if !errors.Is(err, ErrInvalid) || got != "" {
			t.Errorf("%s: %q, %v", name, got, err)
		}
	}
}

func TestDecodeCredit(t *testing.T) {
	valid := map[string]Credit{
		`{"amount":1500,"reference":"top_1"}`:                         {Amount: 1500, Reference: "top_1"},
		`{"reference":"r","amount":1}`:                                {Amount: 1, Reference: "r"},
		`{"amount":9007199254740991,"reference":"r"}`:                 {Amount: engine.MaxAmount, Reference: "r"},
		`{"amount":5,"reference":"` + strings.Repeat("r", 255) + `"}`: {Amount: 5, Reference: strings.Repeat("r", 255)},
		`{"amount":5,"reference":"\u00e9\ud83d\ude00"}`:               {Amount: 5, Reference: "é😀"},
	}
	for body, want := range valid {
		if got, err := DecodeCredit([]byte(body)); err != nil || got != want {
			t.Errorf("%.80s: %+v, %v; want %+v", body, got, err, want)
		}
	}
	invalid := map[string]string{
		"empty":            ``,
		"empty object":     `{}`,
		"missing amount":   `{"reference":"r"}`,
		"missing ref":      `{"amount":5}`,
		"amount 0":         `{"amount":0,"reference":"r"}`,
		"amount negative":  `{"amount":-5,"reference":"r"}`,
		"amount 2^53":      `{"amount":9007199254740992,"reference":"r"}`,
		"amount float":     `{"amount":250.0,"reference":"r"}`,
		"amount exponent":  `{"amount":2.5e2,"reference":"r"}`,
		"amount string":    `{"amount":"250","reference":"r"}`,
		"amount null":      `{"amount":null,"reference":"r"}`,
		"ref empty":        `{"amount":5,"reference":""}`,
		"ref too long":     `{"amount":5,"reference":"` + strings.Repeat("r", 256) + `"}`,
		"ref control":      `{"amount":5,"reference":"r\u001f"}`,
		"ref null":         `{"amount":5,"reference":null}`,
		"unknown field":    `{"amount":5,"reference":"r","userId":"u"}`,
		"duplicate amount": `{"amount":5,"reference":"r","amount":6}`,
		"trailing garbage": `{"amount":5,"reference":"r"},`,
	}
	for name, body := range invalid {
		got, err := DecodeCredit([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
		} else if !errors.Is(err, ErrInvalid) || got != (Credit{}) {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
}
