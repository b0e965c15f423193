package payshards

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"ledgerd/api/httpx"
	"ledgerd/engine"
)

func TestDecodeCommandValid(t *testing.T) {
	tests := []struct {
		body string
		want Command
	}{
		{`{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"Pro export"}`,
			Command{UserID: "u_123", Amount: 250, Reference: "order_abc_001", Description: "Pro export"}},
		{`{"userId":"u_123","amount":250,"reference":"refund_abc_001"}`,
			Command{UserID: "u_123", Amount: 250, Reference: "refund_abc_001"}},
		{` {"reference":"r","amount":1,"userId":"u"} `, Command{UserID: "u", Amount: 1, Reference: "r"}},
		{`{"userId":"u","amount":9007199254740991,"reference":"r"}`, Command{UserID: "u", Amount: engine.MaxAmount, Reference: "r"}},
		{`{"userId":"u","amount":1,"reference":"r","description":null}`, Command{UserID: "u", Amount: 1, Reference: "r"}},
		{`{"userId":"u","amount":1,"reference":"r","description":""}`, Command{UserID: "u", Amount: 1, Reference: "r"}},
		{`{"userId":"\u00fcser 1","amount":1,"reference":"r\u00e9f"}`, Command{UserID: "üser 1", Amount: 1, Reference: "réf"}},
		{`{"userId":"` + strings.Repeat("é", 128) + `","amount":1,"reference":"` + strings.Repeat("x", 255) + `"}`,
			Command{UserID: strings.Repeat("é", 128), Amount: 1, Reference: strings.Repeat("x", 255)}},
		{`{"userId":"u","amount":1,"reference":"r","description":"` + strings.Repeat("d", MaxDescriptionChars) + `"}`,
			Command{UserID: "u", Amount: 1, Reference: "r", Description: strings.Repeat("d", MaxDescriptionChars)}},
	}
	for _, tc := range tests {
		got, err := DecodeCommand([]byte(tc.body))
		if err != nil || got != tc.want {
			t.Errorf("%.80s: got %+v, %v; want %+v", tc.body, got, err, tc.want)
		}
	}
}

func TestDecodeCommandInvalid(t *testing.T) {
	ok := func(amount string) string {
		return `{"userId":"u_123","amount":` + amount + `,"reference":"ref"}`
	}
	with := func(field, value string) string {
		return `{"userId":"u_123","amount":250,"reference":"ref","` + field + `":` + value + `}`
	}
	tests := map[string]string{
		"empty body":             ``,
		"not an object":          `[]`,
		"null body":              `null`,
		"empty object":           `{}`,
		"missing userId":         `{"amount":250,"reference":"ref"}`,
		"missing amount":         `{"userId":"u","reference":"ref"}`,
		"missing reference":      `{"userId":"u","amount":250}`,
		"amount 250.0":           ok(`250.0`),
		"amount 2.5e2":           ok(`2.5e2`),
		"amount 25E1":            ok(`25E1`),
		"amount string":          ok(`"250"`),
		"amount zero":            ok(`0`),
		"amount -0":              ok(`-0`),
		"amount negative":        ok(`-250`),
		"amount 2^53":            ok(`9007199254740992`),
		"amount int64 max":       ok(`9223372036854775807`),
		"amount huge":            ok(strings.Repeat("9", 40)),
		"amount null":            ok(`null`),
		"amount true":            ok(`true`),
		"amount leading zero":    ok(`0250`),
		"amount object":          ok(`{}`),
		"amount array":           ok(`[250]`),
		"userId empty":           `{"userId":"","amount":250,"reference":"ref"}`,
		"userId 129 chars":       `{"userId":"` + strings.Repeat("u", 129) + `","amount":250,"reference":"ref"}`,
		"userId control char":    `{"userId":"u\n1","amount":250,"reference":"ref"}`,
		"userId tab":             `{"userId":"u\t1","amount":250,"reference":"ref"}`,
		"userId NUL":             `{"userId":"u\u0000","amount":250,"reference":"ref"}`,
		"userId number":          `{"userId":123,"amount":250,"reference":"ref"}`,
		"userId null":            `{"userId":null,"amount":250,"reference":"ref"}`,
		"userId lone surrogate":  `{"userId":"\ud800","amount":250,"reference":"ref"}`,
		"userId invalid utf8":    "{\"userId\":\"\xff\",\"amount\":250,\"reference\":\"ref\"}",
		"reference empty":        `{"userId":"u","amount":250,"reference":""}`,
		"reference 256 chars":    `{"userId":"u","amount":250,"reference":"` + strings.Repeat("r", 256) + `"}`,
		"reference control char": `{"userId":"u","amount":250,"reference":"r\u0007"}`,
		"reference number":       `{"userId":"u","amount":250,"reference":1}`,
		"description number":     with("description", `5`),
		"description true":       with("description", `true`),
		"description too long":   with("description", `"`+strings.Repeat("d", MaxDescriptionChars+1)+`"`),
		"description control":    with("description", `"a\u0001b"`),
		"unknown field":          with("currency", `"USD"`),
		"unknown null field":     with("extra", `null`),
		"case-different field":   `{"userid":"u","amount":250,"reference":"ref"}`,
		"duplicate amount":       with("amount", `1`),
		"duplicate userId":       with("userId", `"v"`),
		"duplicate description":  `{"userId":"u","amount":250,"reference":"ref","description":"a","description":"b"}`,
		"trailing garbage":       ok(`250`) + `x`,
		"two objects":            ok(`250`) + ok(`250`),
		"trailing comma":         `{"userId":"u","amount":250,"reference":"ref",}`,
	}
	for name, body := range tests {
		got, err := DecodeCommand([]byte(body))
		if err == nil {
			t.Errorf("%s: accepted %+v", name, got)
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: error %v does not wrap ErrInvalid", name, err)
		}
		if got != (Command{}) {
			t.Errorf("%s: partial result %+v returned with the error", name, got)
		}
	}
}

