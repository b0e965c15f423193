package api

import (
	"strconv"
	"strings"
	"sync"
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
	routes   sync.Map // route pattern -> *routeMetrics
}

// routeMetrics holds one route's series, looked up once: WithLabelValues
// hashes its labels and takes the vector's lock on every call, which cost
// ~0.7 µs per request in a CPU profile of PayShards deducts.
type routeMetrics struct {
	latency prometheus.Observer
	api     string
	route   string
	status  sync.Map // status code -> prometheus.Counter
}

func (m *httpMetrics) route(route string) *routeMetrics {
	if r, ok := m.routes.Load(route); ok {
		return r.(*routeMetrics)
	}
	api := apiOf(route)
	r, _ := m.routes.LoadOrStore(route, &routeMetrics{latency: m.latency.WithLabelValues(api, route), api: api, route: route})
	return r.(*routeMetrics)
}

func (m *httpMetrics) counter(r *routeMetrics, code int) prometheus.Counter {
	if c, ok := r.status.Load(code); ok {
		return c.(prometheus.Counter)
	}
	c, _ := r.status.LoadOrStore(code, m.requests.WithLabelValues(r.api, r.route, statusText(code)))
	return c.(prometheus.Counter)
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
		r := m.route(route)
		m.counter(r, ctx.Response.StatusCode()).Inc()
		r.latency.Observe(time.Since(start).Seconds())
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
