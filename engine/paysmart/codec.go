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

func writeBool(w *engine.Writer, b bool) {
	if b {
		w.Int(1)
	} else {
		w.Int(0)
	}
}

func readBool(r *engine.Reader) bool { return r.Small(1) == 1 }

// writeBin writes b as a bin value, also when empty (msgpack writes a nil
// slice as nil, which the reader refuses).
func writeBin(w *engine.Writer, b []byte) {
	if b == nil {
		b = []byte{}
	}
	w.Bytes(b)
}

// readBin reads a bin of at most MaxBody bytes; empty is nil.
func readBin(r *engine.Reader) []byte {
	b := r.LongBytes(MaxBody)
	if len(b) == 0 {
		return nil
	}
	return b
}

// header reads an array header of exactly n elements.
func header(r *engine.Reader, n int) bool {
	r.Count(n, 1)
	return r.Err() == nil
}

func writeOwner(w *engine.Writer, o Owner) {
	w.Len(2)
	w.Str(o.Account)
	writeBool(w, o.Live)
}

func readOwner(r *engine.Reader) Owner {
	if !header(r, 2) {
		return Owner{}
	}
	return Owner{Account: r.Str(), Live: readBool(r)}
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
	if !header(r, 4) {
		return
	}
	readMethodFields(r, m)
}

func readMethodFields(r *engine.Reader, m *PaymentMethod) {
	m.Owner, m.ID = readOwner(r), r.Str()
	if !header(r, 5) {
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
		if !header(r, 2) {
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
	writeBool(w, c.Deleted)
}

func readCustomer(r *engine.Reader, c *Customer) {
	if !header(r, 10) {
		return
	}
	c.Owner, c.ID, c.Email, c.Name, c.Phone, c.Description = readOwner(r), r.Str(), r.Str(), r.Str(), r.Str(), r.Str()
	c.Address, c.Metadata, c.CreatedMs, c.Deleted = readAddress(r), readMetadata(r), r.Int(), readBool(r)
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
	if !header(r, 15) {
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
	if !header(r, 7) {
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
	writeBool(w, e.Disabled)
	w.Int(e.Rotation)
	w.Int(e.CreatedMs)
	writeBool(w, e.Deleted)
}

func readEndpoint(r *engine.Reader, e *Endpoint) {
	if !header(r, 9) {
		return
	}
	e.Owner, e.ID, e.URL, e.Events = readOwner(r), r.Str(), r.Str(), r.Strs(MaxEndpointEvents)
	e.Description, e.Disabled, e.Rotation, e.CreatedMs, e.Deleted = r.Str(), readBool(r), r.Int(), r.Int(), readBool(r)
	if len(e.Events) == 0 {
		e.Events = nil
	}
}

func writeNotice(w *engine.Writer, n *Notice) {
	w.Len(3)
	w.Str(n.ID)
	w.Str(n.Type)
	writeBin(w, n.Body)
}

func readNotice(r *engine.Reader) Notice {
	if !header(r, 3) {
		return Notice{}
	}
	return Notice{ID: r.Str(), Type: r.Str(), Body: readBin(r)}
}

func writeAnswer(w *engine.Writer, a *Answer) {
	w.Len(4)
	w.Str(a.Key)
	w.Str(a.Fingerprint)
	w.Int(a.Status)
	writeBin(w, a.Response)
}

func readAnswer(r *engine.Reader) Answer {
	if !header(r, 4) {
		return Answer{}
	}
	return Answer{Key: r.Str(), Fingerprint: r.Str(), Status: r.Small(999), Response: readBin(r)}
}

func writeEvent(w *engine.Writer, e *Event) {
	w.Len(6)
	writeOwner(w, e.Owner)
	w.Str(e.ID)
	w.Str(e.Type)
	w.Str(e.Object)
	w.Int(e.CreatedMs)
	writeBin(w, e.Body)
}

func readEvent(r *engine.Reader, e *Event) {
	if !header(r, 6) {
		return
	}
	e.Owner, e.ID, e.Type, e.Object, e.CreatedMs, e.Body = readOwner(r), r.Str(), r.Str(), r.Str(), r.Int(), readBin(r)
}
