package checkout

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	sender "ledgerd/actors/outbox"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// AdminBase is the prefix of the checkout's operator routes: shops.
const AdminBase = "/admin/checkout"

// Shop defaults and limits.
const (
	DefaultAccent        = "#2563eb"
	DefaultShopRateLimit = 6000 // requests per minute per key
	maxRateLimit         = 100_000_000
)

// AdminModule serves the operator routes of shops below /admin/checkout,
// guarded by guard (admin.Guard: the admin bearer token), in the admin
// API's envelope {"error":code,"message":text}:
//
//	POST  /admin/checkout/shops        create: the shop with both keys and its webhook secret, shown once
//	GET   /admin/checkout/shops/{id}   the shop (no key, no secret)
//	PATCH /admin/checkout/shops/{id}   status, branding, webhook_url, rotate_webhook_secret
//
// A shop's keys are revoked (and added) through the shared admin key
// routes, /admin/partners/{id}/keys.
func AdminModule(sys *actors.System, cfg Config, guard httpx.Middleware) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "admin-checkout", Base: AdminBase, Middleware: []httpx.Middleware{guard},
		RequestError: func(ctx *fasthttp.RequestCtx, status int) {
			if status == fasthttp.StatusRequestEntityTooLarge {
				adminError(ctx, status, "request_too_large", "request body over 1 MiB")
				return
			}
			adminError(ctx, status, "bad_request", "the HTTP request could not be read")
		},
		NotFound: func(ctx *fasthttp.RequestCtx) {
			adminError(ctx, fasthttp.StatusNotFound, "not_found", "No such admin endpoint.")
		},
		MethodNotAllowed: func(ctx *fasthttp.RequestCtx) {
			adminError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed on this admin endpoint.")
		},
		Routes: func(r *httpx.Router) {
			r.POST(AdminBase+"/shops", a.createShop)
			r.GET(AdminBase+"/shops/{id}", a.getShop)
			r.PATCH(AdminBase+"/shops/{id}", a.patchShop)
			r.GET(AdminBase+"/openapi.json", func(ctx *fasthttp.RequestCtx) { httpx.Reply(ctx, fasthttp.StatusOK, adminOpenAPIDocument) })
		}}
}

func adminError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	httpx.Reply(ctx, status, httpx.Object(nil).Str("error", code).Str("message", msg).Close())
}

// shopRequest is a decoded shop body; nil fields were not sent.
type shopRequest struct {
	Name, Accent, WebhookURL *string
	Logo                     *[]byte
	LogoType                 string
	Status                   string
	RateLimit                int64
	Rotate                   bool
}

var errShop = errors.New("checkout: invalid shop")

// decodeShop parses a shop body. create: name required; status and
// rotate_webhook_secret are PATCH's only.
func decodeShop(body []byte, create bool, insecure bool) (shopRequest, error) {
	var s shopRequest
	str := func(v httpx.Value, maxChars int) (*string, error) {
		if v.Kind == httpx.KindNull {
			empty := ""
			return &empty, nil
		}
		x, err := httpx.PrintableString(v, maxChars)
		return &x, err
	}
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "name":
			s.Name, err = str(v, ck.MaxName)
			if err == nil && *s.Name == "" {
				err = errors.New("name must be 1 to 200 characters")
			}
		case "accent_color":
			s.Accent, err = str(v, 7)
			if err == nil {
				c := strings.ToLower(*s.Accent)
				s.Accent = &c
				if !ck.ValidAccent(c) {
					err = errors.New("accent_color must be #rrggbb")
				}
			}
		case "logo":
			s.Logo, s.LogoType, err = decodeLogo(v)
		case "webhook_url":
			s.WebhookURL, err = str(v, sender.MaxURLLen)
			if err == nil && *s.WebhookURL != "" {
				err = sender.CheckURL(*s.WebhookURL, insecure)
			}
		case "rate_limit_per_minute":
			s.RateLimit, err = httpx.Integer(v, 1, maxRateLimit)
		case "status":
			if create {
				return httpx.UnknownField(key)
			}
			var st *string
			if st, err = str(v, 8); err == nil && *st != engine.StatusActive && *st != engine.StatusInactive {
				err = errors.New("status must be active or inactive")
			}
			if err == nil {
				s.Status = *st
			}
		case "rotate_webhook_secret":
			if create {
				return httpx.UnknownField(key)
			}
			s.Rotate, err = httpx.Bool(v)
		default:
			return httpx.UnknownField(key)
		}
		if err != nil {
			return errors.New(string(key) + ": " + err.Error())
		}
		return nil
	})
	if err == nil && create && s.Name == nil {
		err = errors.New("name is required")
	}
	if err != nil {
		return shopRequest{}, errors.Join(errShop, err)
	}
	return s, nil
}

