package paysmart

import (
	"fmt"

	"ledgerd/engine"
)

// Wire layouts of the objects inside events and the snapshot section
// (msgpack, wire format: never reorder; a new layout is a new event type
// or section version). Each is one array:
//
//	owner    [account, live 0|1]
//	card     [brand, last4, exp_month, exp_year, fingerprint]
//	method   [owner, id, card, createdMs]
//	address  [] (null) or [line1, line2, city, state, postal_code, country]
//	metadata [[key, value]...] sorted by key
//	customer [owner, id, email, name, phone, description, address, metadata, createdMs, deleted 0|1]
//	payment  [owner, id, amount, currency, status, pm, customer, description, metadata,
//	          failure_code, decline_code, failure_message, amount_refunded, receipt_token, createdMs]
//	refund   [owner, id, payment, amount, currency, reason, createdMs]
//	endpoint [owner, id, url, [events...], description, disabled 0|1, rotation, createdMs, deleted 0|1]
//	notice   [id, type, body (bin)]          all empty: none
//	answer   [key, fingerprint, status, response (bin)]
//	event    [owner, id, type, object, createdMs, body (bin)]

func writeOwner(w *engine.Writer, o Owner) {
	w.Len(2)
	w.Str(o.Account)
	w.Bool(o.Live)
}

func readOwner(r *engine.Reader) Owner {
	if !r.Array(2) {
		return Owner{}
	}
	return Owner{Account: r.Str(), Live: r.Bool()}
}

func writeMethod(w *engine.Writer, m *PaymentMethod) {
	w.Len(4)
	writeOwner(w, m.Owner)
	w.Str(m.ID)
	w.Len(5)
	w.Str(m.Card.Brand)
	w.Str(m.Card.Last4)
	w.Int(m.Card.ExpMonth)
	w.Int(m.Card.ExpYear)
	w.Str(m.Card.Fingerprint)
	w.Int(m.CreatedMs)
}

func readMethod(r *engine.Reader, m *PaymentMethod) {
	if !r.Array(4) {
		return
	}
	readMethodFields(r, m)
}

func readMethodFields(r *engine.Reader, m *PaymentMethod) {
	m.Owner, m.ID = readOwner(r), r.Str()
	if !r.Array(5) {
		return
	}
	m.Card = Card{Brand: r.Str(), Last4: r.Str(), ExpMonth: r.Int(), ExpYear: r.Int(), Fingerprint: r.Str()}
	m.CreatedMs = r.Int()
}

// readOptionalMethod reads a method or an empty array (none).
func readOptionalMethod(r *engine.Reader) *PaymentMethod {
	switch n := r.Count(-1, 1); {
	case r.Err() != nil || n == 0:
		return nil
	case n != 4:
		r.Fail(fmt.Errorf("%w: payment method of %d fields", ErrInvalid, n))
		return nil
	}
	m := &PaymentMethod{}
	readMethodFields(r, m)
	return m
}

func writeMetadata(w *engine.Writer, md []KV) {
	w.Len(len(md))
	for _, kv := range md {
		w.Len(2)
		w.Str(kv.Key)
		w.Str(kv.Value)
	}
}

func readMetadata(r *engine.Reader) []KV {
	n := r.Count(-1, 3)
	if r.Err() != nil || n == 0 {
		return nil
	}
	if n > MaxMetadataKeys {
		r.Fail(fmt.Errorf("%w: %d metadata keys", ErrInvalid, n))
		return nil
	}
	md := make([]KV, n)
	for i := range md {
		if !r.Array(2) {
			return nil
		}
		md[i] = KV{Key: r.Str(), Value: r.Str()}
	}
	return md
}

func writeAddress(w *engine.Writer, a *Address) {
	if a == nil {
		w.Len(0)
		return
	}
	w.Len(6)
	w.Str(a.Line1)
	w.Str(a.Line2)
	w.Str(a.City)
	w.Str(a.State)
	w.Str(a.PostalCode)
	w.Str(a.Country)
}

func readAddress(r *engine.Reader) *Address {
	switch n := r.Count(-1, 1); {
	case r.Err() != nil || n == 0:
		return nil
	case n != 6:
		r.Fail(fmt.Errorf("%w: address of %d fields", ErrInvalid, n))
		return nil
	}
	return &Address{Line1: r.Str(), Line2: r.Str(), City: r.Str(), State: r.Str(), PostalCode: r.Str(), Country: r.Str()}
}

