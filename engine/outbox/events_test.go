package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

func attempt(id string, n int64, outcome string, at int64) *outbox.DeliveryAttempted {
	ev := &outbox.DeliveryAttempted{Stamp: engine.Stamp{TimeMs: at + 5}, ID: id, Attempt: n, AtMs: at, LatencyMs: 5, Outcome: outcome}
	switch outcome {
	case outbox.StatusSucceeded:
		ev.HTTPStatus = 204
	case outbox.StatusPending:
		ev.HTTPStatus, ev.Error, ev.NextMs = 500, "http status 500", at+60_000
	default:
		ev.Error = "dial tcp: connection refused"
	}
	return ev
}

func sampleEvents() []engine.Event {
	return []engine.Event{
		attempt("dlv_1", 1, outbox.StatusPending, 1_700_000_000_000),
		attempt("dlv_1", 2, outbox.StatusFailed, 1_700_000_060_000),
		&outbox.DeliveryRetried{Stamp: engine.Stamp{TimeMs: 1_700_000_100_000}, ID: "dlv_1"},
		attempt("dlv_1", 3, outbox.StatusSucceeded, 1_700_000_100_001),
	}
}

func TestCodecRoundTrip(t *testing.T) {
	evs := sampleEvents()
	data, err := engine.NewEncoder().EncodeBatch(evs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeBatch(bytes.Clone(data))
	if err != nil || !reflect.DeepEqual(got, evs) {
		t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, got, evs)
	}
	again, err := engine.NewEncoder().EncodeBatch(got)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
}

func TestValidateRefuses(t *testing.T) {
	ok := func() *outbox.DeliveryAttempted { return attempt("dlv_1", 1, outbox.StatusPending, 10) }
	for name, mod := range map[string]func(*outbox.DeliveryAttempted){
		"no id":             func(e *outbox.DeliveryAttempted) { e.ID = "" },
		"attempt 0":         func(e *outbox.DeliveryAttempted) { e.Attempt = 0 },
		"attempt too large": func(e *outbox.DeliveryAttempted) { e.Attempt = outbox.MaxAttempts + 1 },
		"negative latency":  func(e *outbox.DeliveryAttempted) { e.LatencyMs = -1 },
		"status 1000":       func(e *outbox.DeliveryAttempted) { e.HTTPStatus = 1000 },
		"unknown outcome":   func(e *outbox.DeliveryAttempted) { e.Outcome = "lost" },
		"failure no error":  func(e *outbox.DeliveryAttempted) { e.Error = "" },
		"success with 500":  func(e *outbox.DeliveryAttempted) { e.Outcome, e.Error, e.NextMs = outbox.StatusSucceeded, "", 0 },
		"failed with next":  func(e *outbox.DeliveryAttempted) { e.Outcome = outbox.StatusFailed },
		"long error":        func(e *outbox.DeliveryAttempted) { e.Error = string(make([]byte, outbox.MaxErrorLen+1)) },
	} {
		e := ok()
		mod(e)
		if err := engine.Validate(e); !errors.Is(err, outbox.ErrBadEvent) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := engine.NewEncoder().EncodeBatch([]engine.Event{e}); err == nil {
			t.Errorf("%s: encoded", name)
		}
	}
	if err := engine.Validate(ok()); err != nil {
		t.Fatal(err)
	}
	if err := engine.Validate(&outbox.DeliveryRetried{ID: ""}); !errors.Is(err, outbox.ErrBadEvent) {
		t.Fatal(err)
	}
}

// stateWith enqueues n deliveries (evt_0..) to we_1, then applies evs.
func stateWith(n int, evs ...engine.Event) *engine.State {
	st := engine.NewState()
	for i := range n {
		outbox.Enqueue(st, delivery(i, []byte(fmt.Sprintf(`{"n":%d}`, i))))
	}
	for _, ev := range evs {
		st.Apply(ev)
	}
	return st
}

