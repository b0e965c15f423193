package paysmart

import (
	"github.com/valyala/fasthttp"

	aps "ledgerd/actors/paysmart"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

func val(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// createCustomer is POST /customers; its customer.created event is
// committed with it.
func (a *API) createCustomer(c *call) *apiError {
	f, err := decodeCustomer(c.body)
	if err != nil {
		return err
	}
	cu := ps.Customer{Owner: c.owner(), ID: newID(ps.PrefixCustomer), Email: val(f.email), Name: val(f.name), Phone: val(f.phone),
		Description: val(f.description), Address: f.address, Metadata: nonEmpty(f.metadata), CreatedMs: c.now.UnixMilli()}
	body := customerJSON(&cu)
	evt := newID(ps.PrefixEvent)
	notice := ps.Notice{ID: evt, Type: ps.EventCustomerCreated, Body: eventJSON(evt, ps.EventCustomerCreated, cu.CreatedMs, cu.Live, body)}
	c.ans.Status, c.ans.Response = 200, body
	a.finish(c, aps.CreateCustomer(a.sys, c.auth, cu, notice, c.ans))
	return nil
}

// getCustomer answers a deleted customer with its stub.
func (a *API) getCustomer(c *call) {
	var cu ps.Customer
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { cu, ok = ps.GetCustomer(st, c.owner(), id) })
	switch {
	case !ok:
		writeError(c.ctx, notFound("id"))
	case cu.Deleted:
		reply(c.ctx, fasthttp.StatusOK, deletedJSON(cu.ID, "customer"))
	default:
		reply(c.ctx, fasthttp.StatusOK, customerJSON(&cu))
	}
}

func (a *API) updateCustomer(c *call) *apiError {
	f, err := decodeCustomer(c.body)
	if err != nil {
		return err
	}
	patch := aps.CustomerPatch{Email: f.email, Name: f.name, Phone: f.phone, Description: f.description, Address: f.address,
		ClearAddress: f.clearAddress, Metadata: f.metadata, ClearMetadata: f.clearMetadata}
	a.finish(c, aps.UpdateCustomer(a.sys, c.auth, pathID(c.ctx, "id"), patch, c.ans, a.render))
	return nil
}

// deleteCustomer leaves the stub {"id","object":"customer","deleted":true}.
func (a *API) deleteCustomer(c *call) *apiError {
	if err := known(c.body, ""); err != nil {
		return err
	}
	a.finish(c, aps.DeleteCustomer(a.sys, c.auth, pathID(c.ctx, "id"), c.ans, a.render))
	return nil
}

func (a *API) listCustomers(c *call) {
	q, err := decodeQuery(c)
	if err != nil {
		writeError(c.ctx, err)
		return
	}
	var items []ps.Customer
	var more bool
	var lerr error
	a.sys.ReadState(func(st *engine.State) { items, more, lerr = ps.ListCustomers(st, q) })
	if lerr != nil {
		writeError(c.ctx, listError(lerr, q))
		return
	}
	out := make([][]byte, len(items))
	for i := range items {
		out[i] = customerJSON(&items[i])
	}
	reply(c.ctx, fasthttp.StatusOK, listJSON(Base+"/customers", out, more))
}
