package paysmart

import (
	"slices"
	"strings"

	"ledgerd/actors/outbox"
	"ledgerd/api/cards"
	ps "ledgerd/engine/paysmart"
)

// Route decoders: a params tree (params.go) to a typed request, or the
// first parameter refused. Unknown parameters are refused first, then the
// known ones in the order of the spec.

// cardIn is card details as sent. The number and CVC live only in the
// request: never stored, logged or written.
type cardIn struct {
	number, cvc       string
	expMonth, expYear int64
}

// methodIn is payment_method: an existing pm_ id or card details.
type methodIn struct {
	id   string
	card *cardIn
}

type paymentCreate struct {
	amount      int64
	currency    string
	method      methodIn
	customer    string
	description string
	metadata    []ps.KV
}

var (
	errAmountSmall = invalid(CodeAmountTooSmall, MsgAmountTooSmall, "amount")
	errAmountLarge = invalid(CodeAmountTooLarge, MsgAmountTooLarge, "amount")
)

func decodeAmount(n *node, requiredAmount bool) (int64, *apiError) {
	v, set, err := integer(n, "amount", ps.MinAmount, ps.MaxAmount, errAmountSmall, errAmountLarge)
	if err == nil && !set && requiredAmount {
		err = missing("amount")
	}
	return v, err
}

func decodeCurrency(n *node) (string, *apiError) {
	c, err := required(n, "currency", 8)
	if err != nil {
		return "", err
	}
	if !slices.Contains(ps.Currencies, c) {
		return "", invalid(CodeInvalidCurrency, MsgInvalidCurrency, "currency")
	}
	return c, nil
}

func decodePaymentCreate(n *node) (paymentCreate, *apiError) {
	var p paymentCreate
	if err := known(n, "", "amount", "currency", "payment_method", "customer", "description", "metadata"); err != nil {
		return p, err
	}
	var err *apiError
	if p.amount, err = decodeAmount(n.get("amount"), true); err != nil {
		return p, err
	}
	if p.currency, err = decodeCurrency(n.get("currency")); err != nil {
		return p, err
	}
	pm := n.get("payment_method")
	switch {
	case pm == nil || pm.kind == nNull:
		return p, missing("payment_method")
	case pm.kind == nString:
		if p.method.id, err = required(pm, "payment_method", ps.MaxID); err != nil {
			return p, err
		}
		if _, _, err = id(pm, "payment_method", ps.PrefixMethod); err != nil {
			return p, err
		}
	default:
		c, err := decodeMethodObject(pm, "payment_method")
		if err != nil {
			return p, err
		}
		p.method.card = &c
	}
	if p.customer, _, err = id(n.get("customer"), "customer", ps.PrefixCustomer); err != nil {
		return p, err
	}
	if p.description, _, err = text(n.get("description"), "description", ps.MaxText); err != nil {
		return p, err
	}
	md, _, err := metadata(n.get("metadata"))
	p.metadata = nonEmpty(md)
	return p, err
}

// decodeMethodObject reads {type:"card", card:{number, exp_month,
// exp_year, cvc}} below prefix ("payment_method", or "" for the body of
// POST /payment_methods).
func decodeMethodObject(n *node, prefix string) (cardIn, *apiError) {
	var c cardIn
	if err := known(n, prefix, "type", "card"); err != nil {
		return c, err
	}
	typ, err := required(n.get("type"), name(prefix, "type"), 16)
	if err != nil {
		return c, err
	}
	if typ != "card" {
		return c, invalid(CodeParameterInvalid, MsgParameterInvalid, name(prefix, "type"))
	}
	cp := name(prefix, "card")
	card := n.get("card")
	if card == nil || card.kind == nNull {
		return c, missing(cp)
	}
	if err := known(card, cp, "number", "exp_month", "exp_year", "cvc"); err != nil {
		return c, err
	}
	if c.number, err = required(card.get("number"), name(cp, "number"), 64); err != nil {
		return c, err
	}
	var set bool
	if c.expMonth, set, err = integer(card.get("exp_month"), name(cp, "exp_month"), 0, 1<<31, nil, nil); err != nil || !set {
		return c, orMissing(err, name(cp, "exp_month"))
	}
	if c.expYear, set, err = integer(card.get("exp_year"), name(cp, "exp_year"), 0, 1<<31, nil, nil); err != nil || !set {
		return c, orMissing(err, name(cp, "exp_year"))
	}
	if c.cvc, err = required(card.get("cvc"), name(cp, "cvc"), 16); err != nil {
		return c, err
	}
	return c, nil
}

