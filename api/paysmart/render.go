package paysmart

import (
	ps "ledgerd/engine/paysmart"
)

// Renderers of the API's objects. Every optional field not set is null;
// created is unix seconds.

func seconds(ms int64) int64 { return ms / 1000 }

func (a *API) receiptURL(token string) string {
	if token == "" {
		return ""
	}
	return a.publicURL + ReceiptsPath + "/" + token
}

func writeMetadata(w *jw, md []ps.KV) {
	w.key("metadata")
	w.open()
	for _, kv := range md {
		w.member(kv.Key, kv.Value)
	}
	w.close()
}

func writeCard(w *jw, c *ps.Card) {
	w.key("card")
	w.open()
	w.str("brand", c.Brand)
	w.str("last4", c.Last4)
	w.int("exp_month", c.ExpMonth)
	w.int("exp_year", c.ExpYear)
	w.close()
}

// methodJSON is a payment method object (POST /payment_methods).
func methodJSON(m *ps.PaymentMethod) []byte {
	w := newJW()
	w.open()
	w.str("id", m.ID)
	w.str("object", "payment_method")
	w.str("type", "card")
	writeCard(&w, &m.Card)
	w.bool("livemode", m.Live)
	w.int("created", seconds(m.CreatedMs))
	w.close()
	return w.b
}

// paymentJSON is a payment object, the spec's fields first.
func (a *API) paymentJSON(v *ps.PaymentView) []byte {
	w := newJW()
	a.writePayment(&w, v)
	return w.b
}

func (a *API) writePayment(w *jw, v *ps.PaymentView) {
	p := &v.Payment
	w.open()
	w.str("id", p.ID)
	w.str("object", "payment")
	w.int("amount", p.Amount)
	w.str("currency", p.Currency)
	w.str("status", p.Status)
	w.key("payment_method")
	w.open()
	w.str("id", v.Method.ID)
	w.str("type", "card")
	writeCard(w, &v.Method.Card)
	w.close()
	w.strOrNull("customer", p.Customer)
	w.strOrNull("description", p.Description)
	w.int("created", seconds(p.CreatedMs))
	w.strOrNull("receipt_url", a.receiptURL(p.ReceiptToken))
	w.int("amount_refunded", p.AmountRefunded)
	w.bool("refunded", p.AmountRefunded > 0 && p.AmountRefunded == p.Amount)
	w.strOrNull("failure_code", p.FailureCode)
	w.strOrNull("failure_message", p.FailureMessage)
	w.strOrNull("decline_code", p.DeclineCode)
	writeMetadata(w, p.Metadata)
	w.bool("livemode", p.Live)
	w.close()
}

// declineError is the 402 of a payment that was declined: it exists, with
// status failed, and error.payment names it.
func declineError(p *ps.Payment) *apiError {
	return &apiError{status: 402, typ: TypeCard, code: p.FailureCode, message: p.FailureMessage, declineCode: p.DeclineCode, payment: p.ID}
}

// refusalError is the error of an actors/paysmart Refusal.
func refusalError(code, param string) *apiError {
	switch code {
	case "resource_missing":
		return notFound(param)
	case "charge_already_refunded":
		return &apiError{status: 400, typ: TypeInvalidRequest, code: code, message: MsgAlreadyRefunded, param: param}
	case "amount_too_large":
		return &apiError{status: 400, typ: TypeInvalidRequest, code: code, message: MsgRefundTooLarge, param: param}
	case "charge_not_refundable":
		return &apiError{status: 400, typ: TypeInvalidRequest, code: code, message: MsgNotRefundable, param: param}
	case "parameter_invalid":
		return invalid(code, MsgMetadataKeys, param)
	}
	return &apiError{status: 500, typ: TypeAPI, code: code, message: MsgParameterInvalid, param: param}
}

