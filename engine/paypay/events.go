package paypay

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"ledgerd/engine"
)

// Event types: wire format, never renumber.
const (
	EvCodesIssued     engine.EventType = 12 // a batch of redeem codes
	EvCodeRevoked     engine.EventType = 13 // an operator revoked an unredeemed code
	EvCodeAttempt     engine.EventType = 14 // a validate or redeem call reached a code: audit, and on a successful redeem the redemption
	EvAttemptsExpired engine.EventType = 16 // audit records older than a cutoff are forgotten
)

// Result codes: wire format, never renumber (0 is engine.CodeOK; 1–3 are
// PayShards' numbers, kept apart since both modules once shared one list).
const (
	ResultNotFound        engine.Code = 4 // no such redeem code for this partner
	ResultExpired         engine.Code = 5
	ResultAlreadyRedeemed engine.Code = 6
	ResultRevoked         engine.Code = 7
)

// Action is what a call asked of a code. Wire format.
type Action = uint8

const (
	ActionValidate Action = 1
	ActionRedeem   Action = 2
)

// ScopeRedeemKey is the scope of Idempotency-Keys on /redeem. Wire format.
const ScopeRedeemKey engine.Scope = 4

// MaxCodesIssued is the most codes one CodesIssued may carry.
const MaxCodesIssued = engine.MaxCodesIssued

// CodeEntity is the entity kind of a redeem code's actor.
var CodeEntity = engine.RegisterEntityKind("code/paypay")

// CodesIssued is a batch of new codes of one partner.
type CodesIssued struct {
	engine.Stamp
	Partner   string
	Tier      string
	Label     string
	ExpiresMs int64
	Codes     []string
}

// CodeRevoked records an operator's revocation of an unredeemed code.
type CodeRevoked struct {
	engine.Stamp
	Partner string
	Code    string
}

// CodeAttempt is one validate or redeem call that reached a code: the
// audit record, and for a successful redeem the redemption itself.
type CodeAttempt struct {
	engine.Stamp
	Partner      string
	Code         string
	Action       Action
	Outcome      engine.Code
	RequestID    string
	RedemptionID string // set on a successful redeem
	Key          string // the request's Idempotency-Key ("" = none)
	Tier         string // what the code showed (empty when not found)
	Label        string
	ExpiresMs    int64
	RedeemedMs   int64 // when it was redeemed: now, or earlier for ResultAlreadyRedeemed
}

// AttemptsExpired forgets the audit records made before CutoffMs.
type AttemptsExpired struct {
	engine.Stamp
	CutoffMs int64
}

func (*CodesIssued) EventType() engine.EventType     { return EvCodesIssued }
func (*CodeRevoked) EventType() engine.EventType     { return EvCodeRevoked }
func (*CodeAttempt) EventType() engine.EventType     { return EvCodeAttempt }
func (*AttemptsExpired) EventType() engine.EventType { return EvAttemptsExpired }

// Detail is what a redeem response showed, as its Idempotency-Key record
// keeps it.
func (ev *CodeAttempt) Detail() engine.RedeemDetail {
	return engine.RedeemDetail{RequestID: ev.RequestID, RedemptionID: ev.RedemptionID, Tier: ev.Tier, Label: ev.Label,
		ExpiresMs: ev.ExpiresMs, RedeemedMs: ev.RedeemedMs}
}

func validateAttempt(ev *CodeAttempt) error {
	switch {
	case ev.Partner == "" || ev.Code == "":
		return errors.New("attempt without partner or code")
	case ev.Action != ActionValidate && ev.Action != ActionRedeem:
		return fmt.Errorf("action %d", ev.Action)
	case ev.Outcome != engine.CodeOK && (ev.Outcome < ResultNotFound || ev.Outcome > ResultRevoked):
		return fmt.Errorf("attempt outcome %d", ev.Outcome)
	case ev.Key != "" && ev.Action != ActionRedeem:
		return errors.New("an Idempotency-Key on a validate")
	}
	return nil
}

func mustCard(s *engine.State, partner, code string, ev engine.Event) *Card {
	c := Cards(s)[code]
	if c == nil || c.Partner != partner {
		panic(engine.Invariant("code exists for partner", ev, 0))
	}
	return c
}

