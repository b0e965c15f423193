package paysmart

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// openAPIDocument is the API's OpenAPI 3.1 document, written by hand; the
// black-box tests (api/apitest) check every answer they get against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the document served at Base+"/openapi.json". The caller
// must not modify it.
func OpenAPI() []byte { return openAPIDocument }

// serveOpenAPI is public and not rate limited.
func serveOpenAPI(ctx *fasthttp.RequestCtx) {
	reply(ctx, fasthttp.StatusOK, openAPIDocument)
}
