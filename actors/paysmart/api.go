package paysmart

import (
	"ledgerd/actors"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// do runs cmd as an Op of kind for auth and reads its answer.
func do(sys *actors.System, auth Auth, kind actors.Kind, cmd command, ans ps.Answer) Result {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Cmd, op.Partner = kind, cmd, auth.Account
	op.KeyHash, op.RateLimit = auth.KeyHash, auth.RateLimit
	// A decided command creates its object (payment, method, customer,
	// endpoint) under an id the API has just drawn at random: it needs no
	// actor (actors.Op.Fresh).
	_, op.Fresh = cmd.(*decided)
	if ans.Key != "" {
		op.Scope, op.Reference, op.Fingerprint = ps.ScopeOf(auth.Owner()), ans.Key, ans.Fingerprint
	}
	sys.Do(op)
	r := Result{Status: op.Status, Replayed: op.Idempotent, RetryAfterSec: op.RetryAfterSec, Rate: op.Rate}
	switch {
	case op.Status != actors.StatusOK:
	case op.Idempotent:
		r.HTTP, r.Body = int(op.ResponseStatus), []byte(op.Response)
	default:
		if a, ok := op.Result.(*reply); ok {
			r.HTTP, r.Body = int(a.status), a.body
		}
	}
	return r
}

// decide runs a command the caller decided whole.
func decide(sys *actors.System, auth Auth, kind actors.Kind, d *decided, ans ps.Answer) Result {
	return do(sys, auth, kind, d, ans)
}

// CreatePaymentMethod records a tokenized card; ans holds the answer
// (Status, Response: the pm_ object).
func CreatePaymentMethod(sys *actors.System, auth Auth, pm ps.PaymentMethod, ans ps.Answer) Result {
	pm.Owner = auth.Owner()
	m := pm
	ev := &ps.PaymentMethodCreated{Method: pm, Answer: bound(ans, ans.Status, ans.Response)}
	return decide(sys, auth, kindCreateMethod, &decided{id: pm.ID, ev: ev, state: &m, reply: reply{ans.Status, ans.Response}}, ans)
}

// CreatePayment records a payment whose outcome the API decided. method is
// the payment method created with it (card details in the request), nil
// when p.PaymentMethod names an existing one: then it, and p.Customer when
// set, must be this owner's (checked against durable state; a customer
// deleted is missing), else the answer is render(Refusal{resource_missing,
// param "payment_method" or "customer"}) and nothing is created. The answer
// is render(*PaymentView) and then its event notice(*PaymentView), with
// the same view.
func CreatePayment(sys *actors.System, auth Auth, p ps.Payment, method *ps.PaymentMethod, notice func(*ps.PaymentView) ps.Notice,
	ans ps.Answer, render Render) Result {
	o := auth.Owner()
	p.Owner = o
	v := &ps.PaymentView{Payment: p}
	var refusal *Refusal
	if method != nil {
		m := *method
		m.Owner = o
		method, v.Method = &m, m
	}
	if method == nil || p.Customer != "" {
		sys.ReadState(func(st *engine.State) {
			if method == nil {
				m, ok := ps.GetMethod(st, o, p.PaymentMethod)
				if !ok {
					refusal = &Refusal{Code: CodeResourceMissing, Param: "payment_method", ID: p.PaymentMethod}
					return
				}
				v.Method = m
			}
			if c, ok := ps.GetCustomer(st, o, p.Customer); p.Customer != "" && (!ok || c.Deleted) {
				refusal = &Refusal{Code: CodeResourceMissing, Param: "customer", ID: p.Customer}
			}
		})
	}
	if refusal != nil {
		status, body := render(*refusal)
		if ans.Key == "" {
			return Result{Status: actors.StatusOK, HTTP: int(status), Body: body}
		}
		ev := &ps.Refused{Owner: o, Answer: bound(ans, status, body)}
		return decide(sys, auth, kindCreatePayment, &decided{id: p.ID, ev: ev, reply: reply{status, body}}, ans)
	}
	status, body := render(v)
	var n ps.Notice
	if notice != nil {
		n = notice(v)
	}
	ev := &ps.PaymentCreated{Payment: p, Method: method, Notice: n, Answer: bound(ans, status, body)}
	return decide(sys, auth, kindCreatePayment, &decided{id: p.ID, ev: ev, state: v, reply: reply{status, body}}, ans)
}

// UpdatePayment changes a payment's description, metadata or customer.
// A customer named must be this owner's and not deleted.
func UpdatePayment(sys *actors.System, auth Auth, id string, patch PaymentPatch, ans ps.Answer, render Render) Result {
	o := auth.Owner()
	c := &updatePayment{base: base{id: id, owner: o, ans: ans, render: render}, patch: patch}
	if patch.Customer != nil && *patch.Customer != "" {
		sys.ReadState(func(st *engine.State) {
			cu, ok := ps.GetCustomer(st, o, *patch.Customer)
			c.missingCustomer = !ok || cu.Deleted
		})
	}
	return do(sys, auth, kindUpdatePayment, c, ans)
}

// CreateRefund refunds r.Amount (0: all that is left) of payment
// r.Payment, on the payment's actor: refused (render(Refusal)) when the
// payment is not this owner's, failed, fully refunded, or has less left.
// The API sets r.ID, r.Reason and r.CreatedMs; the actor sets Owner,
// Currency and the amount. The answer is render(*Refund) and its event
// notice(refund, payment after it).
func CreateRefund(sys *actors.System, auth Auth, r ps.Refund, notice func(*ps.Refund, *ps.Payment) ps.Notice, ans ps.Answer, render Render) Result {
	return do(sys, auth, kindCreateRefund, &createRefund{base: base{id: r.Payment, owner: auth.Owner(), ans: ans, render: render},
		refund: r, notice: notice}, ans)
}

// CreateCustomer records a customer and its customer.created event; ans
// holds the answer.
func CreateCustomer(sys *actors.System, auth Auth, c ps.Customer, notice ps.Notice, ans ps.Answer) Result {
	c.Owner = auth.Owner()
	cp := c
	ev := &ps.CustomerCreated{Customer: c, Notice: notice, Answer: bound(ans, ans.Status, ans.Response)}
	return decide(sys, auth, kindCreateCustomer, &decided{id: c.ID, ev: ev, state: &cp, reply: reply{ans.Status, ans.Response}}, ans)
}

// UpdateCustomer patches a customer (not deleted); the answer is
// render(*Customer).
func UpdateCustomer(sys *actors.System, auth Auth, id string, patch CustomerPatch, ans ps.Answer, render Render) Result {
	return do(sys, auth, kindUpdateCustomer, &updateCustomer{base: base{id: id, owner: auth.Owner(), ans: ans, render: render}, patch: patch}, ans)
}

// DeleteCustomer deletes a customer, leaving its stub; the answer is
// render(*Customer) with Deleted set.
func DeleteCustomer(sys *actors.System, auth Auth, id string, ans ps.Answer, render Render) Result {
	return do(sys, auth, kindDeleteCustomer, &deleteCustomer{base{id: id, owner: auth.Owner(), ans: ans, render: render}}, ans)
}

// CreateEndpoint records a webhook endpoint (Events sorted); ans holds
// the answer. ans.Response must not hold the signing secret: it is stored
// in the WAL for replays. Store the object without it and add the secret,
// derived again from the master key, id and Rotation, to the first answer
// and to every replay.
func CreateEndpoint(sys *actors.System, auth Auth, we ps.Endpoint, ans ps.Answer) Result {
	we.Owner = auth.Owner()
	cp := we
	ev := &ps.EndpointCreated{Endpoint: we, Answer: bound(ans, ans.Status, ans.Response)}
	return decide(sys, auth, kindCreateEndpoint, &decided{id: we.ID, ev: ev, state: &cp, reply: reply{ans.Status, ans.Response}}, ans)
}

// UpdateEndpoint patches an endpoint (not deleted); the answer is
// render(*Endpoint).
func UpdateEndpoint(sys *actors.System, auth Auth, id string, patch EndpointPatch, ans ps.Answer, render Render) Result {
	return do(sys, auth, kindUpdateEndpoint, &updateEndpoint{base: base{id: id, owner: auth.Owner(), ans: ans, render: render}, patch: patch}, ans)
}

// DeleteEndpoint deletes an endpoint: it gets no more deliveries; the
// answer is render(*Endpoint) with Deleted set.
func DeleteEndpoint(sys *actors.System, auth Auth, id string, ans ps.Answer, render Render) Result {
	return do(sys, auth, kindDeleteEndpoint, &deleteEndpoint{base{id: id, owner: auth.Owner(), ans: ans, render: render}}, ans)
}