func init() {
	engine.RegisterExpiry(engine.ExpiryDef{Name: "attempts", Default: 90 * 24 * time.Hour,
		Event: func(t, c int64) engine.Event { return &AttemptsExpired{engine.Stamp{TimeMs: t}, c} }})
	engine.RegisterScope(ScopeRedeemKey, "paypay.redeem_key", engine.RetainKeys)
	engine.Register(engine.EventDef[*CodesIssued]{Type: EvCodesIssued, Name: "paypay.codes_issued", Fields: 5,
		Encode: func(w *engine.Writer, ev *CodesIssued) {
			w.Str(ev.Partner)
			w.Str(ev.Tier)
			w.Str(ev.Label)
			w.Int(ev.ExpiresMs)
			w.Strs(ev.Codes)
		},
		Decode: func(r *engine.Reader, t int64) *CodesIssued {
			ev := &CodesIssued{Stamp: engine.Stamp{TimeMs: t}, Partner: r.Str(), Tier: r.Str(), Label: r.Str(), ExpiresMs: r.Int()}
			ev.Codes = r.Strs(MaxCodesIssued)
			return ev
		},
		Validate: func(ev *CodesIssued) error {
			if ev.Partner == "" || len(ev.Codes) == 0 || len(ev.Codes) > MaxCodesIssued || slices.Contains(ev.Codes, "") {
				return errors.New("issued codes out of range")
			}
			return nil
		},
		Apply: func(s *engine.State, ev *CodesIssued) {
			cards := Cards(s)
			for _, c := range ev.Codes {
				if _, dup := cards[c]; dup {
					panic(engine.Invariant("code unique", ev, 0))
				}
				cards[c] = &Card{Partner: ev.Partner, Tier: ev.Tier, Label: ev.Label, IssuedMs: ev.TimeMs, ExpiresMs: ev.ExpiresMs}
			}
		},
		// Issuing changes codes no actor owns yet: it holds back every code load.
		Entity: func(*CodesIssued) (engine.Entity, bool) { return engine.Entity{Kind: CodeEntity}, true },
	})
	engine.Register(engine.EventDef[*CodeRevoked]{Type: EvCodeRevoked, Name: "paypay.code_revoked", Fields: 2,
		Encode: func(w *engine.Writer, ev *CodeRevoked) { w.Str(ev.Partner); w.Str(ev.Code) },
		Decode: func(r *engine.Reader, t int64) *CodeRevoked {
			return &CodeRevoked{Stamp: engine.Stamp{TimeMs: t}, Partner: r.Str(), Code: r.Str()}
		},
		Validate: func(ev *CodeRevoked) error {
			if ev.Partner == "" || ev.Code == "" {
				return errors.New("code revocation without partner or code")
			}
			return nil
		},
		Apply:  func(s *engine.State, ev *CodeRevoked) { ApplyCard(mustCard(s, ev.Partner, ev.Code, ev), ev) },
		Entity: func(ev *CodeRevoked) (engine.Entity, bool) { return engine.Entity{Kind: CodeEntity, ID: ev.Code}, true },
	})
	engine.Register(engine.EventDef[*CodeAttempt]{Type: EvCodeAttempt, Name: "paypay.code_attempt", Fields: 11,
		Encode: func(w *engine.Writer, ev *CodeAttempt) {
			w.Str(ev.Partner)
			w.Str(ev.Code)
			w.Int(int64(ev.Action))
			w.Int(int64(ev.Outcome))
			w.Str(ev.RequestID)
			w.Str(ev.RedemptionID)
			w.Str(ev.Key)
			w.Str(ev.Tier)
			w.Str(ev.Label)
			w.Int(ev.ExpiresMs)
			w.Int(ev.RedeemedMs)
		},
		Decode: func(r *engine.Reader, t int64) *CodeAttempt {
			ev := &CodeAttempt{Stamp: engine.Stamp{TimeMs: t}, Partner: r.Str(), Code: r.Str()}
			ev.Action, ev.Outcome = Action(r.Small(255)), engine.Code(r.Small(255))
			ev.RequestID, ev.RedemptionID, ev.Key = r.Str(), r.Str(), r.Str()
			ev.Tier, ev.Label = r.Str(), r.Str()
			ev.ExpiresMs, ev.RedeemedMs = r.Int(), r.Int()
			return ev
		},
		Validate: validateAttempt,
		Apply: func(s *engine.State, ev *CodeAttempt) {
			if ev.Outcome != ResultNotFound {
				ApplyCard(mustCard(s, ev.Partner, ev.Code, ev), ev)
			}
			Of(s).AddAttempt(ev.Partner, Attempt{TimeMs: ev.TimeMs, Card: ev.Code, Action: ev.Action, Outcome: ev.Outcome, RequestID: ev.RequestID})
		},
		Entity: func(ev *CodeAttempt) (engine.Entity, bool) { return engine.Entity{Kind: CodeEntity, ID: ev.Code}, true },
		Idem: func(ev *CodeAttempt) (engine.IdemKey, engine.IdemRecord, bool) {
			if ev.Key == "" {
				return engine.IdemKey{}, engine.IdemRecord{}, false
			}
			d := ev.Detail()
			return engine.IdemKey{Partner: ev.Partner, Scope: ScopeRedeemKey, Reference: ev.Key},
				engine.IdemRecord{Fingerprint: ev.Code, Code: ev.Outcome, TimeMs: ev.TimeMs, Detail: &d}, true
		},
	})
	engine.Register(engine.EventDef[*AttemptsExpired]{Type: EvAttemptsExpired, Name: "paypay.attempts_expired", Fields: 1,
		Encode: func(w *engine.Writer, ev *AttemptsExpired) { w.Int(ev.CutoffMs) },
		Decode: func(r *engine.Reader, t int64) *AttemptsExpired {
			return &AttemptsExpired{Stamp: engine.Stamp{TimeMs: t}, CutoffMs: r.Int()}
		},
		Validate: func(ev *AttemptsExpired) error {
			if ev.CutoffMs < 0 {
				return fmt.Errorf("cutoff %d", ev.CutoffMs)
			}
			return nil
		},
		Apply: func(s *engine.State, ev *AttemptsExpired) { Of(s).ExpireAttempts(ev.CutoffMs) },
	})
}
