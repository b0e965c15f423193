package checkout

import (
	"ledgerd/engine"
)

// Wire layouts of the objects inside events and the snapshot section
// (msgpack, wire format: never reorder; a new layout is a new event type
// or section version). Each is one array:
//
//	owner    [shop, live 0|1]
//	shop     [id, name, accent_color, logo (bin), logo_type, webhook_url, webhook_rotation, createdMs]
//	payment  [owner, id, amount, currency, return_url, customer_email, customer_name, metadata,
//	          token, status, failure_reason, attempts, last_decline, amount_refunded,
//	          card_brand, card_last4, createdMs, expiresMs, completedMs, failedMs]
//	notice   [id, type, body (bin)]          all empty: none
//	answer   [key, fingerprint, status, response (bin)]

const (
	shopFields    = 8
	paymentFields = 20
)

func writeOwner(w *engine.Writer, o Owner) {
	w.Len(2)
	w.Str(o.Shop)
	w.Bool(o.Live)
}

func readOwner(r *engine.Reader) Owner {
	if !r.Array(2) {
		return Owner{}
	}
	return Owner{Shop: r.Str(), Live: r.Bool()}
}

func writeShop(w *engine.Writer, s *Shop) {
	w.Len(shopFields)
	w.Str(s.ID)
	w.Str(s.Name)
	w.Str(s.AccentColor)
	w.Bin(s.Logo)
	w.Str(s.LogoType)
	w.Str(s.WebhookURL)
	w.Int(s.WebhookRotation)
	w.Int(s.CreatedMs)
}

func readShop(r *engine.Reader) Shop {
	if !r.Array(shopFields) {
		return Shop{}
	}
	return Shop{ID: r.Str(), Name: r.Str(), AccentColor: r.Str(), Logo: r.Bin(MaxLogo), LogoType: r.Str(),
		WebhookURL: r.Str(), WebhookRotation: r.Int(), CreatedMs: r.Int()}
}

func writePayment(w *engine.Writer, p *Payment) {
	w.Len(paymentFields)
	writeOwner(w, p.Owner)
	w.Str(p.ID)
	w.Int(p.Amount)
	w.Str(p.Currency)
	w.Str(p.ReturnURL)
	w.Str(p.CustomerEmail)
	w.Str(p.CustomerName)
	w.Str(p.Metadata)
	w.Str(p.Token)
	w.Str(p.Status)
	w.Str(p.FailureReason)
	w.Int(p.Attempts)
	w.Str(p.LastDecline)
	w.Int(p.AmountRefunded)
	w.Str(p.CardBrand)
	w.Str(p.CardLast4)
	w.Int(p.CreatedMs)
	w.Int(p.ExpiresMs)
	w.Int(p.CompletedMs)
	w.Int(p.FailedMs)
}

func readPayment(r *engine.Reader, p *Payment) {
	if !r.Array(paymentFields) {
		return
	}
	p.Owner, p.ID, p.Amount, p.Currency, p.ReturnURL = readOwner(r), r.Str(), r.Int(), r.Str(), r.Str()
	p.CustomerEmail, p.CustomerName, p.Metadata, p.Token = r.Str(), r.Str(), r.LongStr(MaxMetadataBytes), r.Str()
	p.Status, p.FailureReason, p.Attempts, p.LastDecline, p.AmountRefunded = r.Str(), r.Str(), r.Int(), r.Str(), r.Int()
	p.CardBrand, p.CardLast4 = r.Str(), r.Str()
	p.CreatedMs, p.ExpiresMs, p.CompletedMs, p.FailedMs = r.Int(), r.Int(), r.Int(), r.Int()
}