func orMissing(err *apiError, param string) *apiError {
	if err != nil {
		return err
	}
	return missing(param)
}

// cardError is a card that fails validation (402, nothing created).
func cardError(e *cards.Error, prefix string) *apiError {
	param := e.Param
	if prefix == "" { // POST /payment_methods: card[number], …
		param = param[len("payment_method["):]
		param = param[:len("card")] + param[len("card]"):]
	}
	return &apiError{status: 402, typ: TypeCard, code: e.Code, message: e.Message, param: param}
}

func decodeMethodCreate(n *node) (cardIn, *apiError) { return decodeMethodObject(n, "") }

// paymentUpdate is POST /payments/{id}: description, customer, metadata.
type paymentUpdate struct {
	description, customer *string
	metadata              []ps.KV
	clearMetadata         bool
}

func decodePaymentUpdate(n *node) (paymentUpdate, *apiError) {
	var u paymentUpdate
	if err := known(n, "", "description", "customer", "metadata"); err != nil {
		return u, err
	}
	if s, set, err := text(n.get("description"), "description", ps.MaxText); err != nil {
		return u, err
	} else if set {
		u.description = &s
	}
	if s, set, err := id(n.get("customer"), "customer", ps.PrefixCustomer); err != nil {
		return u, err
	} else if set {
		u.customer = &s
	}
	var err *apiError
	u.metadata, u.clearMetadata, err = metadata(n.get("metadata"))
	return u, err
}

// refundCreate is POST /refunds {payment, amount?, reason?}.
type refundCreate struct {
	payment string
	amount  int64 // 0: all that is left
	reason  string
}

func decodeRefundCreate(n *node) (refundCreate, *apiError) {
	var r refundCreate
	if err := known(n, "", "payment", "amount", "reason"); err != nil {
		return r, err
	}
	pay, set, err := id(n.get("payment"), "payment", ps.PrefixPayment)
	if err != nil {
		return r, err
	}
	if !set || pay == "" {
		return r, missing("payment")
	}
	r.payment = pay
	tooSmall := invalid(CodeAmountTooSmall, "A refund's amount must be at least 1.", "amount")
	if r.amount, _, err = integer(n.get("amount"), "amount", 1, ps.MaxAmount, tooSmall, errAmountLarge); err != nil {
		return r, err
	}
	if r.reason, _, err = text(n.get("reason"), "reason", 32); err != nil {
		return r, err
	}
	if !slices.Contains(ps.Reasons, r.reason) {
		return r, invalid(CodeParameterInvalid, "reason must be duplicate, fraudulent or requested_by_customer.", "reason")
	}
	return r, nil
}

// customerFields are the fields of a customer create or update: nil
// pointer = not sent; "" = clear.
type customerFields struct {
	email, name, phone, description *string
	address                         *ps.Address
	clearAddress                    bool
	metadata                        []ps.KV
	clearMetadata                   bool
}

