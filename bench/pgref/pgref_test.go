package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"ledgerd/api/httpx"
)

const testKey = "pk_test_key"

// testServer is pgref's handler on a throwaway PostgreSQL, seeded with
// u0..u2 at 1000, served on an in-memory listener.
type testServer struct {
	t      *testing.T
	client *fasthttp.Client
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	dsn := startPostgres(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := options{dsn: dsn, apiKey: testKey, pool: 16, seedUsers: 3, seedBalance: 1000, reset: true}
	st, err := openStore(context.Background(), o, log)
	if err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	srv := httpx.NewServer(newHandler(st, testKey, log))
	go srv.Serve(ln) //nolint:errcheck // ends with the listener
	t.Cleanup(func() {
		_ = srv.Shutdown(context.Background())
		st.pool.Close()
	})
	client := &fasthttp.Client{
		Dial:            func(string) (net.Conn, error) { return ln.Dial() },
		MaxConnsPerHost: 256,
	}
	return &testServer{t: t, client: client}
}

func (s *testServer) do(method, path, key, body string) (int, string) {
	s.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://pgref" + path)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	req.SetBodyString(body)
	if err := s.client.Do(req, resp); err != nil {
		s.t.Errorf("%s %s: %v", method, path, err)
		return 0, ""
	}
	return resp.StatusCode(), string(resp.Body())
}

func (s *testServer) deduct(user string, amount int, ref string) (int, string) {
	body := fmt.Sprintf(`{"userId":%q,"amount":%d,"reference":%q}`, user, amount, ref)
	return s.do("POST", "/payshards/api/partner/deduct", testKey, body)
}

func TestServer_Deduct(t *testing.T) {
	s := newTestServer(t)
	steps := []struct {
		name       string
		method     string
		path, key  string
		body       string
		wantStatus int
		wantBody   string
	}{
		{"missing key", "POST", "/deduct", "", `{"userId":"u0","amount":1,"reference":"r"}`, 401, `{"error":"missing_api_key"}`},
		{"wrong key", "POST", "/deduct", "pk_other", `{"userId":"u0","amount":1,"reference":"r"}`, 401, `{"error":"invalid_api_key"}`},
		{"float amount", "POST", "/deduct", testKey, `{"userId":"u0","amount":250.0,"reference":"r"}`, 400, `{"error":"invalid_request"}`},
		{"zero amount", "POST", "/deduct", testKey, `{"userId":"u0","amount":0,"reference":"r"}`, 400, `{"error":"invalid_request"}`},
		{"unknown field", "POST", "/deduct", testKey, `{"userId":"u0","amount":1,"reference":"r","x":1}`, 400, `{"error":"invalid_request"}`},
		{"no reference", "POST", "/deduct", testKey, `{"userId":"u0","amount":1}`, 400, `{"error":"invalid_request"}`},
		{"deduct", "POST", "/deduct", testKey, `{"userId":"u0","amount":250,"reference":"order_1","description":"Pro export"}`, 200, `{"success":true,"newBalance":750,"idempotent":false}`},
		{"replay", "POST", "/deduct", testKey, `{"userId":"u0","amount":250,"reference":"order_1"}`, 200, `{"success":true,"newBalance":750,"idempotent":true}`},
		{"other amount", "POST", "/deduct", testKey, `{"userId":"u0","amount":251,"reference":"order_1"}`, 409, `{"error":"idempotency_conflict"}`},
		{"other user", "POST", "/deduct", testKey, `{"userId":"u1","amount":250,"reference":"order_1"}`, 409, `{"error":"idempotency_conflict"}`},
		{"second deduct", "POST", "/deduct", testKey, `{"userId":"u0","amount":700,"reference":"order_2"}`, 200, `{"success":true,"newBalance":50,"idempotent":false}`},
		{"insufficient", "POST", "/deduct", testKey, `{"userId":"u0","amount":51,"reference":"order_3"}`, 402, `{"error":"insufficient_balance","balance":50}`},
		{"exact balance", "POST", "/deduct", testKey, `{"userId":"u0","amount":50,"reference":"order_4"}`, 200, `{"success":true,"newBalance":0,"idempotent":false}`},
		{"402 replayed, not re-decided", "POST", "/deduct", testKey, `{"userId":"u0","amount":51,"reference":"order_3"}`, 402, `{"error":"insufficient_balance","balance":50}`},
		{"200 replayed after later deducts", "POST", "/deduct", testKey, `{"userId":"u0","amount":250,"reference":"order_1"}`, 200, `{"success":true,"newBalance":750,"idempotent":true}`},
		{"unknown user", "POST", "/deduct", testKey, `{"userId":"nobody","amount":1,"reference":"order_5"}`, 404, `{"error":"unknown_user"}`},
		{"404 replayed", "POST", "/deduct", testKey, `{"userId":"nobody","amount":1,"reference":"order_5"}`, 404, `{"error":"unknown_user"}`},
		{"404 reference bound", "POST", "/deduct", testKey, `{"userId":"u1","amount":1,"reference":"order_5"}`, 409, `{"error":"idempotency_conflict"}`},
		{"balance", "GET", "/balance?userId=u0", testKey, "", 200, `{"userId":"u0","balance":0}`},
		{"balance untouched", "GET", "/balance?userId=u1", testKey, "", 200, `{"userId":"u1","balance":1000}`},
		{"balance unknown user", "GET", "/balance?userId=nobody", testKey, "", 404, `{"error":"unknown_user"}`},
		{"balance no user", "GET", "/balance", testKey, "", 400, `{"error":"invalid_request"}`},
		{"balance no key", "GET", "/balance?userId=u0", "", "", 401, `{"error":"missing_api_key"}`},
	}
	for _, st := range steps {
		status, body := s.do(st.method, "/payshards/api/partner"+st.path, st.key, st.body)
		if status != st.wantStatus || body != st.wantBody {
			t.Errorf("%s: got %d %s, want %d %s", st.name, status, body, st.wantStatus, st.wantBody)
		}
	}
}

// concurrently runs f(0..n-1) at once and returns each answer.
func concurrently(n int, f func(i int) (int, string)) ([]int, []string) {
	statuses, bodies := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], bodies[i] = f(i)
		}()
	}
	wg.Wait()
	return statuses, bodies
}

