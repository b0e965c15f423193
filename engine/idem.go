package engine

import (
	"fmt"
	"slices"
	"time"
)

// Retention is a class of idempotency records that expire together, oldest
// first in log order. Each class has its own expiry event type.
type Retention uint8

const (
	RetainReferences Retention = 1 // partner references (PayShards deduct, refund, credit): 7 days by default
	RetainKeys       Retention = 2 // Idempotency-Keys of request/response APIs: 24 hours by default
	retentionClasses           = 3
)

type scopeSpec struct {
	name      string
	retention Retention
}

var scopes [256]*scopeSpec

// RegisterScope claims an idempotency scope number for a module (wire
// format: never renumber) and puts its records in a retention class.
func RegisterScope(s Scope, name string, r Retention) {
	if s == 0 || scopes[s] != nil || r == 0 || r >= retentionClasses {
		panic(fmt.Sprintf("engine: scope %d (%s) registered twice, zero, or with retention %d", s, name, r))
	}
	scopes[s] = &scopeSpec{name: name, retention: r}
}

// ScopeKnown reports whether s is registered in this binary.
func ScopeKnown(s Scope) bool { return scopes[s] != nil }

// ScopeName is s's registered name.
func ScopeName(s Scope) string {
	if sp := scopes[s]; sp != nil {
		return sp.name
	}
	return fmt.Sprintf("scope(%d)", s)
}

// RetentionOf is the retention class of scope s.
func RetentionOf(s Scope) Retention {
	sp := scopes[s]
	if sp == nil {
		panic(fmt.Sprintf("engine: unknown idempotency scope %d", s))
	}
	return sp.retention
}

// ReferencesExpired forgets the records of the references class made
// before CutoffMs.
type ReferencesExpired struct {
	Stamp
	CutoffMs int64
}

// KeysExpired forgets the records of the Idempotency-Key class made
// before CutoffMs.
type KeysExpired struct {
	Stamp
	CutoffMs int64
}

func (*ReferencesExpired) EventType() EventType { return EvIdemExpired }
func (*KeysExpired) EventType() EventType       { return EvKeysExpired }

func validCutoff(cutoffMs int64) error {
	if cutoffMs < 0 {
		return fmt.Errorf("cutoff %d", cutoffMs)
	}
	return nil
}

func init() {
	Register(EventDef[*ReferencesExpired]{Type: EvIdemExpired, Name: "idem.references_expired", Fields: 1,
		Encode:   func(w *Writer, ev *ReferencesExpired) { w.Int(ev.CutoffMs) },
		Decode:   func(r *Reader, t int64) *ReferencesExpired { return &ReferencesExpired{Stamp{t}, r.Int()} },
		Validate: func(ev *ReferencesExpired) error { return validCutoff(ev.CutoffMs) },
		Apply: func(s *State, ev *ReferencesExpired) {
			s.Expired = s.expire(&s.orders[RetainReferences], ev.CutoffMs, s.Expired[:0])
			s.shrinkIdem()
		},
	})
	Register(EventDef[*KeysExpired]{Type: EvKeysExpired, Name: "idem.keys_expired", Fields: 1,
		Encode:   func(w *Writer, ev *KeysExpired) { w.Int(ev.CutoffMs) },
		Decode:   func(r *Reader, t int64) *KeysExpired { return &KeysExpired{Stamp{t}, r.Int()} },
		Validate: func(ev *KeysExpired) error { return validCutoff(ev.CutoffMs) },
		Apply: func(s *State, ev *KeysExpired) {
			s.Expired = s.expire(&s.orders[RetainKeys], ev.CutoffMs, s.Expired[:0])
			s.shrinkIdem()
		},
	})
}

// expiryOf is the retention class and cutoff of an expiry event.
func expiryOf(ev Event) (int, int64, bool) {
	switch e := ev.(type) {
	case *ReferencesExpired:
		return int(RetainReferences), e.CutoffMs, true
	case *KeysExpired:
		return int(RetainKeys), e.CutoffMs, true
	}
	return 0, 0, false
}

// IsExpiry reports whether ev forgets idempotency records.
func IsExpiry(ev Event) bool {
	t := ev.EventType()
	return t == EvIdemExpired || t == EvKeysExpired
}

// ExpiryDef is a kind of record that the committer forgets periodically:
// every tick it logs Event(now, now - retention).
type ExpiryDef struct {
	Name    string        // "references", "keys", "attempts": the key of its retention setting
	Default time.Duration // retention when none is configured
	Event   func(timeMs, cutoffMs int64) Event
}

var expiries []ExpiryDef

// RegisterExpiry adds a periodic expiry (modules call it from init).
func RegisterExpiry(d ExpiryDef) { expiries = append(expiries, d) }

// Expiries lists the registered periodic expiries in registration order.
func Expiries() []ExpiryDef { return slices.Clone(expiries) }

func init() {
	RegisterExpiry(ExpiryDef{Name: "references", Default: 7 * 24 * time.Hour,
		Event: func(t, c int64) Event { return &ReferencesExpired{Stamp{t}, c} }})
	RegisterExpiry(ExpiryDef{Name: "keys", Default: 24 * time.Hour,
		Event: func(t, c int64) Event { return &KeysExpired{Stamp{t}, c} }})
}
