package api

import (
	"net"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"ledgerd/actors"
)

// TestMetrics checks that GET /metrics serves request series by route
// pattern (not by path) next to the ledger's own WAL series.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	sys, err := actors.Start(actors.Config{DataDir: t.TempDir(), Metrics: reg, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Stop()
	srv := NewServer(sys, Config{AdminToken: "tok", Metrics: reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Shutdown(t.Context())
	base := "http://" + ln.Addr().String()
	get := func(path string, header ...string) (int, string) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(base + path)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		if err := fasthttp.Do(req, resp); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode(), string(resp.Body())
	}
	get("/admin/partners/ptr_x", "Authorization", "Bearer tok")
	get("/admin/partners/ptr_y", "Authorization", "Bearer tok")
	get("/no/such/path")
	get("/paysmart/v2/balance")
	get("/checkout/api/v1/payments/cp_x")
	get("/paychat/api/partner/me")
	req := fasthttp.AcquireRequest()
	req.SetRequestURI(base + "/admin/payshards/users/u1/credit")
	req.Header.SetMethod("POST")
	req.Header.Set("Authorization", "Bearer tok")
	req.SetBodyString(`{"amount":5,"reference":"r1"}`)
	if err := fasthttp.Do(req, fasthttp.AcquireResponse()); err != nil {
		t.Fatal(err)
	}
	status, body := get("/metrics")
	if status != 200 {
		t.Fatalf("GET /metrics: %d", status)
	}
	for _, want := range []string{
		`ledgerd_http_requests_total{api="admin",route="/admin/partners/{id}",status="404"} 2`,
		`ledgerd_http_requests_total{api="admin",route="/admin/payshards/users/{userId}/credit",status="200"} 1`,
		`ledgerd_http_requests_total{api="other",route="unmatched",status="404"} 1`,
		`ledgerd_http_requests_total{api="paysmart",route="/paysmart/v2/balance",status="401"} 1`,
		`api="checkout",route="/checkout/api/v1/`,
		`api="paychat",route="/paychat/api/partner/`,
		`ledgerd_wal_batch_events_count 1`,
		`ledgerd_committed_events_total 1`,
		`ledgerd_live_actors{kind="wallet"} 1`,
		`ledgerd_fsync_seconds_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
