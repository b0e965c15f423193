package outbox

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	attempt    *prometheus.HistogramVec
	oldest     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ledgerd_webhook_deliveries_total",
			Help: "Webhook delivery attempts by API and the delivery's status after them (pending: a retry is scheduled).",
		}, []string{"api", "outcome"}),
		attempt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ledgerd_webhook_attempt_seconds",
			Help:    "Duration of webhook delivery attempts, by API.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"api"}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledgerd_webhook_oldest_pending_seconds",
			Help: "Age of the oldest pending webhook delivery (0 when none).",
		}),
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.attempt, m.oldest} {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if errors.As(err, &dup) {
				return nil, fmt.Errorf("outbox: metrics already registered: %w", err)
			}
			return nil, fmt.Errorf("outbox: metrics: %w", err)
		}
	}
	return m, nil
}
