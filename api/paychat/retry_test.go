package paychat_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/paychat"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// failing is a receiver on 127.0.0.1 answering status until told
// otherwise; it records each attempt's delivery id and the clock's time.
type failing struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	ids    []string
	bodies []string
	more   chan struct{}
}

func newFailing(t *testing.T, status int) *failing {
	f := &failing{status: status, more: make(chan struct{}, 64)}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.ids = append(f.ids, r.Header.Get(paychat.HeaderDeliveryID))
		f.bodies = append(f.bodies, string(b))
		st := f.status
		f.mu.Unlock()
		w.WriteHeader(st)
		f.more <- struct{}{}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *failing) attempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids)
}

// waitDelivery waits until the delivery has made n attempts and is in
// status.
func waitDelivery(t *testing.T, s *apitest.Server, id string, n int64, status string) eob.Delivery {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var d eob.Delivery
		s.Sys.ReadState(func(st *engine.State) { d, _ = eob.Get(st, id) })
		if d.Attempts == n && d.Status == status {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s: %d attempts, %s; want %d, %s", id, d.Attempts, d.Status, n, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWebhooks_RetrySchedule: a failing receiver gets the attempt at once,
// then 1 min, 5 min, 30 min and 2 h after each failure (the clock moved
// by hand), all with one X-PAYchat-Delivery-ID and one body; then the
// delivery is failed, listed, and the partner's retry sends it again.
func TestWebhooks_RetrySchedule(t *testing.T) {
	clock := apitest.NewClock(time.Date(2025, 1, 7, 12, 0, 0, 0, time.UTC))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	startSender(t, s)
	p := register(t, s)
	f := newFailing(t, http.StatusInternalServerError)
	call(t, s, "PUT", "/webhook", p.Key, `{"webhook_url":"`+f.URL+`/h"}`).WantStatus(t, http.StatusOK)
	id := str(t, obj(t, call(t, s, "POST", "/webhook-test", p.Key, nil)), "webhook_test", "delivery_id")
	d := waitDelivery(t, s, id, 1, eob.StatusPending)
	start := d.FirstMs
	gaps := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour}
	at := time.Duration(0)
	for i, gap := range gaps {
		at += gap
		if want := start + at.Milliseconds(); d.NextMs != want {
			t.Fatalf("after attempt %d: next at +%v, want +%v", i+1, time.Duration(d.NextMs-start)*time.Millisecond, at)
		}
		clock.Advance(gap - time.Second)
		time.Sleep(100 * time.Millisecond)
		if n := f.attempts(); n != i+1 {
			t.Fatalf("attempt %d came %v early", n, time.Second)
		}
		clock.Advance(time.Second)
		status := eob.StatusPending
		if i == len(gaps)-1 {
			status = eob.StatusFailed
		}
		d = waitDelivery(t, s, id, int64(i+2), status)
	}
	f.mu.Lock()
	for i := range f.ids {
		if f.ids[i] != id || f.bodies[i] != f.bodies[0] {
			t.Errorf("attempt %d: id %s body %s", i+1, f.ids[i], f.bodies[i])
		}
	}
	f.mu.Unlock()
	list := obj(t, call(t, s, "GET", "/webhook-deliveries?status=failed", p.Key, nil))
	if ds := field(t, list, "deliveries").([]any); len(ds) != 1 || ds[0].(map[string]any)["id"] != id || ds[0].(map[string]any)["attempts"].(interface{ String() string }).String() != "5" {
		t.Fatalf("failed list: %v", list)
	}
	other := register(t, s)
	wantCode(t, call(t, s, "POST", "/webhook-deliveries/"+id+"/retry", other.Key, nil), http.StatusNotFound, paychat.CodeDeliveryNotFound)
	f.mu.Lock()
	f.status = http.StatusOK
	f.mu.Unlock()
	r := call(t, s, "POST", "/webhook-deliveries/"+id+"/retry", p.Key, nil)
	r.WantStatus(t, http.StatusOK)
	waitDelivery(t, s, id, 6, eob.StatusSucceeded)
	wantCode(t, call(t, s, "POST", "/webhook-deliveries/"+id+"/retry", p.Key, nil), http.StatusConflict, paychat.CodeDeliveryNotFailed)
	wantCode(t, call(t, s, "GET", "/webhook-deliveries?status=nope", p.Key, nil), http.StatusBadRequest, paychat.CodeValidation)
}
