package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestServer_RefusesBeforeDatabase: 401 and 400 are answered before the
// store is touched (it is nil here), so this runs without PostgreSQL.
func TestServer_RefusesBeforeDatabase(t *testing.T) {
	h := newHandler(nil, testKey, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cases := []struct {
		name, method, uri, key, body string
		wantStatus                   int
		wantBody                     string
	}{
		{"no key", "POST", "/payshards/api/partner/deduct", "", `{}`, 401, `{"error":"missing_api_key"}`},
		{"bad key", "GET", "/payshards/api/partner/balance?userId=u0", "nope", "", 401, `{"error":"invalid_api_key"}`},
		{"string amount", "POST", "/payshards/api/partner/deduct", testKey, `{"userId":"u0","amount":"250","reference":"r"}`, 400, `{"error":"invalid_request"}`},
		{"repeated field", "POST", "/payshards/api/partner/deduct", testKey, `{"userId":"u0","userId":"u1","amount":1,"reference":"r"}`, 400, `{"error":"invalid_request"}`},
		{"too large amount", "POST", "/payshards/api/partner/deduct", testKey, `{"userId":"u0","amount":9007199254740992,"reference":"r"}`, 400, `{"error":"invalid_request"}`},
		{"empty userId", "GET", "/payshards/api/partner/balance?userId=", testKey, "", 400, `{"error":"invalid_request"}`},
	}
	for _, c := range cases {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(c.method)
		ctx.Request.SetRequestURI(c.uri)
		if c.key != "" {
			ctx.Request.Header.Set("x-api-key", c.key)
		}
		ctx.Request.SetBodyString(c.body)
		h(&ctx)
		if got, body := ctx.Response.StatusCode(), string(ctx.Response.Body()); got != c.wantStatus || body != c.wantBody {
			t.Errorf("%s: %d %s, want %d %s", c.name, got, body, c.wantStatus, c.wantBody)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"--seed-users", "5", "--pool", "8", "--reset"}, io.Discard)
	if err != nil || o.seedUsers != 5 || o.pool != 8 || !o.reset || o.apiKey == "" {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range [][]string{{"--api-key", ""}, {"--seed-users", "-1"}, {"--seed-balance", "-1"}, {"extra"}} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
