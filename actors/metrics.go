package actors

import (
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the ledger's own Prometheus series. Observing them costs a
// few atomic adds on the committer's goroutine per batch, not per event.
type metrics struct {
	batchEvents prometheus.Histogram
	fsync       prometheus.Histogram
	committed   prometheus.Counter
	snapshot    prometheus.Histogram
	replay      prometheus.Gauge
	replayed    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, s *System) *metrics {
	m := &metrics{
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgerd_wal_batch_events", Help: "Events per WAL append (one fsync each).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13),
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgerd_fsync_seconds", Help: "Duration of a WAL append including its fsync.",
			Buckets: prometheus.ExponentialBuckets(25e-6, 2, 14),
		}),
		committed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ledgerd_committed_events_total", Help: "Events made durable since start.",
		}),
		snapshot: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "ledgerd_snapshot_seconds", Help: "Time to encode and write a snapshot, in the background (the committer pauses only to copy the state).",
			Buckets: prometheus.ExponentialBuckets(1e-3, 2, 14),
		}),
		replay: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledgerd_replay_seconds", Help: "Duration of the start-up recovery (snapshot load and WAL replay).",
		}),
		replayed: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ledgerd_replay_events", Help: "Events replayed from the WAL at start-up.",
		}),
	}
	reg.MustRegister(m.batchEvents, m.fsync, m.committed, m.snapshot, m.replay, m.replayed)
	short := map[string]int{} // "wallet" of "wallet/payshards": the label, unless two kinds share it
	for kind := range entityDefs {
		name, _, _ := strings.Cut(kind.String(), "/")
		short[name]++
	}
	for kind := range entityDefs {
		name, _, _ := strings.Cut(kind.String(), "/") // "wallet", "code"
		if short[name] > 1 {
			name = kind.String() // "payment/paysmart" and "payment/checkout"
		}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "ledgerd_live_actors", Help: "Entity actors alive now.", ConstLabels: prometheus.Labels{"kind": name},
		}, func() float64 { return float64(s.entities[kind].count.Load()) }))
	}
	return m
}

func (m *metrics) observeAppend(took time.Duration, events int) {
	m.fsync.Observe(took.Seconds())
	m.batchEvents.Observe(float64(events))
	m.committed.Add(float64(events))
}
