package checkout

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"ledgerd/engine"
)

// dueByScan is what DuePayments returned before the index: every pending
// payment looked at (then ordered as DuePayments orders them).
func dueByScan(st *engine.State, nowMs int64, limit int) []Due {
	s := Of(st)
	var due []*Payment
	for id := range s.Pending {
		if p := s.Payments[id]; p.ExpiresMs <= nowMs {
			due = append(due, p)
		}
	}
	return firstDue(due, limit)
}

// TestExpiryIndex drives random payments through creation, completion,
// declines to the last attempt and expiry, with expiries that share
// seconds and milliseconds, and checks after every event that the index
// matches the pending set and that DuePayments lists exactly what a scan of
// every pending payment lists, also after a snapshot round trip.
func TestExpiryIndex(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 3))
		st := engine.NewState()
		owner := Owner{Shop: "shop_1"}
		apply := func(ev engine.Event) {
			t.Helper()
			if err := engine.Validate(ev); err != nil {
				t.Fatalf("seed %d: %T: %v", seed, ev, err)
			}
			st.Apply(ev)
		}
		apply(&ShopCreated{Stamp: engine.Stamp{TimeMs: 1}, Shop: Shop{ID: "shop_1", Name: "S", AccentColor: "#000000", CreatedMs: 1}})
		now := int64(1_000)
		var pending []string
		n := 0
		for step := range 300 {
			now += r.Int64N(700)
			switch op := r.IntN(10); {
			case op < 5 || len(pending) == 0:
				n++
				id := fmt.Sprintf("pay_%04d", n)
				p := Payment{Owner: owner, ID: id, Amount: 100, Currency: "usd", ReturnURL: "http://127.0.0.1:9/r",
					Token: "tok_" + strings.Repeat("a", 40) + id, Status: StatusPending, CreatedMs: now,
					ExpiresMs: now + 1 + r.Int64N(5_000)}
				apply(&PaymentCreated{Stamp: engine.Stamp{TimeMs: now}, Payment: p})
				pending = append(pending, id)
			default:
				i := r.IntN(len(pending))
				id := pending[i]
				p := Of(st).Payments[id]
				notice := Notice{ID: fmt.Sprintf("evt_%d_%d", seed, step), Body: []byte("{}")}
				switch {
				case op == 5 && now >= p.ExpiresMs:
					notice.Type = EventPaymentFailed
					apply(&PaymentExpired{Stamp: engine.Stamp{TimeMs: now}, Owner: owner, ID: id, Notice: notice})
				case op == 6:
					notice.Type = EventPaymentCompleted
					apply(&PaymentCompleted{Stamp: engine.Stamp{TimeMs: now}, Owner: owner, ID: id, CardBrand: "visa", CardLast4: "4242", Notice: notice})
				default:
					ev := &PaymentDeclined{Stamp: engine.Stamp{TimeMs: now}, Owner: owner, ID: id, Attempt: p.Attempts + 1, DeclineCode: "generic_decline"}
					if ev.Attempt == MaxAttempts {
						notice.Type = EventPaymentFailed
						ev.Notice = notice
					}
					apply(ev)
				}
				if Of(st).Payments[id].Status != StatusPending {
					pending = slices.Delete(pending, i, i+1)
				}
			}
			if why := Of(st).expiry.check(Of(st)); why != "" {
				t.Fatalf("seed %d step %d: %s", seed, step, why)
			}
			for _, at := range []int64{now - 2_000, now, now + 999, now + 1_000, now + 6_000} {
				for _, limit := range []int{0, 1, 3, 256} {
					if got, want := DuePayments(st, at, limit), dueByScan(st, at, limit); !slices.Equal(got, want) {
						t.Fatalf("seed %d step %d: due at %d (limit %d): %v, want %v", seed, step, at, limit, got, want)
					}
				}
			}
		}
		data, err := st.EncodeSnapshot()
		if err != nil {
			t.Fatal(err)
		}
		got, err := engine.DecodeSnapshot(data)
		if err != nil {
			t.Fatal(err)
		}
		if why := Of(got).expiry.check(Of(got)); why != "" {
			t.Fatalf("seed %d: after a snapshot: %s", seed, why)
		}
		if a, b := DuePayments(got, now+6_000, 1<<20), dueByScan(st, now+6_000, 1<<20); !slices.Equal(a, b) || len(a) != len(Of(st).Pending) {
			t.Fatalf("seed %d: after a snapshot, due %d, want %d", seed, len(a), len(b))
		}
	}
}
