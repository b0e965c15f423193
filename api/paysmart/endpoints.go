package paysmart

import (
	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/actors/outbox"
	aps "ledgerd/actors/paysmart"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// createEndpoint is POST /webhook_endpoints {url, enabled_events,
// description?}. The answer shows the signing secret; the answer stored
// for Idempotency-Key replays (in the WAL) does not: the secret is derived
// again (outbox.Secret of the master key, id and rotation) and added to the
// first answer and to every replay.
func (a *API) createEndpoint(c *call) *apiError {
	f, err := a.decodeEndpoint(c.body, true)
	if err != nil {
		return err
	}
	we := ps.Endpoint{Owner: c.owner(), ID: newID(ps.PrefixEndpoint), URL: *f.url, Events: f.events, Description: val(f.description),
		CreatedMs: c.now.UnixMilli()}
	c.ans.Status, c.ans.Response = 200, endpointJSON(&we, "")
	r := aps.CreateEndpoint(a.sys, c.auth, we, c.ans)
	if r.Status == actors.StatusOK && r.HTTP == fasthttp.StatusOK {
		r.Body = a.withSecret(r.Body)
	}
	a.finish(c, r)
	return nil
}

// withSecret adds "secret" to a stored endpoint object.
func (a *API) withSecret(body []byte) []byte {
	id := endpointIDOf(body)
	var we ps.Endpoint
	var ok bool
	a.sys.ReadState(func(st *engine.State) { we, ok = ps.EndpointByID(st, id) })
	if !ok || len(body) < 2 || body[len(body)-1] != '}' {
		return body
	}
	out := append([]byte(nil), body[:len(body)-1]...)
	out = append(out, `,"secret":`...)
	out = httpx.AppendString(out, outbox.Secret(a.key, we.ID, we.Rotation))
	return append(out, '}')
}

// endpointIDOf is the "id" of an endpoint object this package rendered.
func endpointIDOf(body []byte) string {
	var id string
	_ = httpx.ReadObject(body, func(key []byte, v httpx.Value) error {
		if string(key) == "id" && v.Kind == httpx.KindString {
			id = string(v.Str)
		}
		return nil
	})
	return id
}

func (a *API) getEndpoint(c *call) {
	var we ps.Endpoint
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { we, ok = ps.GetEndpoint(st, c.owner(), id) })
	if !ok {
		writeError(c.ctx, notFound("id"))
		return
	}
	reply(c.ctx, fasthttp.StatusOK, endpointJSON(&we, ""))
}

// updateEndpoint is POST /webhook_endpoints/{id} (url, enabled_events,
// description, disabled).
func (a *API) updateEndpoint(c *call) *apiError {
	f, err := a.decodeEndpoint(c.body, false)
	if err != nil {
		return err
	}
	patch := aps.EndpointPatch{URL: f.url, Description: f.description, Events: f.events, Disabled: f.disabled}
	a.finish(c, aps.UpdateEndpoint(a.sys, c.auth, pathID(c.ctx, "id"), patch, c.ans, a.render))
	return nil
}

// deleteEndpoint stops the endpoint's deliveries; the answer is its stub.
func (a *API) deleteEndpoint(c *call) *apiError {
	if err := known(c.body, ""); err != nil {
		return err
	}
	a.finish(c, aps.DeleteEndpoint(a.sys, c.auth, pathID(c.ctx, "id"), c.ans, a.render))
	return nil
}

func (a *API) listEndpoints(c *call) {
	q, err := decodeQuery(c)
	if err != nil {
		writeError(c.ctx, err)
		return
	}
	var items []ps.Endpoint
	var more bool
	var lerr error
	a.sys.ReadState(func(st *engine.State) { items, more, lerr = ps.ListEndpoints(st, q) })
	if lerr != nil {
		writeError(c.ctx, listError(lerr, q))
		return
	}
	out := make([][]byte, len(items))
	for i := range items {
		out[i] = endpointJSON(&items[i], "")
	}
	reply(c.ctx, fasthttp.StatusOK, listJSON(Base+"/webhook_endpoints", out, more))
}

// getEvent answers the event as it was rendered when it happened (the
// body its webhooks carry).
func (a *API) getEvent(c *call) {
	var e ps.Event
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { e, ok = ps.GetEvent(st, c.owner(), id) })
	if !ok {
		writeError(c.ctx, notFound("id"))
		return
	}
	reply(c.ctx, fasthttp.StatusOK, e.Body)
}

// listEvents is GET /events (?type=), newest first, for reconciling.
func (a *API) listEvents(c *call) {
	q, err := decodeQuery(c, "type")
	if err != nil {
		writeError(c.ctx, err)
		return
	}
	var items []ps.Event
	var more bool
	var lerr error
	a.sys.ReadState(func(st *engine.State) { items, more, lerr = ps.ListEvents(st, q) })
	if lerr != nil {
		writeError(c.ctx, listError(lerr, q))
		return
	}
	out := make([][]byte, len(items))
	for i := range items {
		out[i] = items[i].Body
	}
	reply(c.ctx, fasthttp.StatusOK, listJSON(Base+"/events", out, more))
}
