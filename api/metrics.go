package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// httpMetrics counts requests by API, route pattern and status, and times
// them by API and route. Route patterns (not paths) keep the label set small.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerd_http_requests_total", Help: "HTTP requests answered, by API, route and status.",
		}, []string{"api", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ledgerd_http_request_seconds", Help: "Time from handler start to answer, by API and route.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}, []string{"api", "route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// wrap instruments the router's handler; the router must save the
// matched route pattern (SaveMatchedRoutePath).
func (m *httpMetrics) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		h(ctx)
		route, _ := ctx.UserValue(router.MatchedRoutePathParam).(string)
		if route == "" {
			route = "unmatched"
		}
		api := apiOf(route)
		m.requests.WithLabelValues(api, route, statusText(ctx.Response.StatusCode())).Inc()
		m.latency.WithLabelValues(api, route).Observe(time.Since(start).Seconds())
	}
}

func apiOf(route string) string {
	for _, api := range []string{"payshards", "paypay", "admin", "paysmart", "checkout", "paychat"} {
		if strings.HasPrefix(route, "/"+api+"/") {
			return api
		}
	}
	if route == "/metrics" {
		return "metrics"
	}
	return "other"
}

var statusTexts = func() map[int]string {
	m := make(map[int]string)
	for code := 100; code < 600; code++ {
		m[code] = strconv.Itoa(code)
	}
	return m
}()

func statusText(code int) string {
	if s, ok := statusTexts[code]; ok {
		return s
	}
	return strconv.Itoa(code)
}

// metricsHandler serves the Prometheus text format of reg.
func metricsHandler(reg prometheus.Gatherer) fasthttp.RequestHandler {
	return fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
}
