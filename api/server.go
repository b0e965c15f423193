package api

import (
	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/admin"
	"ledgerd/api/checkout"
	"ledgerd/api/httpx"
	"ledgerd/api/paychat"
	"ledgerd/api/paypay"
	"ledgerd/api/payshards"
	"ledgerd/api/paysmart"
)

// Config is what the HTTP front end needs besides the ledger.
type Config struct {
	AdminToken string
	// RequireHTTPS rejects plain-HTTP calls to the modules that declare an
	// HTTPSReject (the PayPay.cards API: "HTTP calls are rejected").
	RequireHTTPS bool
	// Metrics is where request series are registered and what GET /metrics
	// serves (with the ledger's own series when actors use the same
	// registry). Nil: a private registry.
	Metrics *prometheus.Registry
	// PublicURL is the absolute base of the URLs handed out (receipt_url,
	// ...), without a trailing slash, e.g. "http://127.0.0.1:8080";
	// cmd/ledgerd sets it from --public-url (default from --listen).
	PublicURL string
	// WebhookKey is the outbox master key (actors/outbox.LoadMasterKey):
	// webhook signing secrets derive from it. Never log it.
	WebhookKey []byte
	// WebhooksInsecure lets webhook URLs be http:// and non-public (loopback):
	// tests and --demo (--webhooks-insecure).
	WebhooksInsecure bool
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
	ck := checkout.Config{PublicURL: cfg.PublicURL, WebhookKey: cfg.WebhookKey, WebhooksInsecure: cfg.WebhooksInsecure}
	pcc := paychat.Config{PublicURL: cfg.PublicURL, WebhookKey: cfg.WebhookKey, Development: cfg.WebhooksInsecure}
	httpx.MountModules(r, errs, cfg.RequireHTTPS, // one line per API
		payshards.Module(sys),
		paypay.Module(sys),
		admin.Module(sys, cfg.AdminToken),
		paysmart.Module(sys, paysmart.Config{PublicURL: cfg.PublicURL, MasterKey: cfg.WebhookKey, AllowInsecure: cfg.WebhooksInsecure}),
		checkout.Module(sys, ck), checkout.PageModule(sys, ck), checkout.AdminModule(sys, ck, admin.Guard(cfg.AdminToken)),
		paychat.Module(sys, pcc), paychat.AdminModule(sys, pcc, admin.Guard(cfg.AdminToken)), paychat.PageModule(sys, pcc),
	)
	reg := cfg.Metrics
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	r.GET("/metrics", metricsHandler(reg))
	m := newHTTPMetrics(reg)
	return m.wrap(r.Handler)
}

// NewServer returns a fasthttp server for NewHandler's handler.
func NewServer(sys *actors.System, cfg Config) *httpx.Server {
	errs := &httpx.RequestErrors{}
	s := httpx.NewServer(newHandler(sys, cfg, errs))
	s.UseRequestErrors(errs)
	return s
}
