package admin

import (
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
	"ledgerd/engine"
)

// issueAttempts bounds how often a batch is regenerated when a new code
// collides with an issued one (60 random bits each: practically never).
const issueAttempts = 3

// paypayRoutes are the operator routes of PayPay.cards: issuing and
// revoking codes.
func (a *API) paypayRoutes(r *httpx.Router) {
	r.POST(Base+"/paypay/partners/{id}/codes", a.issueCodes)
	r.POST(Base+"/paypay/codes/{code}/revoke", a.revokeCode)
}

// keyJSON shows a key as the spec allows: its first 8 and last 4
// characters, never more. A hint of the last 4 alone is a key this API
// issued (keyPrefix); a hint with its own prefix (PaySmart's sk_/pk_
// test/live keys, checkout's ck_ keys) is shown as it is.
func keyJSON(j httpx.JSON, k engine.APIKey) httpx.JSON {
	display := keyPrefix + "…" + k.Hint
	if strings.Contains(k.Hint, "…") {
		display = k.Hint
	}
	j = j.Str("id", k.ID).Str("display", display).Str("created_at", paypay.FormatTime(k.CreatedMs))
	if k.RevokedMs != 0 {
		return j.Str("status", "revoked").Str("revoked_at", paypay.FormatTime(k.RevokedMs))
	}
	return j.Str("status", "active")
}

func (a *API) listKeys(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	p, ok := a.sys.PartnerByID(id)
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such partner")
		return
	}
	b := append(make([]byte, 0, 128*len(p.Keys)), `{"data":[`...)
	for i, k := range p.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = keyJSON(httpx.Object(b), k).Close()
	}
	httpx.Reply(ctx, fasthttp.StatusOK, append(b, "]}"...))
}

func (a *API) addKey(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	key, newKey := generateKey()
	p, err := a.sys.AddKey(id, newKey)
	if err != nil {
		writeDirectoryError(ctx, err)
		return
	}
	k := p.Key(newKey.ID)
	httpx.Reply(ctx, fasthttp.StatusCreated, keyJSON(httpx.Object(nil), *k).Str("apiKey", key).Close())
}

func (a *API) revokeKey(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	keyID, _ := pathParam(ctx, "keyId")
	p, err := a.sys.RevokeKey(id, keyID)
	if err != nil {
		writeDirectoryError(ctx, err)
		return
	}
	httpx.Reply(ctx, fasthttp.StatusOK, keyJSON(httpx.Object(nil), *p.Key(keyID)).Close())
}

func (a *API) issueCodes(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	req, err := DecodeIssueCodes(body(ctx))
	if err == nil && req.ExpiresMs <= a.sys.Now().UnixMilli() {
		err = errors.New("expires_at must be in the future")
	}
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	codes := make([]string, req.Count)
	for range issueAttempts {
		for i := range codes {
			codes[i] = paypay.NewCode()
		}
		_, err = a.sys.IssueCodes(id, codes, req.Tier, req.EntitlementLabel, req.ExpiresMs)
		if !errors.Is(err, actors.ErrCodeExists) {
			break
		}
	}
	if err != nil {
		writeDirectoryError(ctx, err)
		return
	}
	b := httpx.Object(make([]byte, 0, 128+20*len(codes))).Str("partner_id", id).Str("tier", req.Tier).
		Str("entitlement_label", req.EntitlementLabel).Str("expires_at", paypay.FormatTime(req.ExpiresMs)).Close()
	b = append(b[:len(b)-1], `,"codes":[`...)
	for i, c := range codes {
		if i > 0 {
			b = append(b, ',')
		}
		b = httpx.AppendString(b, c)
	}
	httpx.Reply(ctx, fasthttp.StatusCreated, append(b, "]}"...))
}

func (a *API) revokeCode(ctx *fasthttp.RequestCtx) {
	code, _ := pathParam(ctx, "code")
	status, partner := a.sys.RevokeCode(code)
	switch status {
	case actors.StatusOK:
		httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(nil).Str("code", code).Str("partner_id", partner).Str("status", "revoked").Close())
	case actors.StatusNotFound:
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such code")
	case actors.StatusAlreadyRedeemed:
		writeError(ctx, fasthttp.StatusConflict, "already_redeemed", "a redeemed code cannot be revoked")
	default:
		writeError(ctx, fasthttp.StatusServiceUnavailable, "overloaded", "try again")
	}
}

// writeDirectoryError maps the directory's refusals to admin envelopes.
func writeDirectoryError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, actors.ErrPartnerNotFound):
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such partner")
	case errors.Is(err, actors.ErrKeyNotFound):
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such key")
	case errors.Is(err, actors.ErrInvalidCommand):
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
	case errors.Is(err, actors.ErrWrongAPI):
		writeError(ctx, fasthttp.StatusConflict, "wrong_api", "codes can only be issued to PayPay.cards partners")
	default:
		writeError(ctx, fasthttp.StatusConflict, "conflict", err.Error())
	}
}
