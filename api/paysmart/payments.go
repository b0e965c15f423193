package paysmart

import (
	"errors"
	"time"

	"github.com/valyala/fasthttp"

	aps "ledgerd/actors/paysmart"
	"ledgerd/api/cards"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// TestCards are Stripe's public test cards (api/cards gives their
// outcomes). A payment method keeps no number, so a payment naming one
// (payment_method: "pm_…") finds its outcome by the card's fingerprint.
var TestCards = []string{
	"4242424242424242", "5555555555554444", "378282246310005",
	"4000000000000002", "4000000000009995", "4000000000009987", "4000000000009979",
	"4000000000000069", "4000000000000127", "4000000000000119",
}

// ReceiptTokenChars is the random part of a receipt URL (base62, about
// 190 bits).
const ReceiptTokenChars = 32

// tokenize checks card details and makes the payment method of them, or
// the 402 card_error of a card that fails validation (nothing created).
func (a *API) tokenize(c *call, in *cardIn, prefix string) (ps.PaymentMethod, cards.Decision, *apiError) {
	card, cerr := cards.Parse(in.number, in.expMonth, in.expYear, in.cvc, cards.MonthOf(c.now.UTC()))
	if cerr != nil {
		return ps.PaymentMethod{}, cards.Decision{}, cardError(cerr, prefix)
	}
	m := ps.PaymentMethod{Owner: c.owner(), ID: newID(ps.PrefixMethod), CreatedMs: c.now.UnixMilli(),
		Card: ps.Card{Brand: card.Brand, Last4: card.Last4, ExpMonth: card.ExpMonth, ExpYear: card.ExpYear,
			Fingerprint: a.mac.Fingerprint(in.number)}}
	return m, cards.Outcome(in.number, c.auth.Live), nil
}

// outcomeOf is the sandbox's decision for a payment with a stored payment
// method: expired since it was tokenized → expired_card; a known test card
// (by fingerprint) → its outcome in this mode; any other card approved.
func (a *API) outcomeOf(m *ps.PaymentMethod, live bool, now time.Time) cards.Decision {
	month := cards.MonthOf(now.UTC())
	if m.Card.ExpYear*12+m.Card.ExpMonth < month.Year*12+month.Month {
		return cards.Decision{Code: cards.CodeExpiredCard, Message: cards.MsgExpiredCard}
	}
	if n, ok := a.testCards[m.Card.Fingerprint]; ok {
		return cards.Outcome(n, live)
	}
	return cards.Decision{Approved: true}
}

// createMethod is POST /payment_methods {type: card, card: {…}}: the one
// route a publishable key may call.
func (a *API) createMethod(c *call) *apiError {
	in, err := decodeMethodCreate(c.body)
	if err != nil {
		return err
	}
	m, _, err := a.tokenize(c, &in, "")
	if err != nil {
		return err
	}
	c.ans.Status, c.ans.Response = 200, methodJSON(&m)
	a.finish(c, aps.CreatePaymentMethod(a.sys, c.auth, m, c.ans))
	return nil
}

func (a *API) getMethod(c *call) {
	var m ps.PaymentMethod
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { m, ok = ps.GetMethod(st, c.owner(), id) })
	if !ok {
		writeError(c.ctx, notFound("id"))
		return
	}
	reply(c.ctx, fasthttp.StatusOK, methodJSON(&m))
}