func TestApplyLifecycle(t *testing.T) {
	id := delivery(0, nil).ID
	st := stateWith(1)
	st.Apply(attempt(id, 1, outbox.StatusPending, 100))
	d, _ := outbox.Get(st, id)
	if d.Status != outbox.StatusPending || d.Attempts != 1 || d.FirstMs != 100 || d.NextMs != 60_100 || d.LastStatus != 500 || d.LastError == "" {
		t.Fatalf("after attempt 1: %+v", d)
	}
	st.Apply(attempt(id, 2, outbox.StatusFailed, 200))
	d, _ = outbox.Get(st, id)
	if d.Status != outbox.StatusFailed || d.Attempts != 2 || d.FirstMs != 100 || d.NextMs != 0 || outbox.Of(st).PendingCount() != 0 {
		t.Fatalf("after attempt 2: %+v", d)
	}
	if _, ok := outbox.OldestPending(st); ok {
		t.Fatal("oldest pending of none")
	}
	st.Apply(&outbox.DeliveryRetried{Stamp: engine.Stamp{TimeMs: 300}, ID: id})
	d, _ = outbox.Get(st, id)
	if d.Status != outbox.StatusPending || d.NextMs != 300 || d.FirstMs != 0 || d.RoundStart != 2 || d.Retries != 1 {
		t.Fatalf("after retry: %+v", d)
	}
	if o, ok := outbox.OldestPending(st); !ok || o.ID != id {
		t.Fatal("oldest pending after retry")
	}
	st.Apply(attempt(id, 3, outbox.StatusSucceeded, 400))
	d, _ = outbox.Get(st, id)
	if d.Status != outbox.StatusSucceeded || d.Attempts != 3 || d.FirstMs != 400 || d.LastStatus != 204 || d.LastError != "" {
		t.Fatalf("after attempt 3: %+v", d)
	}
}

func TestApplyPanics(t *testing.T) {
	id := delivery(0, nil).ID
	for name, evs := range map[string][]engine.Event{
		"unknown delivery":      {attempt("dlv_x", 1, outbox.StatusPending, 1)},
		"attempt skipped":       {attempt(id, 2, outbox.StatusPending, 1)},
		"attempt repeated":      {attempt(id, 1, outbox.StatusPending, 1), attempt(id, 1, outbox.StatusPending, 2)},
		"attempt after success": {attempt(id, 1, outbox.StatusSucceeded, 1), attempt(id, 2, outbox.StatusPending, 2)},
		"attempt after failed":  {attempt(id, 1, outbox.StatusFailed, 1), attempt(id, 2, outbox.StatusPending, 2)},
		"retry of pending":      {&outbox.DeliveryRetried{ID: id}},
		"retry of succeeded":    {attempt(id, 1, outbox.StatusSucceeded, 1), &outbox.DeliveryRetried{ID: id}},
		"retry of unknown":      {&outbox.DeliveryRetried{ID: "dlv_x"}},
	} {
		t.Run(name, func(t *testing.T) {
			st := stateWith(1)
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			for _, ev := range evs {
				st.Apply(ev)
			}
		})
	}
}

