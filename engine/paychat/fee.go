package paychat

// mulBps is floor(x * bps / 10,000) without overflow for x up to 2^62 and
// bps up to 10,000.
func mulBps(x, bps int64) int64 {
	return x/BasisPoints*bps + x%BasisPoints*bps/BasisPoints
}

// Discount is the discount (basis points) total holdings earn: the best
// tier whose MinHoldings they reach, 0 when none.
func (s *FeeSchedule) Discount(holdings int64) int64 {
	var d int64
	for _, t := range s.Tiers {
		if holdings >= t.MinHoldings && t.DiscountBps > d {
			d = t.DiscountBps
		}
	}
	return d
}

// Fee is rule's fee on amount for a partner with total holdings, after
// the discount: (Fixed + amount × Bps / 10,000) less discount, each
// product rounded down. Integer arithmetic only.
func (s *FeeSchedule) Fee(rule FeeRule, amount, holdings int64) int64 {
	base := rule.Fixed + mulBps(amount, rule.Bps)
	return base - mulBps(base, s.Discount(holdings))
}

// WithdrawalFee is the fee of a withdrawal of amount.
func (s *FeeSchedule) WithdrawalFee(amount, holdings int64) int64 {
	return s.Fee(s.Withdrawal, amount, holdings)
}

// PaymentFee is the fee taken from a completed payment of amount: at most
// the amount itself.
func (s *FeeSchedule) PaymentFee(amount, holdings int64) int64 {
	return min(s.Fee(s.Payment, amount, holdings), amount)
}

// Zero reports whether the schedule charges nothing.
func (s *FeeSchedule) Zero() bool {
	return s.Withdrawal == (FeeRule{}) && s.Payment == (FeeRule{})
}
