package admin

import (
	"github.com/valyala/fasthttp"
)

// Message texts of the admin answers to a route the API does not serve.
const (
	MsgRouteNotFound    = "No such admin endpoint."
	MsgMethodNotAllowed = "Method not allowed on this admin endpoint."
)

// NotFound answers a path the admin API does not serve with its envelope:
// 404 {"error":"not_found","message":…}. It needs no token: the routes are
// documented, and it changes nothing.
func NotFound(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusNotFound, "not_found", MsgRouteNotFound)
}

// MethodNotAllowed answers a method an admin route does not serve: 405
// {"error":"method_not_allowed","message":…} (the router sets Allow).
func MethodNotAllowed(ctx *fasthttp.RequestCtx) {
	writeError(ctx, fasthttp.StatusMethodNotAllowed, "method_not_allowed", MsgMethodNotAllowed)
}
