package paysmart

import (
	"ledgerd/actors"
	ps "ledgerd/engine/paysmart"
)

type updateCustomer struct {
	base
	patch CustomerPatch
}

type deleteCustomer struct{ base }

func handleCustomer(e *actors.Entity, op *actors.Op) {
	cur, _ := e.State.(*ps.Customer)
	switch c := op.Cmd.(type) {
	case *decided:
		handleDecided(e, op, c)
	case *updateCustomer:
		if cur == nil || cur.Owner != c.owner || cur.Deleted {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "id", ID: c.id})
			return
		}
		md, ok := merge(cur.Metadata, c.patch.Metadata, c.patch.ClearMetadata)
		if !ok {
			refuse(e, op, &c.base, Refusal{Code: CodeParameterInvalid, Param: "metadata", ID: c.id})
			return
		}
		next := *cur
		next.Metadata = md
		set(&next.Email, c.patch.Email)
		set(&next.Name, c.patch.Name)
		set(&next.Phone, c.patch.Phone)
		set(&next.Description, c.patch.Description)
		if c.patch.ClearAddress {
			next.Address = nil
		} else if c.patch.Address != nil {
			a := *c.patch.Address
			next.Address = &a
		}
		status, body := c.render(&next)
		if tooLarge(e, op, body) {
			return
		}
		emit(e, op, &ps.CustomerUpdated{Customer: next, Answer: bound(c.ans, status, body)}, reply{status, body}, &next)
	case *deleteCustomer:
		if cur == nil || cur.Owner != c.owner || cur.Deleted {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "id", ID: c.id})
			return
		}
		stub := &ps.Customer{Owner: cur.Owner, ID: cur.ID, CreatedMs: cur.CreatedMs, Deleted: true}
		status, body := c.render(stub)
		if tooLarge(e, op, body) {
			return
		}
		emit(e, op, &ps.CustomerDeleted{Owner: cur.Owner, ID: cur.ID, Answer: bound(c.ans, status, body)}, reply{status, body}, stub)
	}
}
