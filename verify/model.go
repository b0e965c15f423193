package verify

import (
	"fmt"
	"maps"
	"slices"

	"ledgerd/engine"
)

// model recomputes, from the event stream alone, what the ledger must
// hold: balances, what each partner may refund, idempotency records, codes
// and the attempt counter. It shares no code with engine.Apply (only the
// engine's types and RecordOf/KeyOf, which define a record), so a bug in
// Apply or a crafted event shows up as a disagreement.
type model struct {
	rep     *Report
	scratch bool // started from an empty ledger (not from a snapshot)

	base       map[string]int64            // balance at the start (from the snapshot)
	balance    map[string]int64            // user -> balance; present iff the wallet exists
	credited   map[string]int64            // user -> sum of credits since the start
	deducted   map[string]int64            // user -> sum of deducts
	refunded   map[string]int64            // user -> sum of refunds
	refundable map[string]map[string]int64 // user -> partner -> deducted - refunded
	partnerNet map[string]int64            // partner -> deducted - refunded, all users

	idem     map[engine.IdemKey]engine.IdemRecord
	refOrder []engine.IdemKey // deduct, refund, credit references in log order
	keyOrder []engine.IdemKey // Idempotency-Keys in log order

	cards     map[string]*mcard
	redeemOK  map[string]int // code -> successful redeem attempts seen
	attempts  uint64         // State.Attempt
	partners  map[string]bool
	attemptAt map[string]uint64 // partner -> last attempt seq seen
}

type mcard struct {
	partner    string
	expiresMs  int64
	revoked    bool
	redeemedMs int64
	redemption string
}

// newModel starts from st: an empty state, or a decoded snapshot whose
// content is taken as given.
func newModel(rep *Report, st *engine.State, scratch bool) *model {
	m := &model{rep: rep, scratch: scratch,
		base: map[string]int64{}, balance: map[string]int64{}, credited: map[string]int64{},
		deducted: map[string]int64{}, refunded: map[string]int64{}, refundable: map[string]map[string]int64{},
		partnerNet: map[string]int64{}, idem: maps.Clone(st.Idem), cards: map[string]*mcard{},
		redeemOK: map[string]int{}, attempts: st.Attempt, partners: map[string]bool{}, attemptAt: map[string]uint64{},
	}
	if m.idem == nil {
		m.idem = map[engine.IdemKey]engine.IdemRecord{}
	}
	for u, w := range st.Wallets {
		m.base[u], m.balance[u] = w.Balance, w.Balance
		for _, r := range w.Refundable {
			m.refundableOf(u)[r.Partner] += r.Amount
			m.partnerNet[r.Partner] += r.Amount
		}
	}
	for _, k := range st.IdemKeys() {
		if k.Op == engine.OpRedeemKey {
			m.keyOrder = append(m.keyOrder, k)
		} else {
			m.refOrder = append(m.refOrder, k)
		}
	}
	for code, c := range st.Cards {
		m.cards[code] = &mcard{partner: c.Partner, expiresMs: c.ExpiresMs, revoked: c.RevokedMs != 0,
			redeemedMs: c.RedeemedMs, redemption: c.RedemptionID}
	}
	for id := range st.Partners {
		m.partners[id] = true
	}
	for p, l := range st.Attempts {
		if items := l.Items(); len(items) > 0 {
			m.attemptAt[p] = items[len(items)-1].Seq
		}
	}
	return m
}

func (m *model) refundableOf(user string) map[string]int64 {
	r := m.refundable[user]
	if r == nil {
		r = map[string]int64{}
		m.refundable[user] = r
	}
	return r
}

func (m *model) applyBatch(index uint64, batch []engine.Event) {
	for i := range batch {
		m.apply(fmt.Sprintf("WAL index %d event %d", index, i), &batch[i])
	}
}

