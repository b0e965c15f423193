package httpx

import (
	"testing"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"
)

// TestMountModules: each module's routes get its chain (outermost
// first), and 404s and 405s go to the module with the longest matching
// base, or to the shared answer outside every module.
func TestMountModules(t *testing.T) {
	r := router.New()
	var order []string
	mw := func(name string) Middleware {
		return func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
			return func(ctx *fasthttp.RequestCtx) { order = append(order, name); h(ctx) }
		}
	}
	answer := func(body string) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(body) }
	}
	outer := Module{Name: "a", Base: "/a", NotFound: answer("a 404"), MethodNotAllowed: answer("a 405"),
		Middleware: []Middleware{mw("first"), mw("second")},
		Routes:     func(r *Router) { r.GET("/a/x", answer("a x")) }}
	inner := Module{Name: "ab", Base: "/a/b", NotFound: answer("ab 404"),
		Routes: func(r *Router) { r.POST("/a/b/y", answer("ab y")) }}
	MountModules(r, &RequestErrors{}, false, outer, inner)
	call := func(method, path string) string {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		r.Handler(&ctx)
		return string(ctx.Response.Body())
	}
	if got := call("GET", "/a/x"); got != "a x" || len(order) != 2 || order[0] != "first" || order[1] != "second" {
		t.Fatalf("route: %q, chain %v", got, order)
	}
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/a/nope", "a 404"},
		{"GET", "/a/b/nope", "ab 404"},
		{"GET", "/ab", `{"error":"not_found"}`}, // a prefix that only looks like /a
		{"GET", "/elsewhere", `{"error":"not_found"}`},
		{"POST", "/a/x", "a 405"},
		{"GET", "/a/b/y", `{"error":"method_not_allowed"}`}, // ab has no 405 of its own
	} {
		if got := call(c.method, c.path); got != c.want {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, got, c.want)
		}
	}
}
