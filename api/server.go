package api

import (
	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/admin"
	"ledgerd/api/httpx"
	"ledgerd/api/payshards"
)

// Config is what the HTTP front end needs besides the ledger.
type Config struct {
	AdminToken string
}

// NewHandler returns the request handler serving every API on sys.
func NewHandler(sys *actors.System, cfg Config) fasthttp.RequestHandler {
	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	payshards.Register(r, sys)
	admin.Register(r, sys, cfg.AdminToken)
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		httpx.Reply(ctx, fasthttp.StatusNotFound, []byte(`{"error":"not_found"}`))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		httpx.Reply(ctx, fasthttp.StatusMethodNotAllowed, []byte(`{"error":"method_not_allowed"}`))
	}
	return r.Handler
}

// NewServer returns a fasthttp server for NewHandler's handler.
func NewServer(sys *actors.System, cfg Config) *httpx.Server {
	return httpx.NewServer(NewHandler(sys, cfg))
}