func (m *model) apply(at string, ev *engine.Event) {
	switch ev.Type {
	case engine.EvPartnerCreated:
		if m.partners[ev.Partner] {
			m.rep.violate("state", "%s: partner %q created twice", at, ev.Partner)
		}
		m.partners[ev.Partner] = true
	case engine.EvPartnerStatus, engine.EvKeyAdded, engine.EvKeyRevoked, engine.EvPartnerRateLimit:
		if !m.partners[ev.Partner] {
			m.rep.violate("state", "%s: %s for unknown partner %q", at, TypeName(ev.Type), ev.Partner)
		}
	case engine.EvCredited:
		m.credit(at, ev)
	case engine.EvDeducted:
		m.deduct(at, ev)
	case engine.EvRefunded:
		m.refund(at, ev)
	case engine.EvDeductRejected, engine.EvRefundRejected:
		m.rejected(at, ev)
	case engine.EvCodesIssued:
		if !m.partners[ev.Partner] {
			m.rep.violate("code", "%s: codes issued to unknown partner %q", at, ev.Partner)
		}
		for _, c := range ev.Codes {
			if m.cards[c] != nil {
				m.rep.violate("code", "%s: code %q issued twice", at, c)
				continue
			}
			m.cards[c] = &mcard{partner: ev.Partner, expiresMs: ev.ExpiresMs}
		}
	case engine.EvCodeRevoked:
		c := m.cards[ev.Card]
		switch {
		case c == nil || c.partner != ev.Partner:
			m.rep.violate("code", "%s: revoke of code %q, which partner %q does not have", at, ev.Card, ev.Partner)
		case c.redeemedMs != 0:
			m.rep.violate("code", "%s: revoke of code %q, which was redeemed", at, ev.Card)
		case c.revoked:
			m.rep.violate("code", "%s: code %q revoked twice", at, ev.Card)
		default:
			c.revoked = true
		}
	case engine.EvCodeAttempt:
		m.attempt(at, ev)
	case engine.EvIdemExpired:
		m.refOrder = m.expire(m.refOrder, ev.Amount)
	case engine.EvKeysExpired:
		m.keyOrder = m.expire(m.keyOrder, ev.Amount)
	case engine.EvAttemptsExpired:
	default:
		m.rep.violate("state", "%s: unknown event type %d", at, ev.Type)
	}
}

func (m *model) claim(at string, ev *engine.Event, what string, want int64) {
	if ev.Balance != want {
		m.rep.violate("balance", "%s: %s of %d by partner %q for user %q (reference %q) records balance %d, the log gives %d",
			at, what, ev.Amount, ev.Partner, ev.User, ev.Reference, ev.Balance, want)
	}
}

func (m *model) credit(at string, ev *engine.Event) {
	bal := m.balance[ev.User] + ev.Amount
	m.claim(at, ev, "credit", bal)
	m.balance[ev.User] = bal
	m.credited[ev.User] += ev.Amount
	m.record(at, ev)
}

func (m *model) deduct(at string, ev *engine.Event) {
	bal, ok := m.balance[ev.User]
	if !ok {
		m.rep.violate("balance", "%s: deduct from user %q, who has no wallet", at, ev.User)
	}
	bal -= ev.Amount
	if bal < 0 {
		m.rep.violate("balance", "%s: deduct of %d (reference %q) takes user %q to %d", at, ev.Amount, ev.Reference, ev.User, bal)
	}
	m.claim(at, ev, "deduct", bal)
	m.balance[ev.User] = bal
	m.deducted[ev.User] += ev.Amount
	m.refundableOf(ev.User)[ev.Partner] += ev.Amount
	m.partnerNet[ev.Partner] += ev.Amount
	m.record(at, ev)
}

func (m *model) refund(at string, ev *engine.Event) {
	bal, ok := m.balance[ev.User]
	if !ok {
		m.rep.violate("balance", "%s: refund to user %q, who has no wallet", at, ev.User)
	}
	r := m.refundableOf(ev.User)
	if r[ev.Partner] < ev.Amount {
		m.rep.violate("refundable", "%s: partner %q refunds %d to user %q (reference %q) but deducted only %d net",
			at, ev.Partner, ev.Amount, ev.User, ev.Reference, r[ev.Partner])
	}
	r[ev.Partner] -= ev.Amount
	m.partnerNet[ev.Partner] -= ev.Amount
	bal += ev.Amount
	m.claim(at, ev, "refund", bal)
	m.balance[ev.User] = bal
	m.refunded[ev.User] += ev.Amount
	m.record(at, ev)
}

