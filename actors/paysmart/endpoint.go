package paysmart

import (
	"slices"

	"ledgerd/actors"
	ps "ledgerd/engine/paysmart"
)

type updateEndpoint struct {
	base
	patch EndpointPatch
}

type deleteEndpoint struct{ base }

func handleEndpoint(e *actors.Entity, op *actors.Op) {
	cur, _ := e.State.(*ps.Endpoint)
	switch c := op.Cmd.(type) {
	case *decided:
		handleDecided(e, op, c)
	case *updateEndpoint:
		if cur == nil || cur.Owner != c.owner || cur.Deleted {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "id", ID: c.id})
			return
		}
		next := *cur
		set(&next.URL, c.patch.URL)
		set(&next.Description, c.patch.Description)
		if c.patch.Events != nil {
			next.Events = slices.Clone(c.patch.Events)
		}
		if c.patch.Disabled != nil {
			next.Disabled = *c.patch.Disabled
		}
		status, body := c.render(&next)
		if tooLarge(e, op, body) {
			return
		}
		emit(e, op, &ps.EndpointUpdated{Endpoint: next, Answer: bound(c.ans, status, body)}, reply{status, body}, &next)
	case *deleteEndpoint:
		if cur == nil || cur.Owner != c.owner || cur.Deleted {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "id", ID: c.id})
			return
		}
		next := *cur
		next.Deleted = true
		status, body := c.render(&next)
		if tooLarge(e, op, body) {
			return
		}
		emit(e, op, &ps.EndpointDeleted{Owner: cur.Owner, ID: cur.ID, Answer: bound(c.ans, status, body)}, reply{status, body}, &next)
	}
}
