package httpx

import (
	"bytes"
	"encoding/base64"

	"github.com/valyala/fasthttp"
)

// KeyStyle is how an API's clients send their key; a module names its
// style once (a constant beside its handlers) and reads the key with KeyOf. The key is a slice of the
// request: hash it (actors.System.Authenticate) before the handler ends,
// keep nothing of it.
type KeyStyle uint8

const (
	KeyNone      KeyStyle = iota // the API takes no key (admin: a token of its own)
	KeyXAPIKey                   // header x-api-key: <key> (PayShards, PAYchat)
	KeyBearer                    // Authorization: Bearer <key> (PayPay.cards, checkout)
	KeyBasicUser                 // Authorization: Basic base64(<key>:) or Bearer <key> (Stripe's habit: PaySmart)
)

// KeyOf returns the key the request carries in style s, or nil when it
// carries none in that style.
func KeyOf(ctx *fasthttp.RequestCtx, s KeyStyle) []byte {
	switch s {
	case KeyXAPIKey:
		return ctx.Request.Header.Peek("x-api-key")
	case KeyBearer:
		return schemeValue(ctx.Request.Header.Peek("Authorization"), "bearer ")
	case KeyBasicUser:
		auth := ctx.Request.Header.Peek("Authorization")
		if key := schemeValue(auth, "bearer "); key != nil {
			return key
		}
		return basicUser(schemeValue(auth, "basic "))
	}
	return nil
}

// schemeValue is what follows scheme (case-insensitive, trimmed) in an
// Authorization value, or nil.
func schemeValue(auth []byte, scheme string) []byte {
	if len(auth) <= len(scheme) || !bytes.EqualFold(auth[:len(scheme)], []byte(scheme)) {
		return nil
	}
	if v := bytes.TrimSpace(auth[len(scheme):]); len(v) > 0 {
		return v
	}
	return nil
}

// basicUser decodes HTTP Basic credentials and returns the user name, the
// key, when the password is empty; anything else is no key.
func basicUser(cred []byte) []byte {
	if cred == nil {
		return nil
	}
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(cred)))
	n, err := base64.StdEncoding.Decode(dec, cred)
	if err != nil {
		return nil
	}
	user, pass, found := bytes.Cut(dec[:n], []byte(":"))
	if !found || len(pass) != 0 || len(user) == 0 {
		return nil
	}
	return user
}
