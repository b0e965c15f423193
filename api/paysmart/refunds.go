package paysmart

import (
	"github.com/valyala/fasthttp"

	aps "ledgerd/actors/paysmart"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// createRefund is POST /refunds {payment, amount?, reason?}: on the
// payment's actor, at most what is left; a failed payment is refused.
func (a *API) createRefund(c *call) *apiError {
	req, err := decodeRefundCreate(c.body)
	if err != nil {
		return err
	}
	r := ps.Refund{ID: newID(ps.PrefixRefund), Payment: req.payment, Amount: req.amount, Reason: req.reason, CreatedMs: c.now.UnixMilli()}
	evt := newID(ps.PrefixEvent)
	notice := func(f *ps.Refund, _ *ps.Payment) ps.Notice {
		return ps.Notice{ID: evt, Type: ps.EventRefundCreated, Body: eventJSON(evt, ps.EventRefundCreated, f.CreatedMs, f.Live, refundJSON(f))}
	}
	a.finish(c, aps.CreateRefund(a.sys, c.auth, r, notice, c.ans, a.render))
	return nil
}

func (a *API) getRefund(c *call) {
	var f ps.Refund
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { f, ok = ps.GetRefund(st, c.owner(), id) })
	if !ok {
		writeError(c.ctx, notFound("id"))
		return
	}
	reply(c.ctx, fasthttp.StatusOK, refundJSON(&f))
}

// listRefunds is GET /refunds (?payment=).
func (a *API) listRefunds(c *call) {
	q, err := decodeQuery(c, "payment")
	if err != nil {
		writeError(c.ctx, err)
		return
	}
	var items []ps.Refund
	var more bool
	var lerr error
	a.sys.ReadState(func(st *engine.State) { items, more, lerr = ps.ListRefunds(st, q) })
	if lerr != nil {
		writeError(c.ctx, listError(lerr, q))
		return
	}
	out := make([][]byte, len(items))
	for i := range items {
		out[i] = refundJSON(&items[i])
	}
	reply(c.ctx, fasthttp.StatusOK, listJSON(Base+"/refunds", out, more))
}
