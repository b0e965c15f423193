package paysmart

import (
	"slices"

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
