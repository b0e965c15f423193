package paysmart

import (
	"slices"

	"ledgerd/actors"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// Op kinds, one per command.
var (
	kindCreateMethod   = actors.NewKind("paysmart.create_payment_method")
	kindCreatePayment  = actors.NewKind("paysmart.create_payment")
	kindUpdatePayment  = actors.NewKind("paysmart.update_payment")
	kindCreateRefund   = actors.NewKind("paysmart.create_refund")
	kindCreateCustomer = actors.NewKind("paysmart.create_customer")
	kindUpdateCustomer = actors.NewKind("paysmart.update_customer")
	kindDeleteCustomer = actors.NewKind("paysmart.delete_customer")
	kindCreateEndpoint = actors.NewKind("paysmart.create_endpoint")
	kindUpdateEndpoint = actors.NewKind("paysmart.update_endpoint")
	kindDeleteEndpoint = actors.NewKind("paysmart.delete_endpoint")
)

// The entity kinds. None stays resident: objects are read through
// ReadState, and written a few times at most.
func init() {
	id := func(op *actors.Op) string { return op.Cmd.(command).entity() }
	actors.RegisterEntity(actors.EntityDef{Kind: ps.PaymentEntity, ID: id,
		Ops: []actors.Kind{kindCreatePayment, kindUpdatePayment, kindCreateRefund},
		Load: func(st *engine.State, id string) any {
			if p := ps.Of(st).Payments[id]; p != nil {
				v, _ := ps.GetPayment(st, p.Owner, id)
				return &v
			}
			return nil
		},
		Handle: handlePayment,
	})
	actors.RegisterEntity(actors.EntityDef{Kind: ps.CustomerEntity, ID: id,
		Ops: []actors.Kind{kindCreateCustomer, kindUpdateCustomer, kindDeleteCustomer},
		Load: func(st *engine.State, id string) any {
			if c := ps.Of(st).Customers[id]; c != nil {
				cp := *c
				return &cp
			}
			return nil
		},
		Handle: handleCustomer,
	})
	actors.RegisterEntity(actors.EntityDef{Kind: ps.MethodEntity, ID: id, Ops: []actors.Kind{kindCreateMethod},
		Load: func(st *engine.State, id string) any {
			if m := ps.Of(st).Methods[id]; m != nil {
				cp := *m
				return &cp
			}
			return nil
		},
		Handle: func(e *actors.Entity, op *actors.Op) { handleDecided(e, op, op.Cmd.(*decided)) },
	})
	actors.RegisterEntity(actors.EntityDef{Kind: ps.EndpointEntity, ID: id,
		Ops: []actors.Kind{kindCreateEndpoint, kindUpdateEndpoint, kindDeleteEndpoint},
		Load: func(st *engine.State, id string) any {
			if w := ps.Of(st).Endpoints[id]; w != nil {
				cp := *w
				return &cp
			}
			return nil
		},
		Handle: handleEndpoint,
	})
}

// command is what every command carries.
type command interface{ entity() string }

// base is the part of a command every state-dependent one shares.
type base struct {
	id     string // the entity
	owner  ps.Owner
	ans    ps.Answer
	render Render
}

func (b *base) entity() string { return b.id }

// reply is a first answer, handed back through op.Result.
type reply struct {
	status int64
	body   []byte
}

// stamped is an event whose time the actor sets.
type stamped interface {
	engine.Event
	SetTime(ms int64)
}

// decided is a command the API layer decided whole: a creation (or a
// refusal decided before the actor) with its event and answer; the actor
// stamps it and makes sure the id is new.
type decided struct {
	id    string
	ev    stamped
	state any // the entity's working state after it (nil: a refusal)
	reply reply
}

func (d *decided) entity() string { return d.id }

// bound is ans with the answer it binds (none without a key).
func bound(ans ps.Answer, status int64, body []byte) ps.Answer {
	if ans.Key == "" {
		return ps.Answer{}
	}
	ans.Status, ans.Response = status, body
	return ans
}

// tooLarge reports an answer the event could not hold; the command is
// refused with StatusOverloaded and nothing is committed.
func tooLarge(e *actors.Entity, op *actors.Op, body []byte) bool {
	if len(body) > ps.MaxBody {
		e.Release(op, actors.StatusOverloaded)
		return true
	}
	return false
}

// emit stamps ev, makes next (when non-nil) the working state and hands it to the committer; op is answered with r once
// it is durable. An event its Validate refuses (a bug of the caller: the
// API validates its input first) is never emitted: the encoder would stop
// the process. It is answered StatusOverloaded and changes nothing.
func emit(e *actors.Entity, op *actors.Op, ev stamped, r reply, next any) {
	ev.SetTime(e.NowMs())
	if engine.Validate(ev) != nil {
		e.Release(op, actors.StatusOverloaded)
		return
	}
	if next != nil {
		e.State = next // the working state: the next command sees it
	}
	op.Status, op.Result = actors.StatusOK, &r
	e.Emit(ev, op)
}

func handleDecided(e *actors.Entity, op *actors.Op, d *decided) {
	if e.State != nil && d.state != nil { // ids are random: a collision
		e.Release(op, actors.StatusOverloaded)
		return
	}
	if tooLarge(e, op, d.reply.body) {
		return
	}
	emit(e, op, d.ev, d.reply, d.state)
}

// refuse answers with a Refusal; with an Idempotency-Key it is an event
// that binds the key, without one it is answered once what this actor
// emitted is durable.
func refuse(e *actors.Entity, op *actors.Op, b *base, r Refusal) {
	status, body := b.render(r)
	if tooLarge(e, op, body) {
		return
	}
	if b.ans.Key == "" {
		op.Status, op.Result = actors.StatusOK, &reply{status, body}
		e.ReadDurable(op)
		return
	}
	emit(e, op, &ps.Refused{Owner: b.owner, Answer: bound(b.ans, status, body)}, reply{status, body}, nil)
}

// merge applies a metadata patch; false when the result has too many keys.
func merge(md []ps.KV, patch []ps.KV, clear bool) ([]ps.KV, bool) {
	if clear {
		md = nil
	}
	if len(patch) == 0 {
		return md, true
	}
	m := make(map[string]string, len(md)+len(patch))
	for _, kv := range md {
		m[kv.Key] = kv.Value
	}
	for _, kv := range patch {
		if kv.Value == "" {
			delete(m, kv.Key)
		} else {
			m[kv.Key] = kv.Value
		}
	}
	if len(m) > ps.MaxMetadataKeys {
		return nil, false
	}
	out := make([]ps.KV, 0, len(m))
	for k, v := range m {
		out = append(out, ps.KV{Key: k, Value: v})
	}
	slices.SortFunc(out, func(a, b ps.KV) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	if len(out) == 0 {
		out = nil
	}
	return out, true
}

func set(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}
