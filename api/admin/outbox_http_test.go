package admin_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"ledgerd/api/apitest"
	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// Black-box tests of the webhook outbox's admin routes. A test-only event
// enqueues deliveries; attempts are committed directly (no sender runs
// in apitest), so every state is exact.

const evTestNotified engine.EventType = 253 // test-only wire number

type testNotified struct {
	engine.Stamp
	EventID string
	Targets []string
}

func (*testNotified) EventType() engine.EventType { return evTestNotified }

func init() {
	engine.Register(engine.EventDef[*testNotified]{Type: evTestNotified, Name: "admintest.notified", Fields: 2,
		Encode: func(w *engine.Writer, ev *testNotified) { w.Str(ev.EventID); w.Strs(ev.Targets) },
		Decode: func(r *engine.Reader, t int64) *testNotified {
			return &testNotified{Stamp: engine.Stamp{TimeMs: t}, EventID: r.Str(), Targets: r.Strs(10)}
		},
		Validate: func(ev *testNotified) error {
			if ev.EventID == "" || len(ev.Targets) == 0 {
				return errors.New("event id and targets")
			}
			return nil
		},
		Apply: func(st *engine.State, ev *testNotified) {
			for _, t := range ev.Targets {
				outbox.Enqueue(st, outbox.Delivery{ID: outbox.DeliveryID(ev.EventID, t), API: "admintest", Partner: "ptr_" + t,
					Target: t, EventID: ev.EventID, EventType: "thing.happened", Body: []byte(`{"secret":"never shown"}`), CreatedMs: ev.TimeMs})
			}
		},
	})
}

type deliveryView struct {
	ID            string `json:"id"`
	API           string `json:"api"`
	Partner       string `json:"partner_id"`
	Status        string `json:"status"`
	Attempts      int64  `json:"attempts"`
	Retries       int64  `json:"retries"`
	LastStatus    int64  `json:"last_status"`
	LastError     string `json:"last_error"`
	NextAttemptAt string `json:"next_attempt_at"`
}

type deliveryList struct {
	Data    []deliveryView `json:"data"`
	HasMore bool           `json:"has_more"`
}

func decodeOK(t *testing.T, r *apitest.Response, v any) {
	t.Helper()
	r.WantStatus(t, http.StatusOK)
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, s *apitest.Server, ev engine.Event) {
	t.Helper()
	if err := s.Sys.Commit(ev); err != nil {
		t.Fatal(err)
	}
}

func TestWebhookDeliveries_ListAndRetry(t *testing.T) {
	s := apitest.Start(t)
	now := s.Sys.Now().UnixMilli()
	for i := range 12 {
		commit(t, s, &testNotified{Stamp: engine.Stamp{TimeMs: now}, EventID: fmt.Sprintf("evt_%d", i), Targets: []string{"we_a"}})
	}
	commit(t, s, &testNotified{Stamp: engine.Stamp{TimeMs: now}, EventID: "evt_b", Targets: []string{"we_b"}})
	failed := outbox.DeliveryID("evt_3", "we_a")
	commit(t, s, &outbox.DeliveryAttempted{Stamp: engine.Stamp{TimeMs: now}, ID: failed, Attempt: 1, AtMs: now,
		HTTPStatus: 500, LatencyMs: 3, Error: "http status 500", Outcome: outbox.StatusFailed})

	var page deliveryList
	decodeOK(t, s.Admin(t, "GET", "/webhooks/deliveries", nil), &page)
	if len(page.Data) != 10 || !page.HasMore || page.Data[0].ID != outbox.DeliveryID("evt_b", "we_b") || page.Data[0].NextAttemptAt == "" {
		t.Fatalf("first page %+v", page)
	}
	var rest deliveryList
	decodeOK(t, s.Admin(t, "GET", "/webhooks/deliveries?limit=100&starting_after="+page.Data[9].ID, nil), &rest)
	if len(rest.Data) != 3 || rest.HasMore {
		t.Fatalf("second page %+v", rest)
	}
	var onlyFailed deliveryList
	decodeOK(t, s.Admin(t, "GET", "/webhooks/deliveries?status=failed&api=admintest&partner=ptr_we_a", nil), &onlyFailed)
	if len(onlyFailed.Data) != 1 || onlyFailed.Data[0].ID != failed || onlyFailed.Data[0].LastStatus != 500 ||
		onlyFailed.Data[0].LastError != "http status 500" || onlyFailed.Data[0].NextAttemptAt != "" {
		t.Fatalf("failed %+v", onlyFailed)
	}
	if r := s.Admin(t, "GET", "/webhooks/deliveries?partner=ptr_we_b", nil); r.JSON(t) == nil {
		t.Fatal("no body")
	}

	for _, q := range []string{"status=lost", "limit=0", "limit=101", "limit=x", "starting_after=dlv_nope"} {
		s.Admin(t, "GET", "/webhooks/deliveries?"+q, nil).WantError(t, http.StatusBadRequest, "invalid_request")
	}

	var retried deliveryView
	decodeOK(t, s.Admin(t, "POST", "/webhooks/deliveries/"+failed+"/retry", nil), &retried)
	if retried.Status != outbox.StatusPending || retried.Retries != 1 || retried.Attempts != 1 || retried.NextAttemptAt == "" {
		t.Fatalf("retried %+v", retried)
	}
	s.Admin(t, "POST", "/webhooks/deliveries/"+failed+"/retry", nil).WantError(t, http.StatusConflict, "not_failed")
	s.Admin(t, "POST", "/webhooks/deliveries/dlv_000000000000000000000000/retry", nil).WantError(t, http.StatusNotFound, "not_found")
	s.Do(t, "GET", "/admin/webhooks/deliveries", nil, nil).WantError(t, http.StatusUnauthorized, "unauthorized")

	// The state after: one retry, nothing else changed.
	s.Sys.ReadState(func(st *engine.State) {
		d, _ := outbox.Get(st, failed)
		if d.Status != outbox.StatusPending || d.Retries != 1 || outbox.Of(st).PendingCount() != 13 {
			t.Errorf("state after retry: %+v, %d pending", d, outbox.Of(st).PendingCount())
		}
	})
}
