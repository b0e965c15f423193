package paypay

import (
	"fmt"
	"slices"

	"ledgerd/engine"
)

// checker holds PayPay.cards' invariants, recomputed from events alone:
// codes are issued once, to a known partner; every attempt's outcome was
// true of the code at that time; a code is redeemed at most once; the
// audit counter and each partner's newest audit record match.
type checker struct {
	v         engine.Violations
	scratch   bool
	cards     map[string]*mcard
	redeemOK  map[string]int // code -> successful redeem attempts seen
	attempts  uint64         // State.Attempt
	attemptAt map[string]uint64
	partners  map[string]bool
}

type mcard struct {
	partner    string
	expiresMs  int64
	revoked    bool
	redeemedMs int64
	redemption string
}

func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "paypay", New: newChecker})
}

func newChecker(v engine.Violations, st *engine.State, scratch bool) engine.Checker {
	m := &checker{v: v, scratch: scratch, cards: map[string]*mcard{}, redeemOK: map[string]int{},
		attempts: Of(st).Attempt, attemptAt: map[string]uint64{}, partners: map[string]bool{}}
	for code, c := range Cards(st) {
		m.cards[code] = &mcard{partner: c.Partner, expiresMs: c.ExpiresMs, revoked: c.RevokedMs != 0,
			redeemedMs: c.RedeemedMs, redemption: c.RedemptionID}
	}
	for id := range st.Partners {
		m.partners[id] = true
	}
	for p, l := range Attempts(st) {
		if items := l.Items(); len(items) > 0 {
			m.attemptAt[p] = items[len(items)-1].Seq
		}
	}
	return m
}

func (m *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *engine.PartnerCreated:
		m.partners[e.Partner] = true
	case *CodesIssued:
		if !m.partners[e.Partner] {
			m.v.Violate("code", "%s: codes issued to unknown partner %q", at, e.Partner)
		}
		for _, c := range e.Codes {
			if m.cards[c] != nil {
				m.v.Violate("code", "%s: code %q issued twice", at, c)
				continue
			}
			m.cards[c] = &mcard{partner: e.Partner, expiresMs: e.ExpiresMs}
		}
	case *CodeRevoked:
		c := m.cards[e.Code]
		switch {
		case c == nil || c.partner != e.Partner:
			m.v.Violate("code", "%s: revoke of code %q, which partner %q does not have", at, e.Code, e.Partner)
		case c.redeemedMs != 0:
			m.v.Violate("code", "%s: revoke of code %q, which was redeemed", at, e.Code)
		case c.revoked:
			m.v.Violate("code", "%s: code %q revoked twice", at, e.Code)
		default:
			c.revoked = true
		}
	case *CodeAttempt:
		m.attempt(at, e)
	}
}

func (m *checker) attempt(at string, ev *CodeAttempt) {
	m.attempts++
	m.attemptAt[ev.Partner] = m.attempts
	c := m.cards[ev.Code]
	if c != nil && c.partner != ev.Partner {
		c = nil // another partner's code is not found
	}
	bad := func(why string) {
		m.v.Violate("code", "%s: %s attempt on code %q by %q with outcome %d: %s", at, actionName(ev.Action), ev.Code, ev.Partner, ev.Outcome, why)
	}
	switch {
	case ev.Outcome == ResultNotFound:
		if c != nil {
			bad("the code exists")
		}
	case c == nil:
		bad("no such code for this partner")
	case ev.Outcome == ResultRevoked:
		if !c.revoked {
			bad("the code is not revoked")
		}
	case ev.Outcome == ResultAlreadyRedeemed:
		if c.revoked || c.redeemedMs == 0 || ev.RedeemedMs != c.redeemedMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, event says %d", c.revoked, c.redeemedMs, ev.RedeemedMs))
		}
	case ev.Outcome == ResultExpired:
		if c.revoked || c.redeemedMs != 0 || ev.TimeMs < c.expiresMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, expires at %d, attempt at %d", c.revoked, c.redeemedMs, c.expiresMs, ev.TimeMs))
		}
	case ev.Outcome == engine.CodeOK:
		if c.revoked || c.redeemedMs != 0 || ev.TimeMs >= c.expiresMs {
			bad(fmt.Sprintf("code revoked %v, redeemed at %d, expires at %d, attempt at %d", c.revoked, c.redeemedMs, c.expiresMs, ev.TimeMs))
		}
		if ev.Action == ActionRedeem {
			m.redeemOK[ev.Code]++
			if m.redeemOK[ev.Code] > 1 {
				bad("the code was redeemed before (redeemed twice)")
			}
			c.redeemedMs, c.redemption = ev.TimeMs, ev.RedemptionID
		}
	default:
		bad("unknown outcome")
	}
}

func actionName(a Action) string {
	switch a {
	case ActionValidate:
		return "validate"
	case ActionRedeem:
		return "redeem"
	}
	return fmt.Sprintf("action%d", a)
}

// Finish compares codes and audit counters with the rebuilt state.
func (m *checker) Finish(s *engine.State) {
	if len(Cards(s)) != len(m.cards) {
		m.v.Violate("code", "%d codes, the events issue %d", len(Cards(s)), len(m.cards))
	}
	codes := make([]string, 0, len(m.cards))
	for c := range m.cards {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	for _, code := range codes {
		want, got := m.cards[code], Cards(s)[code]
		if got == nil {
			m.v.Violate("code", "code %q: issued, but missing from the state", code)
			continue
		}
		if got.Partner != want.partner || (got.RevokedMs != 0) != want.revoked || got.RedeemedMs != want.redeemedMs ||
			got.RedemptionID != want.redemption {
			m.v.Violate("code", "code %q: state partner %q revoked %v redeemed %d (%q); the events give partner %q revoked %v redeemed %d (%q)",
				code, got.Partner, got.RevokedMs != 0, got.RedeemedMs, got.RedemptionID, want.partner, want.revoked, want.redeemedMs, want.redemption)
		}
		if got.RedeemedMs != 0 && m.scratch && m.redeemOK[code] != 1 {
			m.v.Violate("code", "code %q is redeemed with %d successful redeem attempts in the log (want 1)", code, m.redeemOK[code])
		}
	}
	for code := range Cards(s) {
		if m.cards[code] == nil {
			m.v.Violate("code", "code %q: in the state, never issued", code)
		}
	}
	if Of(s).Attempt != m.attempts {
		m.v.Violate("attempt", "attempt counter %d, but the events give %d", Of(s).Attempt, m.attempts)
	}
	for p, l := range Attempts(s) {
		items := l.Items()
		if len(items) > 0 && items[len(items)-1].Seq != m.attemptAt[p] {
			m.v.Violate("attempt", "partner %q: newest attempt has sequence %d, the events give %d", p, items[len(items)-1].Seq, m.attemptAt[p])
		}
	}
}
