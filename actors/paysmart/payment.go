package paysmart

import (
	"ledgerd/actors"
	ps "ledgerd/engine/paysmart"
)

type updatePayment struct {
	base
	patch           PaymentPatch
	missingCustomer bool // the patch names a customer this owner does not have (checked against durable state)
}

type createRefund struct {
	base
	refund ps.Refund // Amount 0: what is left
	notice func(*ps.Refund, *ps.Payment) ps.Notice
}

func handlePayment(e *actors.Entity, op *actors.Op) {
	v, _ := e.State.(*ps.PaymentView)
	switch c := op.Cmd.(type) {
	case *decided:
		handleDecided(e, op, c)
	case *updatePayment:
		if v == nil || v.Payment.Owner != c.owner {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "id", ID: c.id})
			return
		}
		updatePaymentOf(e, op, v, c)
	case *createRefund:
		if v == nil || v.Payment.Owner != c.owner {
			refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "payment", ID: c.id})
			return
		}
		refundOf(e, op, v, c)
	}
}

func updatePaymentOf(e *actors.Entity, op *actors.Op, v *ps.PaymentView, c *updatePayment) {
	if c.missingCustomer {
		refuse(e, op, &c.base, Refusal{Code: CodeResourceMissing, Param: "customer", ID: *c.patch.Customer})
		return
	}
	md, ok := merge(v.Payment.Metadata, c.patch.Metadata, c.patch.ClearMetadata)
	if !ok {
		refuse(e, op, &c.base, Refusal{Code: CodeParameterInvalid, Param: "metadata", ID: c.id})
		return
	}
	next := *v
	next.Payment.Metadata = md
	set(&next.Payment.Description, c.patch.Description)
	set(&next.Payment.Customer, c.patch.Customer)
	status, body := c.render(&next)
	if tooLarge(e, op, body) {
		return
	}
	p := &next.Payment
	emit(e, op, &ps.PaymentUpdated{Owner: p.Owner, ID: p.ID, Description: p.Description, Metadata: p.Metadata, Customer: p.Customer,
		Answer: bound(c.ans, status, body)}, reply{status, body}, &next)
}

func refundOf(e *actors.Entity, op *actors.Op, v *ps.PaymentView, c *createRefund) {
	p := &v.Payment
	left := p.Amount - p.AmountRefunded
	f := c.refund
	switch {
	case p.Status != ps.StatusSucceeded:
		refuse(e, op, &c.base, Refusal{Code: CodePaymentFailed, Param: "payment", ID: p.ID})
		return
	case left == 0:
		refuse(e, op, &c.base, Refusal{Code: CodeAlreadyRefunded, Param: "payment", ID: p.ID})
		return
	case f.Amount > left:
		refuse(e, op, &c.base, Refusal{Code: CodeRefundTooLarge, Param: "amount", ID: p.ID})
		return
	case f.Amount <= 0:
		f.Amount = left
	}
	f.Owner, f.Currency = p.Owner, p.Currency
	next := *v
	next.Payment.AmountRefunded += f.Amount
	status, body := c.render(&f)
	var n ps.Notice
	if c.notice != nil {
		n = c.notice(&f, &next.Payment)
	}
	if tooLarge(e, op, body) || tooLarge(e, op, n.Body) {
		return
	}
	emit(e, op, &ps.RefundCreated{Refund: f, AmountRefundedAfter: next.Payment.AmountRefunded, Notice: n,
		Answer: bound(c.ans, status, body)}, reply{status, body}, &next)
}