func writeCustomer(w *engine.Writer, c *Customer) {
	w.Len(10)
	writeOwner(w, c.Owner)
	w.Str(c.ID)
	w.Str(c.Email)
	w.Str(c.Name)
	w.Str(c.Phone)
	w.Str(c.Description)
	writeAddress(w, c.Address)
	writeMetadata(w, c.Metadata)
	w.Int(c.CreatedMs)
	w.Bool(c.Deleted)
}

func readCustomer(r *engine.Reader, c *Customer) {
	if !r.Array(10) {
		return
	}
	c.Owner, c.ID, c.Email, c.Name, c.Phone, c.Description = readOwner(r), r.Str(), r.Str(), r.Str(), r.Str(), r.Str()
	c.Address, c.Metadata, c.CreatedMs, c.Deleted = readAddress(r), readMetadata(r), r.Int(), r.Bool()
}

func writePayment(w *engine.Writer, p *Payment) {
	w.Len(15)
	writeOwner(w, p.Owner)
	w.Str(p.ID)
	w.Int(p.Amount)
	w.Str(p.Currency)
	w.Str(p.Status)
	w.Str(p.PaymentMethod)
	w.Str(p.Customer)
	w.Str(p.Description)
	writeMetadata(w, p.Metadata)
	w.Str(p.FailureCode)
	w.Str(p.DeclineCode)
	w.Str(p.FailureMessage)
	w.Int(p.AmountRefunded)
	w.Str(p.ReceiptToken)
	w.Int(p.CreatedMs)
}

func readPayment(r *engine.Reader, p *Payment) {
	if !r.Array(15) {
		return
	}
	p.Owner, p.ID, p.Amount, p.Currency, p.Status = readOwner(r), r.Str(), r.Int(), r.Str(), r.Str()
	p.PaymentMethod, p.Customer, p.Description, p.Metadata = r.Str(), r.Str(), r.Str(), readMetadata(r)
	p.FailureCode, p.DeclineCode, p.FailureMessage = r.Str(), r.Str(), r.Str()
	p.AmountRefunded, p.ReceiptToken, p.CreatedMs = r.Int(), r.Str(), r.Int()
}

func writeRefund(w *engine.Writer, f *Refund) {
	w.Len(7)
	writeOwner(w, f.Owner)
	w.Str(f.ID)
	w.Str(f.Payment)
	w.Int(f.Amount)
	w.Str(f.Currency)
	w.Str(f.Reason)
	w.Int(f.CreatedMs)
}

func readRefund(r *engine.Reader, f *Refund) {
	if !r.Array(7) {
		return
	}
	f.Owner, f.ID, f.Payment, f.Amount = readOwner(r), r.Str(), r.Str(), r.Int()
	f.Currency, f.Reason, f.CreatedMs = r.Str(), r.Str(), r.Int()
}

func writeEndpoint(w *engine.Writer, e *Endpoint) {
	w.Len(9)
	writeOwner(w, e.Owner)
	w.Str(e.ID)
	w.Str(e.URL)
	w.Strs(e.Events)
	w.Str(e.Description)
	w.Bool(e.Disabled)
	w.Int(e.Rotation)
	w.Int(e.CreatedMs)
	w.Bool(e.Deleted)
}

func readEndpoint(r *engine.Reader, e *Endpoint) {
	if !r.Array(9) {
		return
	}
	e.Owner, e.ID, e.URL, e.Events = readOwner(r), r.Str(), r.Str(), r.Strs(MaxEndpointEvents)
	e.Description, e.Disabled, e.Rotation, e.CreatedMs, e.Deleted = r.Str(), r.Bool(), r.Int(), r.Int(), r.Bool()
	if len(e.Events) == 0 {
		e.Events = nil
	}
}

func writeEvent(w *engine.Writer, e *Event) {
	w.Len(6)
	writeOwner(w, e.Owner)
	w.Str(e.ID)
	w.Str(e.Type)
	w.Str(e.Object)
	w.Int(e.CreatedMs)
	w.Bin(e.Body)
}

func readEvent(r *engine.Reader, e *Event) {
	if !r.Array(6) {
		return
	}
	e.Owner, e.ID, e.Type, e.Object, e.CreatedMs, e.Body = readOwner(r), r.Str(), r.Str(), r.Str(), r.Int(), r.Bin(MaxBody)
}
