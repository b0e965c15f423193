package paysmart

import (
	"ledgerd/engine"
)

// Event types: wire format, never renumber (engine/doc.go lists them).
const (
	EvPaymentMethodCreated engine.EventType = 20
	EvCustomerCreated      engine.EventType = 21
	EvCustomerUpdated      engine.EventType = 22
	EvCustomerDeleted      engine.EventType = 23
	EvPaymentCreated       engine.EventType = 24
	EvPaymentUpdated       engine.EventType = 25
	EvRefundCreated        engine.EventType = 26
	EvEndpointCreated      engine.EventType = 27
	EvEndpointUpdated      engine.EventType = 28
	EvEndpointDeleted      engine.EventType = 29
	EvRefused              engine.EventType = 30
)

// Idempotency-Key scopes, one per mode: a key is the account's and the
// mode's, across every POST route (a reuse on another route has another
// fingerprint: a conflict). Wire format.
const (
	ScopeTest engine.Scope = 5
	ScopeLive engine.Scope = 6
)

// ScopeOf is the Idempotency-Key scope of an owner's mode.
func ScopeOf(o Owner) engine.Scope {
	if o.Live {
		return ScopeLive
	}
	return ScopeTest
}

// Entity kinds: one actor at a time owns each object. A payment's actor
// owns its refunds too.
var (
	PaymentEntity  = engine.RegisterEntityKind("payment/paysmart")
	CustomerEntity = engine.RegisterEntityKind("customer/paysmart")
	MethodEntity   = engine.RegisterEntityKind("method/paysmart")
	EndpointEntity = engine.RegisterEntityKind("endpoint/paysmart")
)

// PaymentMethodCreated tokenizes a card (POST /payment_methods).
type PaymentMethodCreated struct {
	engine.Stamp
	Method PaymentMethod
	Answer Answer
}

// CustomerCreated adds a customer and its customer.created event.
type CustomerCreated struct {
	engine.Stamp
	Customer Customer
	Notice   Notice
	Answer   Answer
}

// CustomerUpdated replaces a customer with its whole new value.
type CustomerUpdated struct {
	engine.Stamp
	Customer Customer
	Answer   Answer
}

// CustomerDeleted leaves the customer's stub (id, owner, created, Deleted).
type CustomerDeleted struct {
	engine.Stamp
	Owner  Owner
	ID     string
	Answer Answer
}

// PaymentCreated adds a payment whose outcome is decided; Method is the
// payment method created with it (card details in the request), nil when
// the payment names an existing one.
type PaymentCreated struct {
	engine.Stamp
	Payment Payment
	Method  *PaymentMethod
	Notice  Notice
	Answer  Answer
}

// PaymentUpdated sets a payment's description, metadata and customer
// (whole new values).
type PaymentUpdated struct {
	engine.Stamp
	Owner       Owner
	ID          string
	Description string
	Metadata    []KV
	Customer    string
	Answer      Answer
}

// RefundCreated refunds part or all of a succeeded payment;
// AmountRefundedAfter is the payment's AmountRefunded with it.
type RefundCreated struct {
	engine.Stamp
	Refund              Refund
	AmountRefundedAfter int64
	Notice              Notice
	Answer              Answer
}

// EndpointCreated adds a webhook endpoint.
type EndpointCreated struct {
	engine.Stamp
	Endpoint Endpoint
	Answer   Answer
}

// EndpointUpdated replaces an endpoint with its whole new value.
type EndpointUpdated struct {
	engine.Stamp
	Endpoint Endpoint
	Answer   Answer
}

// EndpointDeleted marks an endpoint deleted: it gets no more deliveries.
type EndpointDeleted struct {
	engine.Stamp
	Owner  Owner
	ID     string
	Answer Answer
}

// Refused is a refusal decided against state (no such payment, a refund
// past the amount, a refund of a failed payment, no such customer or
// payment method): it changes nothing but binds its Idempotency-Key, so a
// retry gets the same answer.
type Refused struct {
	engine.Stamp
	Owner  Owner
	Answer Answer
}

