package outbox_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

func delivery(i int, body []byte) outbox.Delivery {
	ev := fmt.Sprintf("evt_%d", i)
	return outbox.Delivery{ID: outbox.DeliveryID(ev, "we_1"), API: "test", Partner: "ptr_1", Target: "we_1",
		EventID: ev, EventType: "payment.succeeded", Body: body, CreatedMs: 1_700_000_000_000 + int64(i)}
}

func TestDeliveryID(t *testing.T) {
	id := outbox.DeliveryID("evt_1", "we_1")
	if !strings.HasPrefix(id, "dlv_") || len(id) != 4+24 || id != outbox.DeliveryID("evt_1", "we_1") {
		t.Fatalf("id %q", id)
	}
	if id == outbox.DeliveryID("evt_1", "we_2") || id == outbox.DeliveryID("evt_2", "we_1") {
		t.Fatal("ids collide")
	}
	// Golden: the first 24 hex characters of SHA-256("evt_1/we_1").
	if id != "dlv_56c1418a4ccaa9f19ef7aa04" {
		t.Fatalf("id %q", id)
	}
}

func TestEnqueue(t *testing.T) {
	st := engine.NewState()
	for i := 1; i <= 3; i++ {
		d := delivery(i, []byte(`{"i":1}`))
		d.Status, d.Attempts, d.NextMs = outbox.StatusFailed, 9, 5 // ignored
		outbox.Enqueue(st, d)
	}
	s := outbox.Of(st)
	if s.Seq != 3 || len(s.Deliveries) != 3 || s.PendingCount() != 3 {
		t.Fatalf("seq %d, %d deliveries, %d pending", s.Seq, len(s.Deliveries), s.PendingCount())
	}
	d := s.Deliveries[outbox.DeliveryID("evt_2", "we_1")]
	if d.Seq != 2 || d.Status != outbox.StatusPending || d.NextMs != d.CreatedMs || d.Attempts != 0 {
		t.Fatalf("delivery %+v", d)
	}
}

func TestEnqueuePanics(t *testing.T) {
	for name, d := range map[string]outbox.Delivery{
		"no id":     {API: "a", Partner: "p", Target: "t", EventID: "e", EventType: "x"},
		"long body": delivery(1, make([]byte, outbox.MaxBody+1)),
		"duplicate": delivery(1, nil),
	} {
		t.Run(name, func(t *testing.T) {
			st := engine.NewState()
			if name == "duplicate" {
				outbox.Enqueue(st, d)
			}
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			outbox.Enqueue(st, d)
		})
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	st := engine.NewState()
	bodies := [][]byte{nil, []byte(`{}`), bytes.Repeat([]byte("a"), 4096), bytes.Repeat([]byte("b"), 4097), bytes.Repeat([]byte("c"), outbox.MaxBody)}
	for i, b := range bodies {
		outbox.Enqueue(st, delivery(i, b))
	}
	data, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	again, err := got.EncodeSnapshot()
	if err != nil || !bytes.Equal(again, data) {
		t.Fatalf("re-encoding differs (err %v)", err)
	}
	s := outbox.Of(got)
	if s.Seq != uint64(len(bodies)) || s.PendingCount() != len(bodies) {
		t.Fatalf("seq %d pending %d", s.Seq, s.PendingCount())
	}
	for i, b := range bodies {
		d := s.Deliveries[delivery(i, nil).ID]
		if d == nil || !bytes.Equal(d.Body, b) || d.Seq != uint64(i+1) {
			t.Fatalf("delivery %d: %+v", i, d)
		}
	}
}