func TestPendingAndOldest(t *testing.T) {
	id := func(i int) string { return delivery(i, nil).ID }
	st := stateWith(5, attempt(id(0), 1, outbox.StatusSucceeded, 1), attempt(id(2), 1, outbox.StatusFailed, 1))
	ids := func(ds []outbox.Delivery) (out []string) {
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	if got := ids(outbox.Pending(st, 0)); !reflect.DeepEqual(got, []string{id(1), id(3), id(4)}) {
		t.Fatalf("pending %v", got)
	}
	if got := ids(outbox.Pending(st, 3)); !reflect.DeepEqual(got, []string{id(3), id(4)}) {
		t.Fatalf("pending after 3: %v", got)
	}
	if got := outbox.Pending(st, 99); len(got) != 0 {
		t.Fatalf("pending after 99: %v", got)
	}
	if o, ok := outbox.OldestPending(st); !ok || o.ID != id(1) {
		t.Fatalf("oldest %v", o.ID)
	}
	st.Apply(attempt(id(1), 1, outbox.StatusSucceeded, 2))
	if o, ok := outbox.OldestPending(st); !ok || o.ID != id(3) {
		t.Fatalf("oldest %v", o.ID)
	}
}

func TestList(t *testing.T) {
	id := func(i int) string { return delivery(i, nil).ID }
	st := stateWith(25, attempt(id(3), 1, outbox.StatusFailed, 1), attempt(id(7), 1, outbox.StatusFailed, 1))
	page, more, err := outbox.List(st, outbox.Query{Limit: 10})
	if err != nil || !more || len(page) != 10 || page[0].ID != id(24) || page[9].ID != id(15) {
		t.Fatalf("first page: %d more %v err %v", len(page), more, err)
	}
	page, more, err = outbox.List(st, outbox.Query{Limit: 10, StartingAfter: page[9].ID})
	if err != nil || !more || len(page) != 10 || page[0].ID != id(14) {
		t.Fatalf("second page: %d more %v err %v", len(page), more, err)
	}
	page, more, err = outbox.List(st, outbox.Query{Limit: 10, StartingAfter: page[9].ID})
	if err != nil || more || len(page) != 5 || page[4].ID != id(0) {
		t.Fatalf("last page: %d more %v err %v", len(page), more, err)
	}
	page, more, err = outbox.List(st, outbox.Query{Status: outbox.StatusFailed})
	if err != nil || more || len(page) != 2 || page[0].ID != id(7) || page[1].ID != id(3) {
		t.Fatalf("failed: %+v more %v err %v", page, more, err)
	}
	if page, _, _ := outbox.List(st, outbox.Query{API: "other"}); len(page) != 0 {
		t.Fatal("api filter")
	}
	if page, _, _ := outbox.List(st, outbox.Query{Partner: "ptr_1", Limit: 1000}); len(page) != outbox.ListLimitMax && len(page) != 25 {
		t.Fatalf("partner filter: %d", len(page))
	}
	if _, _, err := outbox.List(st, outbox.Query{StartingAfter: "dlv_nope"}); !errors.Is(err, outbox.ErrNoCursor) {
		t.Fatal(err)
	}
}

type violations []string

func (v *violations) Violate(kind, format string, args ...any) {
	*v = append(*v, kind+": "+fmt.Sprintf(format, args...))
}

func runChecker(start *engine.State, evs []engine.Event, end *engine.State) violations {
	var v violations
	var c engine.Checker
	for _, d := range engine.Checkers() {
		if d.Module == "outbox" {
			c = d.New(&v, start, true)
		}
	}
	for i, ev := range evs {
		c.Event(fmt.Sprint(i), ev)
	}
	c.Finish(end)
	return v
}

func TestChecker(t *testing.T) {
	evs := sampleEvents()
	id := delivery(0, nil).ID
	for _, ev := range evs {
		switch e := ev.(type) {
		case *outbox.DeliveryAttempted:
			e.ID = id
		case *outbox.DeliveryRetried:
			e.ID = id
		}
	}
	end := stateWith(2, evs...)
	if v := runChecker(engine.NewState(), evs, end); len(v) != 0 {
		t.Fatalf("clean log: %v", v)
	}
	// From a snapshot taken after the first two events.
	mid := stateWith(2, evs[:2]...)
	data, _ := mid.EncodeSnapshot()
	snap, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if v := runChecker(snap, evs[2:], end); len(v) != 0 {
		t.Fatalf("from a snapshot: %v", v)
	}
	// A log that attempts a failed delivery again, and a state that lost an attempt.
	bad := []engine.Event{attempt(id, 1, outbox.StatusFailed, 1), attempt(id, 2, outbox.StatusPending, 2)}
	if v := runChecker(engine.NewState(), bad, stateWith(2, bad[0])); len(v) < 2 {
		t.Fatalf("bad log: %v", v)
	}
}
