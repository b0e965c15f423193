// Package apitest runs ledgerd end to end for black-box HTTP tests: a real
// actors.System on a temporary data directory, the fasthttp server from
// api.NewServer on a real loopback listener (127.0.0.1:0), and a net/http
// client talking to it.
//
// A test starts a server, sets up partners and users through the admin API,
// and then speaks plain HTTP:
//
//	s := apitest.Start(t)
//	p := s.NewPartner(t, "payshards")           // POST /admin/partners
//	s.Credit(t, "u_123", 1500, "topup_1")       // POST /admin/payshards/users/u_123/credit
//	r := s.Do(t, "POST", "/payshards/api/partner/deduct",
//		apitest.APIKey(p.APIKey), `{"userId":"u_123","amount":250,"reference":"r1"}`)
//	r.WantJSON(t, 200, `{"success":true,"newBalance":1250,"idempotent":false}`)
//
// Everything the server answers is durable before it answers (see
// DESIGN.md), so tests never sleep or poll: a response is the state.
//
// PayPay.cards tests use NewPayPayPartner, IssueCodes and PayPay (Bearer
// key, path below /paypay/api/v1). Options.Now sets the System's clock: an
// apitest.Clock lets a test move time for rate-limit windows, code expiry
// and idempotency retention (Options.ExpiryEvery makes the retention tick
// frequent). The health endpoint and the admin API's expires_at check read
// the real clock.
//
// Restart stops the HTTP server and the System cleanly and starts both
// again on the same data directory (on a new port: URL changes), to test
// what survives a restart. The server and System are stopped in t.Cleanup.
//
// Every response whose path is below an API's base is checked against that
// API's OpenAPI 3.1 document (the openapi.json each module embeds and
// serves): the operation, a documented status, the documented headers, the
// Content-Type and the body schema. A mismatch makes Request return an
// error, so Do fails the test; CheckResponse does the check alone.
//
// Helpers that may fail the test take a testing.TB as their first argument
// and call t.Fatalf; pass the t of the (sub)test that is running, never a
// parent's. From other goroutines use Request, which returns an error
// instead of failing the test.
//
// The package is for tests only; nothing in ledgerd's binaries imports it.
package apitest
