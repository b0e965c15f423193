package api

import (
	"bytes"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/admin"
	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
	"ledgerd/api/payshards"
)

// Config is what the HTTP front end needs besides the ledger.
type Config struct {
	AdminToken string
	// RequireHTTPS rejects plain-HTTP calls on the routes wrapped with
	// HTTPSOnly (the PayPay.cards API: "HTTP calls are rejected").
	RequireHTTPS bool
	// Metrics is where request series are registered and what GET /metrics
	// serves (with the ledger's own series when actors use the same
	// registry). Nil: a private registry.
	Metrics *prometheus.Registry
}

// HTTPSOnly wraps h with httpx.RequireHTTPS when cfg.RequireHTTPS is set,
// answering plain-HTTP calls with reject; otherwise it returns h.
func (cfg Config) HTTPSOnly(h, reject fasthttp.RequestHandler) fasthttp.RequestHandler {
	if !cfg.RequireHTTPS {
		return h
	}
	return httpx.RequireHTTPS(h, reject)
}

// NewHandler returns the request handler serving every API on sys.
func NewHandler(sys *actors.System, cfg Config) fasthttp.RequestHandler {
	return newHandler(sys, cfg, &httpx.RequestErrors{})
}

// newHandler is NewHandler; each API adds to errs its answer to requests
// that fasthttp refuses before any handler runs.
func newHandler(sys *actors.System, cfg Config, errs *httpx.RequestErrors) fasthttp.RequestHandler {
	r := router.New()
	r.SaveMatchedRoutePath = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	payshards.Register(r, sys, errs)
	paypay.Register(r, sys, errs, func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
		return cfg.HTTPSOnly(h, paypay.RejectHTTP)
	})
	admin.Register(r, sys, cfg.AdminToken, errs)
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	r.GET("/metrics", metricsHandler(reg))
	m := newHTTPMetrics(reg)
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		if bytes.HasPrefix(ctx.Path(), []byte(paypay.Base+"/")) { // every PayPay.cards 4xx has its envelope
			paypay.WriteError(ctx, fasthttp.StatusNotFound, paypay.CodeNotFound, paypay.MsgRouteNotFound, paypay.NewRequestID(), nil)
			return
		}
		if admin.Owns(ctx.Path()) {
			admin.NotFound(ctx)
			return
		}
		httpx.Reply(ctx, fasthttp.StatusNotFound, []byte(`{"error":"not_found"}`))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		if bytes.HasPrefix(ctx.Path(), []byte(paypay.Base+"/")) {
			paypay.WriteCode(ctx, paypay.CodeMethodNotAllowed, paypay.NewRequestID(), nil)
			return
		}
		if admin.Owns(ctx.Path()) {
			admin.MethodNotAllowed(ctx)
			return
		}
		httpx.Reply(ctx, fasthttp.StatusMethodNotAllowed, []byte(`{"error":"method_not_allowed"}`))
	}
	return m.wrap(r.Handler)
}

// NewServer returns a fasthttp server for NewHandler's handler.
func NewServer(sys *actors.System, cfg Config) *httpx.Server {
	errs := &httpx.RequestErrors{}
	s := httpx.NewServer(newHandler(sys, cfg, errs))
	s.UseRequestErrors(errs)
	return s
}
