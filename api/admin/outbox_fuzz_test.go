package admin

import (
	"errors"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// FuzzDeliveryQuery: GET /admin/webhooks/deliveries' query decoder never
// panics, and what it accepts the outbox's List takes (a known status, a
// limit of 0 or 1..100, filters of at most 255 bytes).
func FuzzDeliveryQuery(f *testing.F) {
	for _, q := range []string{"status=failed&api=paysmart", "status=pending&limit=100&starting_after=dlv_1", "limit=0", "limit=101",
		"limit=x", "status=lost", "partner=acct_1&api=paysmart&status=succeeded", "limit=-1", "%zz=1&status="} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var args fasthttp.Args
		args.Parse(query)
		q, err := deliveryQuery(&args)
		if err != nil {
			return
		}
		switch q.Status {
		case "", outbox.StatusPending, outbox.StatusSucceeded, outbox.StatusFailed:
		default:
			t.Fatalf("%q: status %q accepted", query, q.Status)
		}
		if q.Limit < 0 || q.Limit > outbox.ListLimitMax || len(q.API) > outbox.MaxIDLen || len(q.Partner) > outbox.MaxIDLen ||
			len(q.StartingAfter) > outbox.MaxIDLen {
			t.Fatalf("%q accepted as %+v", query, q)
		}
		if _, _, err := outbox.List(engine.NewState(), q); err != nil && !errors.Is(err, outbox.ErrNoCursor) {
			t.Fatalf("%q accepted as %+v, List says %v", query, q, err)
		}
	})
}
