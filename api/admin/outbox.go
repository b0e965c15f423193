package admin

import (
	"errors"
	"strconv"

	"github.com/valyala/fasthttp"

	sender "ledgerd/actors/outbox"
	"ledgerd/api/httpx"
	"ledgerd/api/paypay"
	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// outboxRoutes are the operator routes of the webhook outbox (every API's
// deliveries): list them by status, API and partner, and retry a failed
// one. A delivery is shown without its body or any secret.
func (a *API) outboxRoutes(r *httpx.Router) {
	r.GET(Base+"/webhooks/deliveries", a.listDeliveries)
	r.POST(Base+"/webhooks/deliveries/{id}/retry", a.retryDelivery)
}

func (a *API) listDeliveries(ctx *fasthttp.RequestCtx) {
	q, err := deliveryQuery(ctx.QueryArgs())
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	var page []outbox.Delivery
	var more bool
	a.sys.ReadState(func(st *engine.State) { page, more, err = outbox.List(st, q) })
	if errors.Is(err, outbox.ErrNoCursor) {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", "starting_after names no delivery")
		return
	}
	b := append(make([]byte, 0, 64+320*len(page)), `{"data":[`...)
	for i := range page {
		if i > 0 {
			b = append(b, ',')
		}
		b = deliveryJSON(b, &page[i])
	}
	b = append(b, `],"has_more":`...)
	b = strconv.AppendBool(b, more)
	httpx.Reply(ctx, fasthttp.StatusOK, append(b, '}'))
}

// deliveryQuery reads the list's filters: status (pending, succeeded,
// failed), api, partner, limit (1-100, default 10), starting_after.
func deliveryQuery(args *fasthttp.Args) (outbox.Query, error) {
	q := outbox.Query{Status: string(args.Peek("status")), API: string(args.Peek("api")),
		Partner: string(args.Peek("partner")), StartingAfter: string(args.Peek("starting_after"))}
	switch q.Status {
	case "", outbox.StatusPending, outbox.StatusSucceeded, outbox.StatusFailed:
	default:
		return q, errors.New("status must be pending, succeeded or failed")
	}
	if args.Has("limit") {
		n, err := strconv.Atoi(string(args.Peek("limit")))
		if err != nil || n < 1 || n > outbox.ListLimitMax {
			return q, errors.New("limit must be an integer from 1 to 100")
		}
		q.Limit = n
	}
	for _, v := range []string{q.API, q.Partner, q.StartingAfter} {
		if len(v) > outbox.MaxIDLen {
			return q, errors.New("a filter is longer than 255 bytes")
		}
	}
	return q, nil
}

func (a *API) retryDelivery(ctx *fasthttp.RequestCtx) {
	id, _ := pathParam(ctx, "id")
	d, err := sender.Retry(a.sys, id)
	switch {
	case err == nil:
		httpx.Reply(ctx, fasthttp.StatusOK, deliveryJSON(nil, &d))
	case errors.Is(err, sender.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, "not_found", "no such delivery")
	case errors.Is(err, sender.ErrNotFailed):
		writeError(ctx, fasthttp.StatusConflict, "not_failed", "only a failed delivery can be retried; this one is "+d.Status)
	default:
		writeError(ctx, fasthttp.StatusServiceUnavailable, "overloaded", "try again")
	}
}

// deliveryJSON appends a delivery as the admin API shows it: never its
// body or a secret. Times that have not happened are left out.
func deliveryJSON(b []byte, d *outbox.Delivery) []byte {
	j := httpx.Object(b).Str("id", d.ID).Str("api", d.API).Str("partner_id", d.Partner).Str("target", d.Target).
		Str("event_id", d.EventID).Str("event_type", d.EventType).Str("status", d.Status).
		Int("attempts", d.Attempts).Int("retries", d.Retries).Str("created_at", paypay.FormatTime(d.CreatedMs))
	if d.Attempts > 0 {
		j = j.Str("last_attempt_at", paypay.FormatTime(d.LastMs)).Int("last_status", d.LastStatus)
	}
	if d.LastError != "" {
		j = j.Str("last_error", d.LastError)
	}
	if d.Status == outbox.StatusPending {
		j = j.Str("next_attempt_at", paypay.FormatTime(d.NextMs))
	}
	return j.Close()
}
