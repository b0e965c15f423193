package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"ledgerd/api/admin"
	"ledgerd/api/checkout"
	"ledgerd/api/paychat"
	"ledgerd/api/paypay"
	"ledgerd/api/payshards"
	"ledgerd/api/paysmart"
)

// RouteErrorSchema names the component schema of each document that
// describes the answer to a path below the API's base that is not one of
// its operations (404), or to a method the path lacks (405): such answers
// have no operation to be checked against.
const RouteErrorSchema = "RouteError"

// Contract is one API's OpenAPI document, parsed and checked, with the
// router that finds the operation of a request.
type Contract struct {
	Base   string // path prefix the document's paths are below, e.g. "/payshards/api/partner"
	Doc    *openapi3.T
	router routers.Router
}

// contractSources are the documents the server embeds and serves, by base.
var contractSources = []struct {
	base string
	doc  func() []byte
}{
	{payshards.Base, payshards.OpenAPI},
	{paypay.Base, paypay.OpenAPI},
	{checkout.Base, checkout.OpenAPI},
	{checkout.AdminBase, checkout.AdminOpenAPI}, // before admin: its paths are below /admin too
	{paychat.Base, paychat.OpenAPI},
	{paychat.AdminBase, paychat.AdminOpenAPI}, // before admin too
	{paychat.PagePath, paychat.PageOpenAPI},
	{admin.Base, admin.OpenAPI},
	{paysmart.Base, paysmart.OpenAPI},
}

// HTML pages (the PAYchat pay page) are checked for their status and
// content type; their body is a string.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder) }

// ParseContract parses an OpenAPI 3.1 document served below base and
// checks it: valid OpenAPI (with JSON Schema 2020-12 schemas), version
// 3.1.x, one server whose URL is base, and a RouteErrorSchema component.
func ParseContract(base string, data []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("apitest: %s document: %w", base, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		return nil, fmt.Errorf("apitest: %s document: openapi %q, want 3.1.x", base, doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("apitest: %s document: %w", base, err)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != base {
		return nil, fmt.Errorf("apitest: %s document: servers must be exactly [{url: %q}]", base, base)
	}
	if doc.Components == nil || doc.Components.Schemas[RouteErrorSchema] == nil {
		return nil, fmt.Errorf("apitest: %s document: no components.schemas.%s", base, RouteErrorSchema)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: %s document: router: %w", base, err)
	}
	return &Contract{Base: base, Doc: doc, router: router}, nil
}

// Contracts returns the parsed documents of every API that has one, parsed
// once per process.
var Contracts = sync.OnceValues(func() ([]*Contract, error) {
	out := make([]*Contract, 0, len(contractSources))
	for _, src := range contractSources {
		c, err := ParseContract(src.base, src.doc())
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
})

// CheckResponse checks one answer against the document of the API its
// request's path is below, and returns nil for paths below no API's base
// (such as /metrics). For a path that is an operation of the document, the
// status must be documented for it, every header the document gives that
// status must be present (if required) and match its schema, the
// Content-Type must be one the document lists and the body must match the
// schema. For a path that is not an operation, the answer must be 404 (no
// such path) or 405 (no such method) with a JSON body matching
// RouteErrorSchema. Request calls it on every response.
func CheckResponse(req *http.Request, status int, header http.Header, body []byte) error {
	contracts, err := Contracts()
	if err != nil {
		return err
	}
	for _, c := range contracts {
		if strings.HasPrefix(req.URL.Path, c.Base+"/") {
			return c.Check(req, status, header, body)
		}
	}
	return nil
}

// Check is CheckResponse against c alone.
func (c *Contract) Check(req *http.Request, status int, header http.Header, body []byte) error {
	what := fmt.Sprintf("%s %s answered %d %s", req.Method, req.URL.RequestURI(), status, body)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if err := c.checkRouteError(err, status, header, body); err != nil {
			return fmt.Errorf("apitest: openapi: %s: %w", what, err)
		}
		return nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("apitest: openapi: %s: %w", what, err)
	}
	return nil
}

// checkRouteError checks the answer to a request the router found no
// operation for (routeErr).
func (c *Contract) checkRouteError(routeErr error, status int, header http.Header, body []byte) error {
	var want int
	switch {
	case errors.Is(routeErr, routers.ErrPathNotFound):
		want = http.StatusNotFound
	case errors.Is(routeErr, routers.ErrMethodNotAllowed):
		want = http.StatusMethodNotAllowed
	default:
		return routeErr
	}
	if status != want {
		return fmt.Errorf("not in the document (%v): status must be %d", routeErr, want)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("not in the document (%v): Content-Type %q, want application/json", routeErr, ct)
	}
	var value any
	if err := json.Unmarshal(body, &value); err != nil {
		return fmt.Errorf("not in the document (%v): body is not JSON: %w", routeErr, err)
	}
	if err := c.Doc.Components.Schemas[RouteErrorSchema].Value.VisitJSON(value, openapi3.EnableJSONSchema2020()); err != nil {
		return fmt.Errorf("not in the document (%v): body does not match %s: %w", routeErr, RouteErrorSchema, err)
	}
	return nil
}
