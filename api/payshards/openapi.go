package payshards

import (
	_ "embed"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// openAPIDocument is the API's OpenAPI 3.1 document, written by hand from
// the spec and the server's behaviour; the black-box tests (api/apitest)
// check every answer they get against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the API's OpenAPI 3.1 document as served at
// Base+"/openapi.json". The caller must not modify it.
func OpenAPI() []byte { return openAPIDocument }

// serveOpenAPI answers with the document. It is public and not rate
// limited, like the spec itself.
func serveOpenAPI(ctx *fasthttp.RequestCtx) {
	httpx.Reply(ctx, fasthttp.StatusOK, openAPIDocument)
}
