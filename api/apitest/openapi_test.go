package apitest_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/api/admin"
	"ledgerd/api/apitest"
	"ledgerd/api/paypay"
	"ledgerd/api/payshards"
)

// TestOpenAPI_ServedDocuments fetches each module's openapi.json and
// checks that it is the embedded document, served as application/json,
// and that it parses as valid OpenAPI 3.1.
func TestOpenAPI_ServedDocuments(t *testing.T) {
	s := apitest.Start(t)
	docs := []struct {
		base string
		h    apitest.Header
		doc  []byte
	}{
		{payshards.Base, nil, payshards.OpenAPI()},
		{paypay.Base, nil, paypay.OpenAPI()},
		{admin.Base, apitest.Bearer(s.AdminToken), admin.OpenAPI()},
	}
	for _, d := range docs {
		t.Run(d.base, func(t *testing.T) {
			r := s.Do(t, "GET", d.base+"/openapi.json", d.h, nil)
			r.WantStatus(t, http.StatusOK)
			if !bytes.Equal(r.Body, d.doc) {
				t.Fatalf("served document differs from the embedded one")
			}
			c, err := apitest.ParseContract(d.base, r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !c.Doc.IsOpenAPI31OrLater() || c.Doc.IsOpenAPI32OrLater() {
				t.Fatalf("openapi %q, want 3.1.x", c.Doc.OpenAPI)
			}
		})
	}
	// The admin document is behind the admin token like every admin route.
	s.Do(t, "GET", "/admin/openapi.json", nil, nil).WantError(t, http.StatusUnauthorized, "unauthorized")
	s.Do(t, "GET", "/admin/openapi.json", apitest.Bearer(s.NewPartner(t, "payshards").APIKey), nil).
		WantError(t, http.StatusUnauthorized, "unauthorized")
}

// TestParseContract_Refuses checks that a document that is not valid
// OpenAPI 3.1, or lacks what the checks rely on, is refused.
func TestParseContract_Refuses(t *testing.T) {
	valid := string(payshards.OpenAPI())
	if _, err := apitest.ParseContract(payshards.Base, []byte(valid)); err != nil {
		t.Fatalf("the real document: %v", err)
	}
	cases := map[string]string{
		"openapi 3.0":       strings.Replace(valid, `"openapi": "3.1.0"`, `"openapi": "3.0.3"`, 1),
		"not JSON":          valid[:len(valid)/2],
		"no info":           strings.Replace(valid, `"info":`, `"x-info":`, 1),
		"dangling $ref":     strings.Replace(valid, `"#/components/schemas/UserId"`, `"#/components/schemas/NoSuch"`, 1),
		"another server":    strings.Replace(valid, `"url": "/payshards/api/partner"`, `"url": "/payshards"`, 1),
		"no RouteError":     strings.Replace(valid, `"RouteError":`, `"OtherError":`, 1),
		"bad schema type":   strings.Replace(valid, `"type": "integer"`, `"type": "int"`, 1),
		"response no descr": strings.Replace(valid, `"description": "The balance.",`, ``, 1),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if doc == valid {
				t.Fatal("the case did not change the document")
			}
			if _, err := apitest.ParseContract(payshards.Base, []byte(doc)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// answer is a response as CheckResponse sees it.
type answer struct {
	method, path string
	status       int
	header       http.Header
	body         string
}

func (a answer) check() error {
	req, err := http.NewRequest(a.method, "http://127.0.0.1:1"+a.path, nil)
	if err != nil {
		panic(err)
	}
	return apitest.CheckResponse(req, a.status, a.header, []byte(a.body))
}

// TestCheckResponse_CatchesDrift takes real answers of the server, checks
// that each passes, then that each change of one thing the document fixes
// (an undocumented status or field, a missing member or header, a wrong
// type or text, an undocumented route) is caught.
func TestCheckResponse_CatchesDrift(t *testing.T) {
	s := apitest.Start(t)
	p := s.NewPartner(t, "payshards")
	user := s.NewUser(t, 1000)
	pp := s.NewPayPayPartner(t, 0)
	code := s.IssueCode(t, pp.ID, time.Now().Add(time.Hour))
	real := func(method, path string, h apitest.Header, body any) answer {
		r := s.Do(t, method, path, h, body) // passes CheckResponse, or Do fails the test
		return answer{method, path, r.Status, r.Header, string(r.Body)}
	}
	deduct := real("POST", payshards.Base+"/deduct", apitest.APIKey(p.APIKey),
		map[string]any{"userId": user, "amount": 250, "reference": "drift_1"})
	noKey := real("GET", payshards.Base+"/balance?userId="+user, nil, nil)
	validate := real("POST", paypay.Base+"/validate", apitest.Bearer(pp.APIKey), map[string]string{"code": code})
	unauthorized := real("POST", paypay.Base+"/redeem", nil, map[string]string{"code": code})
	created := real("POST", admin.Base+"/partners", apitest.Bearer(s.AdminToken), map[string]string{"api": "paypay", "name": "Drift"})
	key := real("POST", admin.Base+"/partners/"+pp.ID+"/keys", apitest.Bearer(s.AdminToken), nil)
	noRoute := real("GET", payshards.Base+"/nothing", apitest.APIKey(p.APIKey), nil)
	noMethod := real("GET", paypay.Base+"/redeem", nil, nil)

	for _, a := range []answer{deduct, noKey, validate, unauthorized, created, key, noRoute, noMethod} {
		if err := a.check(); err != nil {
			t.Fatalf("a real answer fails: %v", err)
		}
	}
	withHeader := func(a answer, name, value string) answer {
		a.header = a.header.Clone()
		if value == "" {
			a.header.Del(name)
		} else {
			a.header.Set(name, value)
		}
		return a
	}
	withStatus := func(a answer, status int) answer { a.status = status; return a }
	withBody := func(a answer, old, new string) answer {
		if !strings.Contains(a.body, old) {
			t.Fatalf("%q not in %s", old, a.body)
		}
		a.body = strings.Replace(a.body, old, new, 1)
		return a
	}
	cases := map[string]answer{
		"undocumented status":         withStatus(deduct, http.StatusTeapot),
		"status of another operation": withStatus(noKey, http.StatusPaymentRequired),
		"extra field":                 withBody(deduct, `{`, `{"fee":0,`),
		"missing field":               withBody(deduct, `,"idempotent":false`, ``),
		"number as string":            withBody(deduct, `"newBalance":750`, `"newBalance":"750"`),
		"undocumented error code":     withBody(noKey, `missing_api_key`, `no_key`),
		"another Content-Type":        withHeader(deduct, "Content-Type", "text/plain"),
		"no X-Request-Id":             withHeader(validate, "X-Request-Id", ""),
		"malformed X-Request-Id":      withHeader(validate, "X-Request-Id", "req_short"),
		"boolean as string":           withBody(validate, `"valid":true`, `"valid":"yes"`),
		"envelope message changed":    withBody(unauthorized, `Missing or invalid bearer token.`, `Go away.`),
		"envelope without request_id": withBody(unauthorized, `,"request_id"`, `,"requestId"`),
		"429 without Retry-After":     answer{"POST", payshards.Base + "/deduct", 429, http.Header{"Content-Type": {"application/json"}}, `{"error":"rate_limited"}`},
		"apiKey missing at creation":  withBody(created, `"apiKey"`, `"key"`),
		"key with an extra field":     withBody(key, `{`, `{"secret":"x",`),
		"active key with revoked_at":  withBody(key, `{`, `{"revoked_at":"2026-01-01T00:00:00.000Z",`),
		"no route answered 200":       withStatus(noRoute, http.StatusOK),
		"no route, extra member":      withBody(noRoute, `{`, `{"path":"/nothing",`),
		"no method answered 404":      withStatus(noMethod, http.StatusNotFound),
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			if err := a.check(); err == nil {
				t.Fatalf("not caught: %d %v %s", a.status, a.header, a.body)
			} else {
				t.Log(err)
			}
		})
	}
}

// TestOpenAPI_HTTPSRequired checks the 403 every PayPay.cards route, its
// document included, gives a plain-HTTP call under --require-https, and
// that PayShards and admin routes are not under that rule.
func TestOpenAPI_HTTPSRequired(t *testing.T) {
	s := apitest.StartWith(t, apitest.Options{RequireHTTPS: true})
	pp := s.NewPayPayPartner(t, 0)
	for _, c := range []struct{ method, path string }{
		{"GET", "/health"}, {"POST", "/validate"}, {"POST", "/redeem"},
		{"GET", "/redemption_attempts"}, {"GET", "/openapi.json"},
	} {
		r := s.PayPay(t, c.method, c.path, pp.APIKey, map[string]string{"code": "PP-2222-3333-4444"})
		r.WantError(t, http.StatusForbidden, paypay.CodeHTTPSRequired)
	}
	s.Do(t, "GET", payshards.Base+"/openapi.json", nil, nil).WantStatus(t, http.StatusOK)
	s.Admin(t, "GET", "/openapi.json", nil).WantStatus(t, http.StatusOK)
}

// TestOpenAPI_BodyOverWireLimit checks the HTTP layer's answer to a body
// over 1 MiB against the documents: fasthttp refuses it from its
// Content-Length, before any handler runs, and each API answers 413 in its
// own envelope. The request is written by hand so that the server's early
// close cannot reset a client still sending.
func TestOpenAPI_BodyOverWireLimit(t *testing.T) {
	s := apitest.Start(t)
	for _, path := range []string{payshards.Base + "/deduct", admin.Base + "/partners", paypay.Base + "/redeem"} {
		conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, 1<<20+1)
		req, _ := http.NewRequest("POST", s.URL+path, nil)
		resp, err := http.ReadResponse(bufio.NewReader(conn), req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s, want 413 application/json: %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if err := apitest.CheckResponse(req, resp.StatusCode, resp.Header, body); err != nil {
			t.Fatal(err)
		}
	}
}
