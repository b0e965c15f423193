package paysmart

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid is an event or section field out of range: the encoder never
// writes one, the decoder refuses it.
var ErrInvalid = errors.New("paysmart: invalid event")

// Id prefixes of the objects.
const (
	PrefixMethod   = "pm_"
	PrefixCustomer = "cus_"
	PrefixPayment  = "pay_"
	PrefixRefund   = "re_"
	PrefixEndpoint = "we_"
	PrefixEvent    = "evt_"
)

// More limits of the stored objects.
const (
	MaxID             = 255 // bytes of an id, account, key, token or fingerprint
	MaxEndpointEvents = 16  // enabled event types of one endpoint
	MaxBrand          = 32
	MaxExpYear        = 9999
)

// Refund reasons (Refund.Reason).
var Reasons = []string{"", "duplicate", "fraudulent", "requested_by_customer"}

// EventTypes are the webhook event types an endpoint may enable, besides
// AllEvents.
var EventTypes = []string{EventCustomerCreated, EventPaymentFailed, EventPaymentSucceeded, EventRefundCreated}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func fieldErr(name string, v any) error { return fmt.Errorf("%w: %s %v", ErrInvalid, name, v) }

// first is the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func validID(id, prefix string) error {
	if len(id) <= len(prefix) || len(id) > MaxID || !strings.HasPrefix(id, prefix) {
		return fmt.Errorf("%w: id %q (want %s...)", ErrInvalid, id, prefix)
	}
	return nil
}

func validOptionalID(id, prefix string) error {
	if id == "" {
		return nil
	}
	return validID(id, prefix)
}

func validOwner(o Owner) error {
	if o.Account == "" || len(o.Account) > MaxID {
		return fieldErr("account", o.Account)
	}
	return nil
}

func validText(name, s string) error {
	if len(s) > MaxText {
		return fmt.Errorf("%w: %s of %d bytes", ErrInvalid, name, len(s))
	}
	return nil
}

func validTime(name string, ms int64) error {
	if ms < 0 {
		return fieldErr(name, ms)
	}
	return nil
}

func validMetadata(md []KV) error {
	if len(md) > MaxMetadataKeys {
		return fieldErr("metadata keys", len(md))
	}
	for i, kv := range md {
		if kv.Key == "" || len(kv.Key) > MaxMetadataKey || len(kv.Value) > MaxMetadataValue {
			return fieldErr("metadata entry", kv.Key)
		}
		if i > 0 && md[i-1].Key >= kv.Key {
			return fieldErr("metadata order at", kv.Key)
		}
	}
	return nil
}

func validCard(c *Card) error {
	switch {
	case c.Brand == "" || len(c.Brand) > MaxBrand:
		return fieldErr("card brand", c.Brand)
	case len(c.Last4) != 4 || strings.Trim(c.Last4, "0123456789") != "":
		return fieldErr("card last4", c.Last4)
	case c.ExpMonth < 1 || c.ExpMonth > 12:
		return fieldErr("card exp_month", c.ExpMonth)
	case c.ExpYear < 1 || c.ExpYear > MaxExpYear:
		return fieldErr("card exp_year", c.ExpYear)
	case len(c.Fingerprint) > MaxID:
		return fieldErr("card fingerprint of bytes", len(c.Fingerprint))
	}
	return nil
}

func validMethod(m *PaymentMethod) error {
	return first(validOwner(m.Owner), validID(m.ID, PrefixMethod), validCard(&m.Card), validTime("pm created", m.CreatedMs))
}

func validAddress(a *Address) error {
	if a == nil {
		return nil
	}
	for _, s := range [...]string{a.Line1, a.Line2, a.City, a.State, a.PostalCode, a.Country} {
		if err := validText("address", s); err != nil {
			return err
		}
	}
	return nil
}

// validCustomer checks a customer; a deleted one is its stub (no fields
// but owner, id and created).
func validCustomer(c *Customer, deletedOK bool) error {
	err := first(validOwner(c.Owner), validID(c.ID, PrefixCustomer), validText("email", c.Email), validText("name", c.Name),
		validText("phone", c.Phone), validText("description", c.Description), validAddress(c.Address),
		validMetadata(c.Metadata), validTime("customer created", c.CreatedMs))
	switch {
	case err != nil:
		return err
	case c.Deleted && !deletedOK:
		return fieldErr("customer deleted", c.Deleted)
	case c.Deleted && (c.Email != "" || c.Name != "" || c.Phone != "" || c.Description != "" || c.Address != nil || c.Metadata != nil):
		return fieldErr("deleted customer with fields", c.ID)
	}
	return nil
}

func validAmount(name string, v int64) error {
	if v < MinAmount || v > MaxAmount {
		return fieldErr(name, v)
	}
	return nil
}

func validCurrency(c string) error {
	if !slices.Contains(Currencies, c) {
		return fieldErr("currency", c)
	}
	return nil
}