func (*PaymentMethodCreated) EventType() engine.EventType { return EvPaymentMethodCreated }
func (*CustomerCreated) EventType() engine.EventType      { return EvCustomerCreated }
func (*CustomerUpdated) EventType() engine.EventType      { return EvCustomerUpdated }
func (*CustomerDeleted) EventType() engine.EventType      { return EvCustomerDeleted }
func (*PaymentCreated) EventType() engine.EventType       { return EvPaymentCreated }
func (*PaymentUpdated) EventType() engine.EventType       { return EvPaymentUpdated }
func (*RefundCreated) EventType() engine.EventType        { return EvRefundCreated }
func (*EndpointCreated) EventType() engine.EventType      { return EvEndpointCreated }
func (*EndpointUpdated) EventType() engine.EventType      { return EvEndpointUpdated }
func (*EndpointDeleted) EventType() engine.EventType      { return EvEndpointDeleted }
func (*Refused) EventType() engine.EventType              { return EvRefused }

// idem is the record an event with answer a of owner o leaves: only when
// it answered an Idempotency-Key.
func idem(o Owner, a *Answer, timeMs int64) (engine.IdemKey, engine.IdemRecord, bool) {
	if a.Key == "" {
		return engine.IdemKey{}, engine.IdemRecord{}, false
	}
	return engine.IdemKey{Partner: o.Account, Scope: ScopeOf(o), Reference: a.Key},
		engine.IdemRecord{Fingerprint: a.Fingerprint, TimeMs: timeMs, Status: uint16(a.Status), Response: string(a.Response)}, true
}

func entity(k engine.EntityKind, id string) (engine.Entity, bool) {
	return engine.Entity{Kind: k, ID: id}, true
}

