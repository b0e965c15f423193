package paypay

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

// serveOpenAPI answers with the document: public and not rate limited like
// /health, and like every PayPay.cards route under the HTTPS rule (the
// wrap of Register), so that "HTTP calls are rejected" has no exception.
func serveOpenAPI(ctx *fasthttp.RequestCtx) {
	SetRequestID(ctx, NewRequestID())
	httpx.Reply(ctx, fasthttp.StatusOK, openAPIDocument)
}
