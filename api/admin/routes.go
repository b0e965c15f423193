package admin

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// Message texts of the admin answers to a route the API does not serve.
const (
	MsgRouteNotFound    = "No such admin endpoint."
	MsgMethodNotAllowed = "Method not allowed on this admin endpoint."
)

// Owns reports whether path is under the admin API (Base or below), whose
// unrouted requests get NotFound and MethodNotAllowed.
func Owns(path []byte) bool {
	return bytes.Equal(path, []byte(Base)) || bytes.HasPrefix(path, []byte(Base+"/"))
}

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