func init() {
	engine.RegisterScope(ScopeTest, "paysmart.key_test", engine.RetainKeys)
	engine.RegisterScope(ScopeLive, "paysmart.key_live", engine.RetainKeys)
	engine.Register(engine.EventDef[*PaymentMethodCreated]{Type: EvPaymentMethodCreated, Name: "paysmart.payment_method_created", Fields: 2,
		Encode: func(w *engine.Writer, ev *PaymentMethodCreated) {
			writeMethod(w, &ev.Method)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentMethodCreated {
			ev := &PaymentMethodCreated{Stamp: engine.Stamp{TimeMs: t}}
			readMethod(r, &ev.Method)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *PaymentMethodCreated) error {
			return first(validMethod(&ev.Method), validAnswer(&ev.Answer))
		},
		Apply:  applyMethodCreated,
		Entity: func(ev *PaymentMethodCreated) (engine.Entity, bool) { return entity(MethodEntity, ev.Method.ID) },
		Idem: func(ev *PaymentMethodCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Method.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*CustomerCreated]{Type: EvCustomerCreated, Name: "paysmart.customer_created", Fields: 3,
		Encode: func(w *engine.Writer, ev *CustomerCreated) {
			writeCustomer(w, &ev.Customer)
			w.Notice(&ev.Notice)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *CustomerCreated {
			ev := &CustomerCreated{Stamp: engine.Stamp{TimeMs: t}}
			readCustomer(r, &ev.Customer)
			ev.Notice, ev.Answer = r.Notice(), r.Answer()
			return ev
		},
		Validate: func(ev *CustomerCreated) error {
			return first(validCustomer(&ev.Customer, false), validNotice(&ev.Notice, EventCustomerCreated), validAnswer(&ev.Answer))
		},
		Apply:  applyCustomerCreated,
		Entity: func(ev *CustomerCreated) (engine.Entity, bool) { return entity(CustomerEntity, ev.Customer.ID) },
		Idem: func(ev *CustomerCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Customer.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*CustomerUpdated]{Type: EvCustomerUpdated, Name: "paysmart.customer_updated", Fields: 2,
		Encode: func(w *engine.Writer, ev *CustomerUpdated) {
			writeCustomer(w, &ev.Customer)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *CustomerUpdated {
			ev := &CustomerUpdated{Stamp: engine.Stamp{TimeMs: t}}
			readCustomer(r, &ev.Customer)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *CustomerUpdated) error {
			return first(validCustomer(&ev.Customer, false), validAnswer(&ev.Answer))
		},
		Apply:  applyCustomerUpdated,
		Entity: func(ev *CustomerUpdated) (engine.Entity, bool) { return entity(CustomerEntity, ev.Customer.ID) },
		Idem: func(ev *CustomerUpdated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Customer.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*CustomerDeleted]{Type: EvCustomerDeleted, Name: "paysmart.customer_deleted", Fields: 3,
		Encode: func(w *engine.Writer, ev *CustomerDeleted) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *CustomerDeleted {
			return &CustomerDeleted{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Answer: r.Answer()}
		},
		Validate: func(ev *CustomerDeleted) error {
			return first(validOwner(ev.Owner), validID(ev.ID, PrefixCustomer), validAnswer(&ev.Answer))
		},
		Apply:  applyCustomerDeleted,
		Entity: func(ev *CustomerDeleted) (engine.Entity, bool) { return entity(CustomerEntity, ev.ID) },
		Idem: func(ev *CustomerDeleted) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*PaymentCreated]{Type: EvPaymentCreated, Name: "paysmart.payment_created", Fields: 4,
		Encode: func(w *engine.Writer, ev *PaymentCreated) {
			writePayment(w, &ev.Payment)
			if ev.Method == nil {
				w.Len(0)
			} else {
				writeMethod(w, ev.Method)
			}
			w.Notice(&ev.Notice)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentCreated {
			ev := &PaymentCreated{Stamp: engine.Stamp{TimeMs: t}}
			readPayment(r, &ev.Payment)
			ev.Method = readOptionalMethod(r)
			ev.Notice, ev.Answer = r.Notice(), r.Answer()
			return ev
		},
		Validate: validPaymentCreated,
		Apply:    applyPaymentCreated,
		Entity:   func(ev *PaymentCreated) (engine.Entity, bool) { return entity(PaymentEntity, ev.Payment.ID) },
		Idem: func(ev *PaymentCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Payment.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*PaymentUpdated]{Type: EvPaymentUpdated, Name: "paysmart.payment_updated", Fields: 6,
		Encode: func(w *engine.Writer, ev *PaymentUpdated) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Str(ev.Description)
			writeMetadata(w, ev.Metadata)
			w.Str(ev.Customer)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentUpdated {
			ev := &PaymentUpdated{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Description: r.Str()}
			ev.Metadata, ev.Customer, ev.Answer = readMetadata(r), r.Str(), r.Answer()
			return ev
		},
		Validate: func(ev *PaymentUpdated) error {
			return first(validOwner(ev.Owner), validID(ev.ID, PrefixPayment), validText("description", ev.Description),
				validMetadata(ev.Metadata), validOptionalID(ev.Customer, PrefixCustomer), validAnswer(&ev.Answer))
		},
		Apply:  applyPaymentUpdated,
		Entity: func(ev *PaymentUpdated) (engine.Entity, bool) { return entity(PaymentEntity, ev.ID) },
		Idem: func(ev *PaymentUpdated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*RefundCreated]{Type: EvRefundCreated, Name: "paysmart.refund_created", Fields: 4,
		Encode: func(w *engine.Writer, ev *RefundCreated) {
			writeRefund(w, &ev.Refund)
			w.Int(ev.AmountRefundedAfter)
			w.Notice(&ev.Notice)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *RefundCreated {
			ev := &RefundCreated{Stamp: engine.Stamp{TimeMs: t}}
			readRefund(r, &ev.Refund)
			ev.AmountRefundedAfter, ev.Notice, ev.Answer = r.Int(), r.Notice(), r.Answer()
			return ev
		},
		Validate: func(ev *RefundCreated) error {
			err := first(validRefund(&ev.Refund), validNotice(&ev.Notice, EventRefundCreated), validAnswer(&ev.Answer))
			if err == nil && (ev.AmountRefundedAfter < ev.Refund.Amount || ev.AmountRefundedAfter > MaxAmount) {
				err = fieldErr("amount refunded after", ev.AmountRefundedAfter)
			}
			return err
		},
		Apply:  applyRefundCreated,
		Entity: func(ev *RefundCreated) (engine.Entity, bool) { return entity(PaymentEntity, ev.Refund.Payment) },
		Idem: func(ev *RefundCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Refund.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*EndpointCreated]{Type: EvEndpointCreated, Name: "paysmart.endpoint_created", Fields: 2,
		Encode: func(w *engine.Writer, ev *EndpointCreated) {
			writeEndpoint(w, &ev.Endpoint)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *EndpointCreated {
			ev := &EndpointCreated{Stamp: engine.Stamp{TimeMs: t}}
			readEndpoint(r, &ev.Endpoint)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *EndpointCreated) error { return first(validEndpoint(&ev.Endpoint), validAnswer(&ev.Answer)) },
		Apply:    applyEndpointCreated,
		Entity:   func(ev *EndpointCreated) (engine.Entity, bool) { return entity(EndpointEntity, ev.Endpoint.ID) },
		Idem: func(ev *EndpointCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Endpoint.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*EndpointUpdated]{Type: EvEndpointUpdated, Name: "paysmart.endpoint_updated", Fields: 2,
		Encode: func(w *engine.Writer, ev *EndpointUpdated) {
			writeEndpoint(w, &ev.Endpoint)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *EndpointUpdated {
			ev := &EndpointUpdated{Stamp: engine.Stamp{TimeMs: t}}
			readEndpoint(r, &ev.Endpoint)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *EndpointUpdated) error { return first(validEndpoint(&ev.Endpoint), validAnswer(&ev.Answer)) },
		Apply:    applyEndpointUpdated,
		Entity:   func(ev *EndpointUpdated) (engine.Entity, bool) { return entity(EndpointEntity, ev.Endpoint.ID) },
		Idem: func(ev *EndpointUpdated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Endpoint.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*EndpointDeleted]{Type: EvEndpointDeleted, Name: "paysmart.endpoint_deleted", Fields: 3,
		Encode: func(w *engine.Writer, ev *EndpointDeleted) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *EndpointDeleted {
			return &EndpointDeleted{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Answer: r.Answer()}
		},
		Validate: func(ev *EndpointDeleted) error {
			return first(validOwner(ev.Owner), validID(ev.ID, PrefixEndpoint), validAnswer(&ev.Answer))
		},
		Apply:  applyEndpointDeleted,
		Entity: func(ev *EndpointDeleted) (engine.Entity, bool) { return entity(EndpointEntity, ev.ID) },
		Idem: func(ev *EndpointDeleted) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*Refused]{Type: EvRefused, Name: "paysmart.refused", Fields: 2,
		Encode: func(w *engine.Writer, ev *Refused) { writeOwner(w, ev.Owner); w.Answer(&ev.Answer) },
		Decode: func(r *engine.Reader, t int64) *Refused {
			return &Refused{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), Answer: r.Answer()}
		},
		Validate: func(ev *Refused) error {
			err := first(validOwner(ev.Owner), validAnswer(&ev.Answer))
			if err == nil && ev.Answer.Key == "" {
				err = errorf("%w: a refusal without an Idempotency-Key", ErrInvalid)
			}
			return err
		},
		Apply: func(*engine.State, *Refused) {}, // only its idempotency record
		Idem: func(ev *Refused) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
}