// rejected checks that a refusal was true of the state the log gives: a
// retry of its reference will be told the same forever.
func (m *model) rejected(at string, ev *engine.Event) {
	bal, exists := m.balance[ev.User]
	what := "deduct"
	if ev.Type == engine.EvRefundRejected {
		what = "refund"
	}
	switch {
	case ev.Code == engine.CodeUnknownUser:
		if exists {
			m.rep.violate("balance", "%s: %s (reference %q) refused as unknown user, but user %q has a wallet", at, what, ev.Reference, ev.User)
		}
	case !exists:
		m.rep.violate("balance", "%s: %s (reference %q) refused with code %d for user %q, who has no wallet", at, what, ev.Reference, ev.Code, ev.User)
	case ev.Type == engine.EvDeductRejected && ev.Code == engine.CodeInsufficient:
		if ev.Balance != bal || bal >= ev.Amount {
			m.rep.violate("balance", "%s: deduct of %d (reference %q) refused as insufficient with balance %d; the log gives %d",
				at, ev.Amount, ev.Reference, ev.Balance, bal)
		}
	case ev.Type == engine.EvRefundRejected && ev.Code == engine.CodeRefundExceeds:
		r := m.refundable[ev.User][ev.Partner]
		if ev.Balance != r || (r >= ev.Amount && bal <= engine.MaxBalance-ev.Amount) {
			m.rep.violate("refundable", "%s: refund of %d (reference %q) refused with refundable %d; the log gives %d",
				at, ev.Amount, ev.Reference, ev.Balance, r)
		}
	default:
		m.rep.violate("state", "%s: %s rejected with code %d", at, what, ev.Code)
	}
	m.record(at, ev)
}

func (m *model) attempt(at string, ev *engine.Event) {
	m.attempts++
	m.attemptAt[ev.Partner] = m.attempts
	c := m.cards[ev.Card]
	if c != nil && c.partner != ev.Partner {
		c = nil // another partner's code is not found
	}
	bad := func(why string) {
		m.rep.violate("code", "%s: %s attempt on code %q by %q with outcome %d: %s", at, actionName(ev.Action), ev.Card, ev.Partner, ev.Code, why)
	}
	switch {
	case ev.Code == engine.CodeNotFound:
		if c != nil {
			bad("the code exists")
		}
	case c == nil:
		bad("no such code for this partner")
	case ev.Code == engine.CodeRevoked:
		if !c.revoked {
			bad("the code is not revoked")
		}
	case ev.Code == engine.CodeAlreadyRedeemed:
		if c.revoked || c.redeemedMs == 0 || ev.RedeemedMs != c.redeemedMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, event says %d", c.revoked, c.redeemedMs, ev.RedeemedMs))
		}
	case ev.Code == engine.CodeExpired:
		if c.revoked || c.redeemedMs != 0 || ev.TimeMs < c.expiresMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, expires at %d, attempt at %d", c.revoked, c.redeemedMs, c.expiresMs, ev.TimeMs))
		}
	case ev.Code == engine.CodeOK:
		if c.revoked || c.redeemedMs != 0 || ev.TimeMs >= c.expiresMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, expires at %d, attempt at %d", c.revoked, c.redeemedMs, c.expiresMs, ev.TimeMs))
		}
		if ev.Action == engine.ActionRedeem {
			m.redeemOK[ev.Card]++
			if m.redeemOK[ev.Card] > 1 {
				bad("the code was redeemed before (redeemed twice)")
			}
			c.redeemedMs, c.redemption = ev.TimeMs, ev.RedemptionID
		}
	default:
		bad("unknown outcome")
	}
	if ev.Reference != "" {
		m.record(at, ev)
	}
}