// decodeLogo: standard base64 of a PNG or JPEG of at most 100 KB; null
// (or "") removes it.
func decodeLogo(v httpx.Value) (*[]byte, string, error) {
	none := []byte(nil)
	if v.Kind == httpx.KindNull || (v.Kind == httpx.KindString && len(v.Str) == 0) {
		return &none, "", nil
	}
	if v.Kind != httpx.KindString || len(v.Str) > base64.StdEncoding.EncodedLen(ck.MaxLogo) {
		return nil, "", errors.New("logo must be the base64 of a PNG or JPEG of at most 100 KB")
	}
	b, err := base64.StdEncoding.DecodeString(string(v.Str))
	if err != nil || len(b) == 0 || len(b) > ck.MaxLogo {
		return nil, "", errors.New("logo must be the base64 of a PNG or JPEG of at most 100 KB")
	}
	switch {
	case len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return &b, ck.LogoPNG, nil
	case len(b) > 3 && string(b[:3]) == "\xff\xd8\xff":
		return &b, ck.LogoJPEG, nil
	}
	return nil, "", errors.New("logo must be a PNG or JPEG image")
}

// newKey makes a shop key: prefix + 48 random characters. Only its
// SHA-256 and last 4 characters are kept.
func newKey(prefix string) (string, actors.NewKey) {
	key := prefix + randomID(KeyRandom)
	return key, actors.NewKey{ID: "key_" + randomID(20), Hash: engine.HashKey([]byte(key)), Hint: key[len(key)-4:]}
}

// CreateShop creates a shop with both keys; it returns the keys and the
// webhook secret in clear, once (--demo and the admin route).
func (a *API) CreateShop(name, accent string, logo []byte, logoType, webhookURL string, rateLimit int64) (ck.Shop, string, string, error) {
	if accent == "" {
		accent = DefaultAccent
	}
	if rateLimit == 0 {
		rateLimit = DefaultShopRateLimit
	}
	testKey, testNew := newKey(KeyPrefixTest)
	liveKey, liveNew := newKey(KeyPrefixLive)
	sh := ck.Shop{ID: ck.PrefixShop + randomID(20), Name: name, AccentColor: accent, Logo: logo, LogoType: logoType, WebhookURL: webhookURL}
	sh, err := ack.CreateShop(a.sys, sh, rateLimit, testNew, liveNew)
	return sh, testKey, liveKey, err
}

// CreateShop is (*API).CreateShop for a caller without the module
// (cmd/ledgerd's --demo).
func CreateShop(sys *actors.System, cfg Config, name string) (ck.Shop, string, string, error) {
	return newAPI(sys, cfg).CreateShop(name, "", nil, "", "", 0)
}