// validPayment checks a payment; refunded says whether AmountRefunded may
// be above 0 (a stored payment, not a new one).
func validPayment(p *Payment, refunded bool) error {
	err := first(validOwner(p.Owner), validID(p.ID, PrefixPayment), validAmount("amount", p.Amount), validCurrency(p.Currency),
		validID(p.PaymentMethod, PrefixMethod), validOptionalID(p.Customer, PrefixCustomer),
		validText("description", p.Description), validMetadata(p.Metadata), validText("failure message", p.FailureMessage),
		validTime("payment created", p.CreatedMs))
	switch {
	case err != nil:
		return err
	case len(p.FailureCode) > MaxID || len(p.DeclineCode) > MaxID || len(p.ReceiptToken) > MaxID:
		return fieldErr("failure code, decline code or receipt token of bytes", len(p.FailureCode)+len(p.DeclineCode)+len(p.ReceiptToken))
	case p.Status == StatusSucceeded && (p.FailureCode != "" || p.DeclineCode != "" || p.FailureMessage != ""):
		return fieldErr("succeeded payment with failure", p.FailureCode)
	case p.Status == StatusFailed && p.FailureCode == "":
		return fieldErr("failed payment without failure code", p.ID)
	case p.Status != StatusSucceeded && p.Status != StatusFailed:
		return fieldErr("payment status", p.Status)
	case p.AmountRefunded < 0 || p.AmountRefunded > p.Amount || (!refunded && p.AmountRefunded != 0):
		return fieldErr("amount refunded", p.AmountRefunded)
	case p.Status == StatusFailed && p.AmountRefunded != 0:
		return fieldErr("refunded failed payment", p.AmountRefunded)
	}
	return nil
}

func validPaymentCreated(ev *PaymentCreated) error {
	p := &ev.Payment
	want := EventPaymentSucceeded
	if p.Status == StatusFailed {
		want = EventPaymentFailed
	}
	err := first(validPayment(p, false), validNotice(&ev.Notice, want), validAnswer(&ev.Answer))
	if err == nil && ev.Method != nil {
		err = validMethod(ev.Method)
		if err == nil && (ev.Method.ID != p.PaymentMethod || ev.Method.Owner != p.Owner) {
			err = fieldErr("payment method created with the payment", ev.Method.ID)
		}
	}
	return err
}

func validRefund(f *Refund) error {
	err := first(validOwner(f.Owner), validID(f.ID, PrefixRefund), validID(f.Payment, PrefixPayment), validCurrency(f.Currency),
		validTime("refund created", f.CreatedMs))
	switch {
	case err != nil:
		return err
	case f.Amount < 1 || f.Amount > MaxAmount:
		return fieldErr("refund amount", f.Amount)
	case !slices.Contains(Reasons, f.Reason):
		return fieldErr("refund reason", f.Reason)
	}
	return nil
}

func validEvents(events []string) error {
	if len(events) == 0 || len(events) > MaxEndpointEvents {
		return fieldErr("enabled events", len(events))
	}
	for i, t := range events {
		if t != AllEvents && !slices.Contains(EventTypes, t) {
			return fieldErr("enabled event", t)
		}
		if i > 0 && events[i-1] >= t {
			return fieldErr("enabled events order at", t)
		}
	}
	return nil
}

func validEndpoint(e *Endpoint) error {
	err := first(validOwner(e.Owner), validID(e.ID, PrefixEndpoint), validText("description", e.Description),
		validTime("endpoint created", e.CreatedMs))
	switch {
	case err != nil:
		return err
	case e.URL == "" || len(e.URL) > MaxURL:
		return fieldErr("url of bytes", len(e.URL))
	case e.Rotation < 0:
		return fieldErr("rotation", e.Rotation)
	case e.Deleted:
		return fieldErr("endpoint deleted", e.Deleted)
	}
	return validEvents(e.Events)
}

// validNotice checks a notice of type want; an empty one (no event) is
// allowed.
func validNotice(n *Notice, want string) error {
	if n.ID == "" && n.Type == "" && n.Body == nil {
		return nil
	}
	if err := validID(n.ID, PrefixEvent); err != nil {
		return err
	}
	if n.Type != want || len(n.Body) == 0 || len(n.Body) > MaxBody {
		return fmt.Errorf("%w: notice %s of type %q (want %q), body of %d bytes", ErrInvalid, n.ID, n.Type, want, len(n.Body))
	}
	return nil
}

func validAnswer(a *Answer) error {
	switch {
	case len(a.Key) > MaxID || len(a.Fingerprint) > MaxID:
		return fieldErr("key or fingerprint of bytes", len(a.Key)+len(a.Fingerprint))
	case a.Status < 0 || a.Status > 999 || (a.Key != "" && (a.Status < 100 || a.Status > 599)):
		return fieldErr("answer status", a.Status)
	case len(a.Response) > MaxBody:
		return fieldErr("answer of bytes", len(a.Response))
	}
	return nil
}

func validEvent(e *Event) error {
	err := first(validOwner(e.Owner), validID(e.ID, PrefixEvent), validTime("event created", e.CreatedMs))
	switch {
	case err != nil:
		return err
	case !slices.Contains(EventTypes, e.Type):
		return fieldErr("event type", e.Type)
	case e.Object == "" || len(e.Object) > MaxID:
		return fieldErr("event object", e.Object)
	case len(e.Body) == 0 || len(e.Body) > MaxBody:
		return fieldErr("event body of bytes", len(e.Body))
	}
	return nil
}
