package payshards

import (
	"fmt"
	"slices"

	"ledgerd/engine"
)

// checker holds PayShards' invariants, recomputed from events alone:
// every wallet's balance is its credits − deducts + refunds, never
// negative; a partner refunds at most what it deducted; every refusal was
// true of the state the log gives.
type checker struct {
	v       engine.Violations
	scratch bool

	base       map[string]int64            // balance at the start (from the snapshot)
	balance    map[string]int64            // user -> balance; present iff the wallet exists
	credited   map[string]int64            // user -> sum of credits since the start
	deducted   map[string]int64            // user -> sum of deducts
	refunded   map[string]int64            // user -> sum of refunds
	refundable map[string]map[string]int64 // user -> partner -> deducted - refunded
	partnerNet map[string]int64            // partner -> deducted - refunded, all users
}

func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "payshards", New: newChecker})
}

func newChecker(v engine.Violations, st *engine.State, scratch bool) engine.Checker {
	m := &checker{v: v, scratch: scratch,
		base: map[string]int64{}, balance: map[string]int64{}, credited: map[string]int64{},
		deducted: map[string]int64{}, refunded: map[string]int64{}, refundable: map[string]map[string]int64{},
		partnerNet: map[string]int64{},
	}
	for u, w := range Wallets(st) {
		m.base[u], m.balance[u] = w.Balance, w.Balance
		for _, r := range w.Refundable {
			m.refundableOf(u)[r.Partner] += r.Amount
			m.partnerNet[r.Partner] += r.Amount
		}
	}
	return m
}

func (m *checker) refundableOf(user string) map[string]int64 {
	r := m.refundable[user]
	if r == nil {
		r = map[string]int64{}
		m.refundable[user] = r
	}
	return r
}

func (m *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *Credited:
		bal := m.balance[e.User] + e.Amount
		m.claim(at, "credit", "", e.User, e.Reference, e.Amount, e.BalanceAfter, bal)
		m.balance[e.User] = bal
		m.credited[e.User] += e.Amount
	case *Deducted:
		m.deduct(at, e)
	case *Refunded:
		m.refund(at, e)
	case *DeductRejected:
		m.rejected(at, "deduct", e.User, e.Partner, e.Reference, e.Amount, e.Balance, e.Code, CodeInsufficient)
	case *RefundRejected:
		m.rejected(at, "refund", e.User, e.Partner, e.Reference, e.Amount, e.Refundable, e.Code, CodeRefundExceeds)
	}
}

func (m *checker) claim(at, what, partner, user, reference string, amount, got, want int64) {
	if got != want {
		m.v.Violate("balance", "%s: %s of %d by partner %q for user %q (reference %q) records balance %d, the log gives %d",
			at, what, amount, partner, user, reference, got, want)
	}
}

func (m *checker) deduct(at string, e *Deducted) {
	bal, ok := m.balance[e.User]
	if !ok {
		m.v.Violate("balance", "%s: deduct from user %q, who has no wallet", at, e.User)
	}
	bal -= e.Amount
	if bal < 0 {
		m.v.Violate("balance", "%s: deduct of %d (reference %q) takes user %q to %d", at, e.Amount, e.Reference, e.User, bal)
	}
	m.claim(at, "deduct", e.Partner, e.User, e.Reference, e.Amount, e.BalanceAfter, bal)
	m.balance[e.User] = bal
	m.deducted[e.User] += e.Amount
	m.refundableOf(e.User)[e.Partner] += e.Amount
	m.partnerNet[e.Partner] += e.Amount
}

func (m *checker) refund(at string, e *Refunded) {
	bal, ok := m.balance[e.User]
	if !ok {
		m.v.Violate("balance", "%s: refund to user %q, who has no wallet", at, e.User)
	}
	r := m.refundableOf(e.User)
	if r[e.Partner] < e.Amount {
		m.v.Violate("refundable", "%s: partner %q refunds %d to user %q (reference %q) but deducted only %d net",
			at, e.Partner, e.Amount, e.User, e.Reference, r[e.Partner])
	}
	r[e.Partner] -= e.Amount
	m.partnerNet[e.Partner] -= e.Amount
	bal += e.Amount
	m.claim(at, "refund", e.Partner, e.User, e.Reference, e.Amount, e.BalanceAfter, bal)
	m.balance[e.User] = bal
	m.refunded[e.User] += e.Amount
}