func (a *API) createShop(ctx *fasthttp.RequestCtx) {
	req, err := decodeShop(adminBody(ctx), true, a.cfg.WebhooksInsecure)
	if err != nil {
		adminError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	var logo []byte
	if req.Logo != nil {
		logo = *req.Logo
	}
	sh, testKey, liveKey, err := a.CreateShop(*req.Name, deref(req.Accent), logo, req.LogoType, deref(req.WebhookURL), req.RateLimit)
	if err != nil {
		adminError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "the shop could not be created; try again")
		return
	}
	p, _ := a.sys.PartnerByID(sh.ID)
	b := a.appendShop(make([]byte, 0, 1024), &sh, p)
	b = b[:len(b)-1]
	b = append(b, `,"keys":{"test":`...)
	b = httpx.AppendString(b, testKey)
	b = append(b, `,"live":`...)
	b = httpx.AppendString(b, liveKey)
	b = append(b, `},"webhook_secret":`...)
	b = httpx.AppendString(b, ShopSecret(a.cfg.WebhookKey, sh.ID, sh.WebhookRotation))
	httpx.Reply(ctx, fasthttp.StatusCreated, append(b, '}'))
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func adminBody(ctx *fasthttp.RequestCtx) []byte {
	if b := ctx.PostBody(); len(b) <= httpx.MaxBodyBytes {
		return b
	}
	return nil
}

func (a *API) getShop(ctx *fasthttp.RequestCtx) {
	id := pathID(ctx)
	var sh ck.Shop
	var ok bool
	a.sys.ReadState(func(st *engine.State) { sh, ok = ck.GetShop(st, id) })
	p, pok := a.sys.PartnerByID(id)
	if !ok || !pok {
		adminError(ctx, fasthttp.StatusNotFound, "not_found", "no such shop")
		return
	}
	httpx.Reply(ctx, fasthttp.StatusOK, a.appendShop(nil, &sh, p))
}

func (a *API) patchShop(ctx *fasthttp.RequestCtx) {
	req, err := decodeShop(adminBody(ctx), false, a.cfg.WebhooksInsecure)
	if err != nil {
		adminError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	id := pathID(ctx)
	var exists bool
	a.sys.ReadState(func(st *engine.State) { _, exists = ck.GetShop(st, id) })
	if _, ok := a.sys.PartnerByID(id); !ok || !exists {
		adminError(ctx, fasthttp.StatusNotFound, "not_found", "no such shop")
		return
	}
	if req.Status != "" {
		if _, err := a.sys.SetPartnerStatus(id, req.Status); err != nil {
			adminError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
	}
	if req.RateLimit != 0 {
		if _, err := a.sys.SetPartnerRateLimit(id, req.RateLimit); err != nil {
			adminError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "try again")
			return
		}
	}
	sh, err := ack.UpdateShop(a.sys, id, ack.ShopPatch{Name: req.Name, AccentColor: req.Accent, Logo: req.Logo, LogoType: req.LogoType,
		WebhookURL: req.WebhookURL, RotateSecret: req.Rotate})
	if err != nil {
		adminError(ctx, fasthttp.StatusServiceUnavailable, "unavailable", "try again")
		return
	}
	p, _ := a.sys.PartnerByID(id)
	b := a.appendShop(nil, &sh, p)
	if req.Rotate {
		b = b[:len(b)-1]
		b = append(b, `,"webhook_secret":`...)
		b = append(httpx.AppendString(b, ShopSecret(a.cfg.WebhookKey, sh.ID, sh.WebhookRotation)), '}')
	}
	httpx.Reply(ctx, fasthttp.StatusOK, b)
}

// appendShop is the shop as the admin API shows it: never a key or secret
// (the keys' ids and last 4 characters only).
func (a *API) appendShop(b []byte, sh *ck.Shop, p *engine.Partner) []byte {
	j := httpx.Object(b).Str("id", sh.ID).Str("object", "shop").Str("name", sh.Name).Str("accent_color", sh.AccentColor).
		Bool("has_logo", len(sh.Logo) > 0).Str("webhook_url", sh.WebhookURL).Int("webhook_secret_rotation", sh.WebhookRotation)
	if p != nil {
		j = j.Str("status", p.Status).Int("rate_limit_per_minute", p.RateLimit)
	}
	j = j.Str("created_at", FormatTime(sh.CreatedMs))
	out := j.Close()
	out = out[:len(out)-1]
	out = append(out, `,"key_ids":[`...)
	if p != nil {
		n := 0
		for _, k := range p.Keys {
			if k.RevokedMs != 0 {
				continue
			}
			if n > 0 {
				out = append(out, ',')
			}
			n++
			out = httpx.Object(out).Str("id", k.ID).Str("hint", k.Hint).Close()
		}
	}
	return append(out, "]}"...)
}
