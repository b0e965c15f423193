package checkout

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

func serveOpenAPI(ctx *fasthttp.RequestCtx) { httpx.Reply(ctx, fasthttp.StatusOK, openAPIDocument) }

// adminOpenAPIDocument is the OpenAPI 3.1 document of the shop routes
// below AdminBase.
//
//go:embed admin_openapi.json
var adminOpenAPIDocument []byte

// AdminOpenAPI returns the shop routes' OpenAPI 3.1 document.
func AdminOpenAPI() []byte { return adminOpenAPIDocument }