// rejected checks that a refusal was true of the state the log gives: a
// retry of its reference will be told the same forever. shown is the
// number the refusal recorded (the balance, or what was refundable).
func (m *checker) rejected(at, what, user, partner, reference string, amount, shown int64, code, limitCode engine.Code) {
	bal, exists := m.balance[user]
	switch {
	case code == CodeUnknownUser:
		if exists {
			m.v.Violate("balance", "%s: %s (reference %q) refused as unknown user, but user %q has a wallet", at, what, reference, user)
		}
	case !exists:
		m.v.Violate("balance", "%s: %s (reference %q) refused with code %d for user %q, who has no wallet", at, what, reference, code, user)
	case code == limitCode && limitCode == CodeInsufficient:
		if shown != bal || bal >= amount {
			m.v.Violate("balance", "%s: deduct of %d (reference %q) refused as insufficient with balance %d; the log gives %d",
				at, amount, reference, shown, bal)
		}
	case code == limitCode && limitCode == CodeRefundExceeds:
		r := m.refundable[user][partner]
		if shown != r || (r >= amount && bal <= MaxBalance-amount) {
			m.v.Violate("refundable", "%s: refund of %d (reference %q) refused with refundable %d; the log gives %d",
				at, amount, reference, shown, r)
		}
	default:
		m.v.Violate("state", "%s: %s rejected with code %d", at, what, code)
	}
}

func (m *checker) baseText(u string) string {
	if m.scratch {
		return ""
	}
	return fmt.Sprintf("%d at the snapshot + ", m.base[u])
}

// Finish compares wallets (credits − deducts + refunds = balance, per
// user) and what each partner may still refund.
func (m *checker) Finish(s *engine.State) {
	for _, u := range sortedKeys(m.balance) {
		want := m.base[u] + m.credited[u] - m.deducted[u] + m.refunded[u]
		if want != m.balance[u] {
			m.v.Violate("balance", "user %q: model inconsistent (%d + %d - %d + %d != %d)", u, m.base[u], m.credited[u], m.deducted[u], m.refunded[u], m.balance[u])
		}
		w := Wallets(s)[u]
		switch {
		case w == nil:
			m.v.Violate("balance", "user %q: the events give a wallet of %d, the state has none", u, want)
		case w.Balance != want:
			m.v.Violate("balance", "user %q: balance %d, but %s%d credited - %d deducted + %d refunded = %d",
				u, w.Balance, m.baseText(u), m.credited[u], m.deducted[u], m.refunded[u], want)
		}
		if want < 0 {
			m.v.Violate("balance", "user %q: the events give a negative balance %d", u, want)
		}
		if w != nil {
			m.finishRefundable(u, w)
		}
	}
	for _, u := range sortedKeys(Wallets(s)) {
		if _, ok := m.balance[u]; !ok {
			m.v.Violate("balance", "user %q: the state has a wallet of %d that no event created", u, Wallets(s)[u].Balance)
		}
	}
	statePartner := map[string]int64{}
	for _, w := range Wallets(s) {
		for _, r := range w.Refundable {
			statePartner[r.Partner] += r.Amount
		}
	}
	for _, p := range sortedKeys(m.partnerNet) {
		if statePartner[p] != m.partnerNet[p] {
			m.v.Violate("refundable", "partner %q: refundable %d over all users, but deducted - refunded = %d", p, statePartner[p], m.partnerNet[p])
		}
	}
}

func (m *checker) finishRefundable(u string, w *Wallet) {
	for p, amt := range m.refundable[u] {
		if amt < 0 {
			m.v.Violate("refundable", "user %q partner %q: refunded %d more than deducted", u, p, -amt)
		}
		if got := w.RefundableFor(p); got != amt {
			m.v.Violate("refundable", "user %q partner %q: refundable %d, but deducted - refunded = %d", u, p, got, amt)
		}
	}
	for _, r := range w.Refundable {
		if _, ok := m.refundable[u][r.Partner]; !ok {
			m.v.Violate("refundable", "user %q partner %q: refundable %d without any deduct", u, r.Partner, r.Amount)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