// createPayment is POST /payments. The card's outcome is decided here; a
// decline creates the payment with status failed and answers 402 naming it.
func (a *API) createPayment(c *call) *apiError {
	req, err := decodePaymentCreate(c.body)
	if err != nil {
		return err
	}
	p := ps.Payment{ID: newID(ps.PrefixPayment), Amount: req.amount, Currency: req.currency, Customer: req.customer,
		Description: req.description, Metadata: req.metadata, ReceiptToken: randomString(ReceiptTokenChars), CreatedMs: c.now.UnixMilli()}
	var method *ps.PaymentMethod
	var d cards.Decision
	if req.method.card != nil {
		m, dec, err := a.tokenize(c, req.method.card, "payment_method")
		if err != nil {
			return err
		}
		method, d, p.PaymentMethod = &m, dec, m.ID
	} else {
		p.PaymentMethod = req.method.id
		var m ps.PaymentMethod
		var ok bool
		a.sys.ReadState(func(st *engine.State) { m, ok = ps.GetMethod(st, c.owner(), p.PaymentMethod) })
		d = cards.Decision{Approved: true} // a missing method: CreatePayment refuses it
		if ok {
			d = a.outcomeOf(&m, c.auth.Live, c.now)
		}
	}
	p.Status = ps.StatusSucceeded
	if !d.Approved {
		p.Status, p.FailureCode, p.DeclineCode, p.FailureMessage = ps.StatusFailed, d.Code, d.DeclineCode, d.Message
	}
	evt := newID(ps.PrefixEvent)
	// CreatePayment renders the answer, then the event: a succeeded
	// payment's answer is the very object its event carries, so it is
	// rendered once (a failed one answers with its decline error).
	var object []byte
	render := func(v any) (int64, []byte) {
		status, body := a.render(v)
		if _, ok := v.(*ps.PaymentView); ok && status == fasthttp.StatusOK {
			object = body
		}
		return status, body
	}
	notice := func(v *ps.PaymentView) ps.Notice {
		typ := ps.EventPaymentSucceeded
		if v.Payment.Status == ps.StatusFailed {
			typ = ps.EventPaymentFailed
		}
		if object == nil {
			object = a.paymentJSON(v)
		}
		return ps.Notice{ID: evt, Type: typ, Body: eventJSON(evt, typ, v.Payment.CreatedMs, v.Payment.Live, object)}
	}
	a.finish(c, aps.CreatePayment(a.sys, c.auth, p, method, notice, c.ans, render))
	return nil
}

func (a *API) getPayment(c *call) {
	var v ps.PaymentView
	var ok bool
	id := pathID(c.ctx, "id")
	a.sys.ReadState(func(st *engine.State) { v, ok = ps.GetPayment(st, c.owner(), id) })
	if !ok {
		writeError(c.ctx, notFound("id"))
		return
	}
	reply(c.ctx, fasthttp.StatusOK, a.paymentJSON(&v))
}

// updatePayment is POST /payments/{id}: description, metadata, customer.
func (a *API) updatePayment(c *call) *apiError {
	u, err := decodePaymentUpdate(c.body)
	if err != nil {
		return err
	}
	patch := aps.PaymentPatch{Description: u.description, Customer: u.customer, Metadata: u.metadata, ClearMetadata: u.clearMetadata}
	a.finish(c, aps.UpdatePayment(a.sys, c.auth, pathID(c.ctx, "id"), patch, c.ans, a.renderUpdate))
	return nil
}

// listPayments is GET /payments (?customer=, created[…], limit, cursors).
func (a *API) listPayments(c *call) {
	q, err := decodeQuery(c, "customer")
	if err != nil {
		writeError(c.ctx, err)
		return
	}
	var items []ps.PaymentView
	var more bool
	var lerr error
	a.sys.ReadState(func(st *engine.State) { items, more, lerr = ps.ListPayments(st, q) })
	if lerr != nil {
		writeError(c.ctx, listError(lerr, q))
		return
	}
	out := make([][]byte, len(items))
	for i := range items {
		out[i] = a.paymentJSON(&items[i])
	}
	reply(c.ctx, fasthttp.StatusOK, listJSON(Base+"/payments", out, more))
}

// listError is the 400 of a list query the engine refused.
func listError(err error, q ps.Query) *apiError {
	if errors.Is(err, ps.ErrNoSuchCursor) {
		if q.StartingAfter != "" {
			return notFound("starting_after")
		}
		return notFound("ending_before")
	}
	return invalid(CodeParameterInvalid, MsgParameterInvalid, "starting_after")
}

// balance is GET /balance: succeeded − refunded per currency, this mode.
func (a *API) balance(c *call) {
	var amounts []ps.Amount
	a.sys.ReadState(func(st *engine.State) { amounts = ps.Balance(st, c.owner()) })
	w := newJW()
	w.open()
	w.str("object", "balance")
	w.key("available")
	w.openArray()
	for _, am := range amounts {
		w.open()
		w.int("amount", am.Amount)
		w.str("currency", am.Currency)
		w.close()
	}
	w.closeArray()
	w.bool("livemode", c.auth.Live)
	w.close()
	reply(c.ctx, fasthttp.StatusOK, w.b)
}
