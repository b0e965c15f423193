package httpx

import (
	"bytes"
	"sort"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// Module is one API as the shared HTTP layer sees it: its base path, its
// routes, and its own envelope for what the shared layer refuses before
// or instead of a route (no such path, no such method, a request fasthttp
// could not read). Each API package returns one from its Module function;
// api/server.go lists them, one line each.
type Module struct {
	Name string // "payshards": for logs and metrics
	Base string // "/payshards/api/partner": every route is at or below it
	// Routes adds the API's routes; the Router applies the module's chain
	// to each (HTTPS enforcement where configured, then Middleware).
	Routes func(r *Router)
	// Middleware runs around every route of the module, outermost first
	// (request ids, body limits, ...).
	Middleware []Middleware
	// The module's envelope for refusals of the shared layer; nil: the
	// shared plain JSON ({"error":"not_found"}, ...).
	NotFound         fasthttp.RequestHandler
	MethodNotAllowed fasthttp.RequestHandler
	RequestError     RequestErrorWriter
	// HTTPSReject, when set, is the module's answer to a plain-HTTP call
	// when the server requires HTTPS for it (RequireHTTPS).
	HTTPSReject fasthttp.RequestHandler
}

// Middleware wraps a handler.
type Middleware func(fasthttp.RequestHandler) fasthttp.RequestHandler

// Router is what a module's Routes sees: the server's router with the
// module's chain applied to every handler.
type Router struct {
	r    *router.Router
	wrap Middleware
}

func (r *Router) handle(method, path string, h fasthttp.RequestHandler) {
	r.r.Handle(method, path, r.wrap(h))
}

// GET, POST, PUT, PATCH, DELETE and OPTIONS add a route.
func (r *Router) GET(path string, h fasthttp.RequestHandler)  { r.handle(fasthttp.MethodGet, path, h) }
func (r *Router) POST(path string, h fasthttp.RequestHandler) { r.handle(fasthttp.MethodPost, path, h) }
func (r *Router) PUT(path string, h fasthttp.RequestHandler)  { r.handle(fasthttp.MethodPut, path, h) }
func (r *Router) PATCH(path string, h fasthttp.RequestHandler) {
	r.handle(fasthttp.MethodPatch, path, h)
}
func (r *Router) DELETE(path string, h fasthttp.RequestHandler) {
	r.handle(fasthttp.MethodDelete, path, h)
}

// OPTIONS adds a route answering CORS preflights (the router answers
// other OPTIONS requests itself).
func (r *Router) OPTIONS(path string, h fasthttp.RequestHandler) {
	r.handle(fasthttp.MethodOptions, path, h)
}

// Mount is the server's side of the seam: the mounted modules, to route
// 404s, 405s and fasthttp's request errors to the module whose base path
// the request targets (the longest match).
type Mount struct {
	modules []Module // longest base first
}

// MountModules adds every module's routes to r with its chain, installs
// r's NotFound and MethodNotAllowed and adds the modules' RequestError
// writers to errs. requireHTTPS applies each module's HTTPSReject (where it
// has one) to plain-HTTP calls.
func MountModules(r *router.Router, errs *RequestErrors, requireHTTPS bool, mods ...Module) *Mount {
	m := &Mount{modules: append([]Module(nil), mods...)}
	sort.SliceStable(m.modules, func(i, j int) bool { return len(m.modules[i].Base) > len(m.modules[j].Base) })
	for _, mod := range mods {
		chain := chainOf(mod, requireHTTPS)
		mod.Routes(&Router{r: r, wrap: chain})
		if mod.RequestError != nil {
			errs.Add(mod.Base, mod.RequestError)
		}
	}
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		if mod := m.owner(ctx.Path()); mod != nil && mod.NotFound != nil {
			mod.NotFound(ctx)
			return
		}
		Reply(ctx, fasthttp.StatusNotFound, []byte(`{"error":"not_found"}`))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		if mod := m.owner(ctx.Path()); mod != nil && mod.MethodNotAllowed != nil {
			mod.MethodNotAllowed(ctx)
			return
		}
		Reply(ctx, fasthttp.StatusMethodNotAllowed, []byte(`{"error":"method_not_allowed"}`))
	}
	return m
}

func chainOf(mod Module, requireHTTPS bool) Middleware {
	mws := mod.Middleware
	if requireHTTPS && mod.HTTPSReject != nil {
		reject := mod.HTTPSReject
		mws = append([]Middleware{func(h fasthttp.RequestHandler) fasthttp.RequestHandler { return RequireHTTPS(h, reject) }}, mws...)
	}
	return func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
		for i := len(mws) - 1; i >= 0; i-- {
			h = mws[i](h)
		}
		return h
	}
}

// owner is the module whose base is the longest prefix of path.
func (m *Mount) owner(path []byte) *Module {
	for i := range m.modules {
		b := []byte(m.modules[i].Base)
		if bytes.Equal(path, b) || (bytes.HasPrefix(path, b) && len(path) > len(b) && path[len(b)] == '/') {
			return &m.modules[i]
		}
	}
	return nil
}
