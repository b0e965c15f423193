package outbox

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	eob "ledgerd/engine/outbox"
)

// metricValue is the value of the series of family name whose labels
// include want (a counter, a gauge, or a histogram's sample count).
func metricValue(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue(), true
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue(), true
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// TestSender_Metrics: deliveries are counted by API and outcome, every
// attempt's latency is observed, and the oldest pending delivery's age
// follows the clock and drops to 0 once nothing is pending.
func TestSender_Metrics(t *testing.T) {
	rc := newReceiver(t)
	rc.set(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(500)
		}
	})
	setEndpoint("m_ok", testEndpoint{url: rc.srv.URL + "/ok"})
	setEndpoint("m_down", testEndpoint{url: rc.srv.URL + "/down"})
	reg := prometheus.NewRegistry()
	h := newHarness(t, Config{Registerer: reg})
	h.notify(900, "m_ok", "m_down")
	h.waitDelivery(idOf(900, "m_ok"), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	h.waitAttempts(idOf(900, "m_down"), 1)
	waitMetric := func(name string, labels map[string]string, want float64) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			got, ok := metricValue(t, reg, name, labels)
			if ok && got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	waitMetric("ledgerd_webhook_deliveries_total", map[string]string{"api": "test", "outcome": "succeeded"}, 1)
	waitMetric("ledgerd_webhook_deliveries_total", map[string]string{"api": "test", "outcome": "pending"}, 1)
	waitMetric("ledgerd_webhook_attempt_seconds", map[string]string{"api": "test"}, 2)
	h.clock.move(30 * time.Second)
	waitMetric("ledgerd_webhook_oldest_pending_seconds", nil, 30)
	rc.set(status(200))
	h.clock.move(30 * time.Second) // the retry is due 1 min after the first attempt
	h.waitDelivery(idOf(900, "m_down"), "succeeded", func(d eob.Delivery) bool { return d.Status == eob.StatusSucceeded })
	waitMetric("ledgerd_webhook_deliveries_total", map[string]string{"api": "test", "outcome": "succeeded"}, 2)
	waitMetric("ledgerd_webhook_attempt_seconds", map[string]string{"api": "test"}, 3)
	waitMetric("ledgerd_webhook_oldest_pending_seconds", nil, 0)
}
