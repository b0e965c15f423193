package httpx

import (
	"encoding/base64"
	"testing"

	"github.com/valyala/fasthttp"
)

func TestKeyOf(t *testing.T) {
	basic := func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		style         KeyStyle
		header, value string
		want          string // "" = no key
	}{
		{KeyXAPIKey, "x-api-key", "pk_1", "pk_1"},
		{KeyXAPIKey, "Authorization", "Bearer pk_1", ""},
		{KeyBearer, "Authorization", "Bearer pk_1", "pk_1"},
		{KeyBearer, "Authorization", "bearer   pk_1 ", "pk_1"},
		{KeyBearer, "Authorization", "Bearer ", ""},
		{KeyBearer, "Authorization", "Basic cGtfMTo=", ""},
		{KeyBearer, "x-api-key", "pk_1", ""},
		{KeyBasicUser, "Authorization", basic("sk_test_1:"), "sk_test_1"},
		{KeyBasicUser, "Authorization", "Bearer sk_test_1", "sk_test_1"},
		{KeyBasicUser, "Authorization", basic("sk_test_1:secret"), ""}, // a password: not Stripe's form
		{KeyBasicUser, "Authorization", basic(":"), ""},
		{KeyBasicUser, "Authorization", "Basic !!!", ""},
		{KeyNone, "x-api-key", "pk_1", ""},
	}
	for _, c := range cases {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.Set(c.header, c.value)
		if got := string(KeyOf(&ctx, c.style)); got != c.want {
			t.Errorf("style %d, %s: %q: got %q, want %q", c.style, c.header, c.value, got, c.want)
		}
	}
}
