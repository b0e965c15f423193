package paychat

import (
	_ "embed"

	"github.com/valyala/fasthttp"
)

// openAPIDocument is the partner API's OpenAPI 3.1 document, written by
// hand from the spec and the server's behaviour; the black-box tests
// (api/apitest) check every answer they get against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the partner API's document as served at
// Base+"/openapi.json". The caller must not modify it.
func OpenAPI() []byte { return openAPIDocument }

func serveOpenAPI(ctx *fasthttp.RequestCtx) { reply(ctx, fasthttp.StatusOK, openAPIDocument) }

// adminOpenAPIDocument is the document of the sandbox routes below
// AdminBase.
//
//go:embed admin_openapi.json
var adminOpenAPIDocument []byte

// AdminOpenAPI returns the sandbox routes' OpenAPI 3.1 document.
func AdminOpenAPI() []byte { return adminOpenAPIDocument }

// pageOpenAPIDocument is the document of the pay page's routes.
//
//go:embed page_openapi.json
var pageOpenAPIDocument []byte

// PageOpenAPI returns the pay page's OpenAPI 3.1 document.
func PageOpenAPI() []byte { return pageOpenAPIDocument }
