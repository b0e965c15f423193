package admin

import (
	"errors"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
	"ledgerd/api/paysmart"
)

// paysmartRoutes are the operator routes of PaySmart: accounts. An
// account's rate limit and status are changed like any partner's (PATCH
// /partners/{id}).
func (a *API) paysmartRoutes(r *httpx.Router) {
	r.POST(Base+"/paysmart/accounts", a.createPaySmartAccount)
}

// createPaySmartAccount answers 201 with the account and its four keys,
// shown this once.
func (a *API) createPaySmartAccount(ctx *fasthttp.RequestCtx) {
	name, err := DecodeCreateAccount(body(ctx))
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	acct, keys, err := paysmart.CreateAccount(a.sys, name)
	if err != nil {
		writeError(ctx, fasthttp.StatusConflict, "conflict", err.Error())
		return
	}
	var ks [512]byte
	k := httpx.Object(ks[:0]).Str("secret_test", keys.SecretTest).Str("publishable_test", keys.PublishableTest).
		Str("secret_live", keys.SecretLive).Str("publishable_live", keys.PublishableLive).Close()
	j := httpx.Object(make([]byte, 0, 640)).Str("id", acct.ID).Str("api", "paysmart").Str("name", acct.Name).
		Str("status", "active").Int("rateLimitPerMinute", acct.RateLimit).Close()
	j = append(j[:len(j)-1], `,"keys":`...)
	j = append(append(j, k...), '}')
	httpx.Reply(ctx, fasthttp.StatusCreated, j)
}

// DecodeCreateAccount parses {"name"}.
func DecodeCreateAccount(body []byte) (string, error) {
	var name string
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		if string(key) != "name" {
			return httpx.UnknownField(key)
		}
		var err error
		name, err = httpx.PrintableString(v, paysmart.MaxAccountName)
		return err
	})
	if err == nil && name == "" {
		err = errors.New("name is required")
	}
	if err != nil {
		return "", invalid(err)
	}
	return name, nil
}