// TestServer_ConcurrentDeducts: 50 deducts of 100 at once on a balance of
// 1000, each with its own reference: exactly 10 succeed. Then every
// reference retried twice at once gets its first outcome back.
func TestServer_ConcurrentDeducts(t *testing.T) {
	s := newTestServer(t)
	const n = 50
	statuses, bodies := concurrently(n, func(i int) (int, string) {
		return s.deduct("u1", 100, fmt.Sprintf("c_%d", i))
	})
	okCount := 0
	balances := map[string]bool{}
	for i, st := range statuses {
		switch {
		case st == 200:
			okCount++
			balances[bodies[i]] = true
		case st == 402 && bodies[i] == `{"error":"insufficient_balance","balance":0}`:
		default:
			t.Errorf("c_%d: %d %s", i, st, bodies[i])
		}
	}
	if okCount != 10 || len(balances) != 10 {
		t.Fatalf("%d deducts succeeded with %d distinct new balances, want 10 and 10", okCount, len(balances))
	}
	retryStatuses, retryBodies := concurrently(2*n, func(i int) (int, string) {
		return s.deduct("u1", 100, fmt.Sprintf("c_%d", i%n))
	})
	for i, st := range retryStatuses {
		want := strings.Replace(bodies[i%n], `"idempotent":false`, `"idempotent":true`, 1)
		if st != statuses[i%n] || retryBodies[i] != want {
			t.Errorf("retry of c_%d: %d %s, want %d %s", i%n, st, retryBodies[i], statuses[i%n], want)
		}
	}
	if status, body := s.do("GET", "/payshards/api/partner/balance?userId=u1", testKey, ""); body != `{"userId":"u1","balance":0}` {
		t.Errorf("balance: %d %s", status, body)
	}
}

// TestServer_ConcurrentSameReference: 20 requests with one reference at
// once apply once; the others wait for its commit and replay it.
func TestServer_ConcurrentSameReference(t *testing.T) {
	s := newTestServer(t)
	statuses, bodies := concurrently(20, func(int) (int, string) { return s.deduct("u2", 300, "same") })
	fresh := 0
	for i, st := range statuses {
		switch bodies[i] {
		case `{"success":true,"newBalance":700,"idempotent":false}`:
			fresh++
		case `{"success":true,"newBalance":700,"idempotent":true}`:
		default:
			t.Errorf("request %d: %d %s", i, st, bodies[i])
		}
	}
	if fresh != 1 {
		t.Errorf("%d requests applied the deduct, want 1", fresh)
	}
	if _, body := s.do("GET", "/payshards/api/partner/balance?userId=u2", testKey, ""); body != `{"userId":"u2","balance":700}` {
		t.Errorf("balance: %s", body)
	}
}

func TestStore_RefusesAsyncCommit(t *testing.T) {
	dsn := startPostgres(t)
	config, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	config.RuntimeParams["synchronous_commit"] = "off"
	p, err := openPool(context.Background(), config, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st := &store{pool: p}
	err = st.checkDurable(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "synchronous_commit") {
		t.Fatalf("checkDurable with synchronous_commit=off: %v", err)
	}
}
