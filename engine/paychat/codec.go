package paychat

import (
	"ledgerd/engine"
)

// Wire layouts of the objects inside events and the snapshot section
// (msgpack, wire format: never reorder; a new layout is a new event type
// or section version). Each is one array:
//
//	partner    [id, telegram_id, name, plan, memo, secret_hash (bin), secret_rotation, webhook_url, createdMs]
//	payment    [id, link_id, partner, amount, description, metadata (bin), status, payer, paidMs, fee, createdMs, expiresMs]
//	withdrawal [id, partner, user, amount, fee, memo, createdMs]
//	deposit    [tx_hash, memo, amount, partner, user, status, createdMs, assignedMs]
//	rule       [fixed, bps]
//	schedule   [withdrawal rule, payment rule, [[min_holdings, discount_bps]...]]
//	notice     [id, type, body (bin)]                 all empty: none
//	answer     [key, fingerprint, status, response (bin)]

func writePartner(w *engine.Writer, p *Partner) {
	w.Len(9)
	w.Str(p.ID)
	w.Str(p.TelegramID)
	w.Str(p.Name)
	w.Str(p.Plan)
	w.Str(p.Memo)
	w.Bin(p.SecretHash)
	w.Int(p.SecretRotation)
	w.Str(p.WebhookURL)
	w.Int(p.CreatedMs)
}

func readPartner(r *engine.Reader, p *Partner) {
	if !r.Array(9) {
		return
	}
	p.ID, p.TelegramID, p.Name, p.Plan, p.Memo = r.Str(), r.Str(), r.Str(), r.Str(), r.Str()
	p.SecretHash, p.SecretRotation, p.WebhookURL, p.CreatedMs = r.Bin(64), r.Int(), r.Str(), r.Int()
}

func writePayment(w *engine.Writer, p *Payment) {
	w.Len(12)
	w.Str(p.ID)
	w.Str(p.LinkID)
	w.Str(p.Partner)
	w.Int(p.Amount)
	w.Str(p.Description)
	w.Bin(p.Metadata)
	w.Str(p.Status)
	w.Str(p.Payer)
	w.Int(p.PaidMs)
	w.Int(p.Fee)
	w.Int(p.CreatedMs)
	w.Int(p.ExpiresMs)
}

func readPayment(r *engine.Reader, p *Payment) {
	if !r.Array(12) {
		return
	}
	p.ID, p.LinkID, p.Partner, p.Amount, p.Description = r.Str(), r.Str(), r.Str(), r.Int(), r.Str()
	p.Metadata, p.Status, p.Payer, p.PaidMs = r.Bin(MaxMetadata), r.Str(), r.Str(), r.Int()
	p.Fee, p.CreatedMs, p.ExpiresMs = r.Int(), r.Int(), r.Int()
}

func writeWithdrawal(w *engine.Writer, d *Withdrawal) {
	w.Len(7)
	w.Str(d.ID)
	w.Str(d.Partner)
	w.Str(d.User)
	w.Int(d.Amount)
	w.Int(d.Fee)
	w.Str(d.Memo)
	w.Int(d.CreatedMs)
}

func readWithdrawal(r *engine.Reader, d *Withdrawal) {
	if !r.Array(7) {
		return
	}
	d.ID, d.Partner, d.User, d.Amount, d.Fee, d.Memo, d.CreatedMs = r.Str(), r.Str(), r.Str(), r.Int(), r.Int(), r.Str(), r.Int()
}

func writeDeposit(w *engine.Writer, d *Deposit) {
	w.Len(8)
	w.Str(d.TxHash)
	w.Str(d.Memo)
	w.Int(d.Amount)
	w.Str(d.Partner)
	w.Str(d.User)
	w.Str(d.Status)
	w.Int(d.CreatedMs)
	w.Int(d.AssignedMs)
}

func readDeposit(r *engine.Reader, d *Deposit) {
	if !r.Array(8) {
		return
	}
	d.TxHash, d.Memo, d.Amount, d.Partner, d.User = r.Str(), r.Str(), r.Int(), r.Str(), r.Str()
	d.Status, d.CreatedMs, d.AssignedMs = r.Str(), r.Int(), r.Int()
}

func writeRule(w *engine.Writer, f FeeRule) {
	w.Len(2)
	w.Int(f.Fixed)
	w.Int(f.Bps)
}

func readRule(r *engine.Reader) FeeRule {
	if !r.Array(2) {
		return FeeRule{}
	}
	return FeeRule{Fixed: r.Int(), Bps: r.Int()}
}

func writeSchedule(w *engine.Writer, s *FeeSchedule) {
	w.Len(3)
	writeRule(w, s.Withdrawal)
	writeRule(w, s.Payment)
	w.Len(len(s.Tiers))
	for _, t := range s.Tiers {
		w.Len(2)
		w.Int(t.MinHoldings)
		w.Int(t.DiscountBps)
	}
}

func readSchedule(r *engine.Reader) FeeSchedule {
	var s FeeSchedule
	if !r.Array(3) {
		return s
	}
	s.Withdrawal, s.Payment = readRule(r), readRule(r)
	n := r.Count(-1, 3)
	if r.Err() != nil || n == 0 {
		return s
	}
	if n > MaxFeeTiers {
		r.Fail(fieldErr("fee tiers", n))
		return s
	}
	s.Tiers = make([]FeeTier, n)
	for i := range s.Tiers {
		if !r.Array(2) {
			return s
		}
		s.Tiers[i] = FeeTier{MinHoldings: r.Int(), DiscountBps: r.Int()}
	}
	return s
}