func decodeCustomer(n *node) (customerFields, *apiError) {
	var c customerFields
	if err := known(n, "", "email", "name", "phone", "description", "address", "metadata"); err != nil {
		return c, err
	}
	for _, f := range []struct {
		key string
		dst **string
	}{{"email", &c.email}, {"name", &c.name}, {"phone", &c.phone}, {"description", &c.description}} {
		s, set, err := text(n.get(f.key), f.key, ps.MaxText)
		if err != nil {
			return c, err
		}
		if set {
			*f.dst = &s
		}
	}
	if c.email != nil && *c.email != "" && !emailLike(*c.email) {
		return c, invalid(CodeParameterInvalid, "Invalid email address.", "email")
	}
	var err *apiError
	if c.address, c.clearAddress, err = decodeAddress(n.get("address")); err != nil {
		return c, err
	}
	c.metadata, c.clearMetadata, err = metadata(n.get("metadata"))
	return c, err
}

// emailLike: one @ with text on both sides, a dot after it, no spaces.
func emailLike(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at == strings.LastIndexByte(s, '@') && strings.Contains(s[at+1:], ".") &&
		!strings.HasSuffix(s, ".") && !strings.ContainsAny(s, " \t\r\n<>")
}

// decodeAddress reads address: null or "" clears it; an object replaces it
// whole.
func decodeAddress(n *node) (*ps.Address, bool, *apiError) {
	if n == nil {
		return nil, false, nil
	}
	if n.kind == nNull || (n.kind == nString && n.text == "") {
		return nil, true, nil
	}
	if err := known(n, "address", "line1", "line2", "city", "state", "postal_code", "country"); err != nil {
		return nil, false, err
	}
	var a ps.Address
	for _, f := range []struct {
		key string
		dst *string
	}{{"line1", &a.Line1}, {"line2", &a.Line2}, {"city", &a.City}, {"state", &a.State}, {"postal_code", &a.PostalCode}, {"country", &a.Country}} {
		s, _, err := text(n.get(f.key), name("address", f.key), ps.MaxText)
		if err != nil {
			return nil, false, err
		}
		*f.dst = s
	}
	return &a, false, nil
}

// endpointFields are the fields of an endpoint create or update.
type endpointFields struct {
	url, description *string
	events           []string // nil: not sent
	disabled         *bool
}

func (a *API) decodeEndpoint(n *node, create bool) (endpointFields, *apiError) {
	var e endpointFields
	allowed := []string{"url", "enabled_events", "description"}
	if !create {
		allowed = append(allowed, "disabled")
	}
	if err := known(n, "", allowed...); err != nil {
		return e, err
	}
	u, set, err := text(n.get("url"), "url", ps.MaxURL)
	switch {
	case err != nil:
		return e, err
	case set && (u == "" || outbox.CheckURL(u, a.allowInsecure) != nil):
		return e, invalid(CodeURLInvalid, MsgURLInvalid, "url")
	case set:
		e.url = &u
	case create:
		return e, missing("url")
	}
	events, set, err := list(n.get("enabled_events"), "enabled_events", ps.MaxEndpointEvents, 64)
	switch {
	case err != nil:
		return e, err
	case set:
		if e.events, err = enabledEvents(events); err != nil {
			return e, err
		}
	case create:
		return e, missing("enabled_events")
	}
	d, set, err := text(n.get("description"), "description", ps.MaxText)
	if err != nil {
		return e, err
	}
	if set {
		e.description = &d
	}
	if b, set, err := boolean(n.get("disabled"), "disabled"); err != nil {
		return e, err
	} else if set {
		e.disabled = &b
	}
	return e, nil
}

// enabledEvents checks and sorts the event types; "*" among them is all.
func enabledEvents(events []string) ([]string, *apiError) {
	bad := invalid(CodeParameterInvalid, "enabled_events must name payment.succeeded, payment.failed, refund.created, customer.created or \"*\".", "enabled_events")
	if len(events) == 0 {
		return nil, bad
	}
	out := make([]string, 0, len(events))
	for _, t := range events {
		if t == ps.AllEvents {
			return []string{ps.AllEvents}, nil
		}
		if !slices.Contains(ps.EventTypes, t) {
			return nil, bad
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}