func TestDecodeCommandDoesNotAlias(t *testing.T) {
	body := []byte(`{"userId":"u_1","amount":5,"reference":"ref","description":"desc"}`)
	c, err := DecodeCommand(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'X'
	}
	if c.UserID != "u_1" || c.Reference != "ref" || c.Description != "desc" {
		t.Fatalf("result aliases the request body: %+v", c)
	}
}

func TestDecodeUserID(t *testing.T) {
	valid := []string{"u_123", "a", "user with space", "üñí", strings.Repeat("x", 128), strings.Repeat("😀", 128)}
	for _, s := range valid {
		if got, err := DecodeUserID([]byte(s)); err != nil || got != s {
			t.Errorf("DecodeUserID(%q) = %q, %v", s, got, err)
		}
	}
	invalid := []string{"", strings.Repeat("x", 129), strings.Repeat("😀", 129), "u\n", "\x00", "\t", "\xff", "a\xc3", "\u200b"}
	for _, s := range invalid {
		if got, err := DecodeUserID([]byte(s)); !errors.Is(err, ErrInvalid) || got != "" {
			t.Errorf("DecodeUserID(%q) = %q, %v", s, got, err)
		}
	}
	if got, err := DecodeUserID(nil); err == nil {
		t.Errorf("DecodeUserID(nil) = %q", got)
	}
	raw := []byte("u_9")
	got, _ := DecodeUserID(raw)
	raw[0] = 'X'
	if got != "u_9" {
		t.Fatal("DecodeUserID aliases its input")
	}
}

func validCommand(t *testing.T, c Command) {
	t.Helper()
	if c.Amount < 1 || c.Amount > engine.MaxAmount {
		t.Fatalf("amount %d out of range", c.Amount)
	}
	if !httpx.Printable([]byte(c.UserID), engine.MaxUserIDLen) || utf8.RuneCountInString(c.UserID) > engine.MaxUserIDLen {
		t.Fatalf("userId %q not 1..128 printable characters", c.UserID)
	}
	if !httpx.Printable([]byte(c.Reference), engine.MaxReferenceLen) || utf8.RuneCountInString(c.Reference) > engine.MaxReferenceLen {
		t.Fatalf("reference %q not 1..255 printable characters", c.Reference)
	}
	if c.Description != "" && !httpx.Printable([]byte(c.Description), MaxDescriptionChars) {
		t.Fatalf("description %q not printable", c.Description)
	}
}