func actionName(a engine.Action) string {
	switch a {
	case engine.ActionValidate:
		return "validate"
	case engine.ActionRedeem:
		return "redeem"
	}
	return fmt.Sprintf("action%d", a)
}

// record is the idempotency record an outcome leaves. A second outcome for
// a key still remembered means a command was applied twice.
func (m *model) record(at string, ev *engine.Event) {
	k := engine.KeyOf(ev)
	if prev, dup := m.idem[k]; dup {
		m.rep.violate("idempotency", "%s: %s (partner %q op %d reference %q) applied again; first outcome %+v",
			at, TypeName(ev.Type), k.Partner, k.Op, k.Reference, prev)
	}
	m.idem[k] = engine.RecordOf(ev)
	if k.Op == engine.OpRedeemKey {
		m.keyOrder = append(m.keyOrder, k)
	} else {
		m.refOrder = append(m.refOrder, k)
	}
}

// expire forgets records older than cutoff from the front of one class, in
// log order, stopping at the first younger one (the engine's documented
// rule, reimplemented).
func (m *model) expire(order []engine.IdemKey, cutoff int64) []engine.IdemKey {
	n := 0
	for n < len(order) {
		r, ok := m.idem[order[n]]
		if ok && r.TimeMs >= cutoff {
			break
		}
		delete(m.idem, order[n])
		n++
	}
	return slices.Clone(order[n:])
}

// finish compares the model with the rebuilt state.
func (m *model) finish(s *engine.State) {
	rep := m.rep
	// Wallets: credits - deducts + refunds = balance, per user.
	users := sortedKeys(m.balance)
	for _, u := range users {
		want := m.base[u] + m.credited[u] - m.deducted[u] + m.refunded[u]
		if want != m.balance[u] {
			rep.violate("balance", "user %q: model inconsistent (%d + %d - %d + %d != %d)", u, m.base[u], m.credited[u], m.deducted[u], m.refunded[u], m.balance[u])
		}
		w := s.Wallets[u]
		switch {
		case w == nil:
			rep.violate("balance", "user %q: the events give a wallet of %d, the state has none", u, want)
		case w.Balance != want:
			rep.violate("balance", "user %q: balance %d, but %s%d credited - %d deducted + %d refunded = %d",
				u, w.Balance, m.baseText(u), m.credited[u], m.deducted[u], m.refunded[u], want)
		}
		if want < 0 {
			rep.violate("balance", "user %q: the events give a negative balance %d", u, want)
		}
		if w == nil {
			continue
		}
		for p, amt := range m.refundable[u] {
			if amt < 0 {
				rep.violate("refundable", "user %q partner %q: refunded %d more than deducted", u, p, -amt)
			}
			if got := w.RefundableFor(p); got != amt {
				rep.violate("refundable", "user %q partner %q: refundable %d, but deducted - refunded = %d", u, p, got, amt)
			}
		}
		for _, r := range w.Refundable {
			if _, ok := m.refundable[u][r.Partner]; !ok {
				rep.violate("refundable", "user %q partner %q: refundable %d without any deduct", u, r.Partner, r.Amount)
			}
		}
	}
	for _, u := range sortedKeys(s.Wallets) {
		if _, ok := m.balance[u]; !ok {
			rep.violate("balance", "user %q: the state has a wallet of %d that no event created", u, s.Wallets[u].Balance)
		}
	}
	// Per partner: what it may still refund, summed over its users.
	statePartner := map[string]int64{}
	for _, w := range s.Wallets {
		for _, r := range w.Refundable {
			statePartner[r.Partner] += r.Amount
		}
	}
	for _, p := range sortedKeys(m.partnerNet) {
		if statePartner[p] != m.partnerNet[p] {
			rep.violate("refundable", "partner %q: refundable %d over all users, but deducted - refunded = %d", p, statePartner[p], m.partnerNet[p])
		}
	}

	m.finishIdem(s)
	m.finishCards(s)
	if s.Attempt != m.attempts {
		rep.violate("attempt", "attempt counter %d, but the events give %d", s.Attempt, m.attempts)
	}
	for p, l := range s.Attempts {
		items := l.Items()
		if len(items) > 0 && items[len(items)-1].Seq != m.attemptAt[p] {
			rep.violate("attempt", "partner %q: newest attempt has sequence %d, the events give %d", p, items[len(items)-1].Seq, m.attemptAt[p])
		}
	}
}