// eventJSON is an event object: {"id","object":"event","type","created",
// "livemode","data":{"object":…}}, rendered when it happens and kept.
func eventJSON(id, typ string, createdMs int64, live bool, object []byte) []byte {
	w := newJW()
	w.open()
	w.str("id", id)
	w.str("object", "event")
	w.str("type", typ)
	w.int("created", seconds(createdMs))
	w.bool("livemode", live)
	w.key("data")
	w.open()
	w.raw("object", object)
	w.close()
	w.close()
	return w.b
}

// listJSON is {"object":"list","data":[…],"has_more":…,"url":…}.
func listJSON(url string, items [][]byte, more bool) []byte {
	w := newJW()
	w.open()
	w.str("object", "list")
	w.key("data")
	w.openArray()
	for _, it := range items {
		w.rawValue(it)
	}
	w.closeArray()
	w.bool("has_more", more)
	w.str("url", url)
	w.close()
	return w.b
}

// renderMore renders the answers of refunds, customers and endpoints.
func (a *API) renderMore(v any) (int64, []byte) {
	switch x := v.(type) {
	case *ps.Refund:
		return 200, refundJSON(x)
	case *ps.Customer:
		if x.Deleted {
			return 200, deletedJSON(x.ID, "customer")
		}
		return 200, customerJSON(x)
	case *ps.Endpoint:
		if x.Deleted {
			return 200, deletedJSON(x.ID, "webhook_endpoint")
		}
		return 200, endpointJSON(x, "")
	}
	e := &apiError{status: 500, typ: TypeAPI, code: CodeOverloaded, message: MsgOverloaded}
	return 500, e.body()
}

// deletedJSON is the stub of a deleted object.
func deletedJSON(id, object string) []byte {
	w := newJW()
	w.open()
	w.str("id", id)
	w.str("object", object)
	w.bool("deleted", true)
	w.close()
	return w.b
}

func refundJSON(f *ps.Refund) []byte {
	w := newJW()
	w.open()
	w.str("id", f.ID)
	w.str("object", "refund")
	w.int("amount", f.Amount)
	w.str("currency", f.Currency)
	w.str("payment", f.Payment)
	w.strOrNull("reason", f.Reason)
	w.str("status", "succeeded")
	w.int("created", seconds(f.CreatedMs))
	w.bool("livemode", f.Live)
	w.close()
	return w.b
}

// customerJSON is a customer object, the spec's fields first in its
// order (id, object, email, name, phone, address, created).
func customerJSON(c *ps.Customer) []byte {
	w := newJW()
	w.open()
	w.str("id", c.ID)
	w.str("object", "customer")
	w.strOrNull("email", c.Email)
	w.strOrNull("name", c.Name)
	w.strOrNull("phone", c.Phone)
	if c.Address == nil {
		w.null("address")
	} else {
		ad := c.Address
		w.key("address")
		w.open()
		w.strOrNull("line1", ad.Line1)
		w.strOrNull("line2", ad.Line2)
		w.strOrNull("city", ad.City)
		w.strOrNull("state", ad.State)
		w.strOrNull("postal_code", ad.PostalCode)
		w.strOrNull("country", ad.Country)
		w.close()
	}
	w.int("created", seconds(c.CreatedMs))
	w.strOrNull("description", c.Description)
	writeMetadata(&w, c.Metadata)
	w.bool("livemode", c.Live)
	w.close()
	return w.b
}

// endpointJSON is a webhook endpoint; secret, when not "", is added (only
// the answer to its creation shows it).
func endpointJSON(e *ps.Endpoint, secret string) []byte {
	w := newJW()
	w.open()
	w.str("id", e.ID)
	w.str("object", "webhook_endpoint")
	w.str("url", e.URL)
	w.key("enabled_events")
	w.openArray()
	for _, t := range e.Events {
		w.strValue(t)
	}
	w.closeArray()
	status := "enabled"
	if e.Disabled {
		status = "disabled"
	}
	w.str("status", status)
	w.strOrNull("description", e.Description)
	w.int("created", seconds(e.CreatedMs))
	w.bool("livemode", e.Live)
	if secret != "" {
		w.str("secret", secret)
	}
	w.close()
	return w.b
}