func (m *model) baseText(u string) string {
	if m.scratch {
		return ""
	}
	return fmt.Sprintf("%d at the snapshot + ", m.base[u])
}

func (m *model) finishIdem(s *engine.State) {
	rep := m.rep
	if len(s.Idem) != len(m.idem) {
		rep.violate("idempotency", "%d idempotency records, the events leave %d", len(s.Idem), len(m.idem))
	}
	for k, want := range m.idem {
		got, ok := s.Idem[k]
		switch {
		case !ok:
			rep.violate("idempotency", "partner %q op %d reference %q: no record, the events leave %+v", k.Partner, k.Op, k.Reference, want)
		case !recordsEqual(got, want):
			rep.violate("idempotency", "partner %q op %d reference %q: record %s, its event gives %s", k.Partner, k.Op, k.Reference, recordText(got), recordText(want))
		}
	}
	for k, got := range s.Idem {
		if _, ok := m.idem[k]; !ok {
			rep.violate("idempotency", "partner %q op %d reference %q: record %s has no event (or expired)", k.Partner, k.Op, k.Reference, recordText(got))
		}
	}
	live := append(slices.Clone(m.refOrder), m.keyOrder...)
	live = slices.DeleteFunc(live, func(k engine.IdemKey) bool { _, ok := m.idem[k]; return !ok })
	if got := s.IdemKeys(); !slices.Equal(got, live) {
		rep.violate("idempotency", "the state's expiry order differs from the log order of its records")
	}
}

func recordsEqual(a, b engine.IdemRecord) bool {
	if (a.Detail == nil) != (b.Detail == nil) || (a.Detail != nil && *a.Detail != *b.Detail) {
		return false
	}
	a.Detail, b.Detail = nil, nil
	return a == b
}

func recordText(r engine.IdemRecord) string {
	s := fmt.Sprintf("{user %q amount %d code %d value %d time %d", r.User, r.Amount, r.Code, r.Value, r.TimeMs)
	if d := r.Detail; d != nil {
		s += fmt.Sprintf(" request %q redemption %q redeemed %d", d.RequestID, d.RedemptionID, d.RedeemedMs)
	}
	return s + "}"
}

func (m *model) finishCards(s *engine.State) {
	rep := m.rep
	if len(s.Cards) != len(m.cards) {
		rep.violate("code", "%d codes, the events issue %d", len(s.Cards), len(m.cards))
	}
	for _, code := range sortedKeys(m.cards) {
		want := m.cards[code]
		got := s.Cards[code]
		if got == nil {
			rep.violate("code", "code %q: issued, but missing from the state", code)
			continue
		}
		if got.Partner != want.partner || (got.RevokedMs != 0) != want.revoked || got.RedeemedMs != want.redeemedMs ||
			got.RedemptionID != want.redemption {
			rep.violate("code", "code %q: state partner %q revoked %v redeemed %d (%q); the events give partner %q revoked %v redeemed %d (%q)",
				code, got.Partner, got.RevokedMs != 0, got.RedeemedMs, got.RedemptionID, want.partner, want.revoked, want.redeemedMs, want.redemption)
		}
		if got.RedeemedMs != 0 && m.scratch && m.redeemOK[code] != 1 {
			rep.violate("code", "code %q is redeemed with %d successful redeem attempts in the log (want 1)", code, m.redeemOK[code])
		}
	}
	for code := range s.Cards {
		if m.cards[code] == nil {
			rep.violate("code", "code %q: in the state, never issued", code)
		}
	}
}
