package verify

import (
	"fmt"
	"maps"
	"slices"

	"ledgerd/engine"
	_ "ledgerd/engine/modules" // every module's events and checkers
)

// model recomputes, from the event stream alone, what the ledger must
// hold. It owns the shared parts (partners, idempotency records and their
// expiry order) and runs every module's registered engine.Checker for the
// rest. It shares no code with engine.Apply (only the table's IdemOf, which
// defines a record), so a bug in Apply or a crafted event shows up as a
// disagreement.
type model struct {
	rep      *Report
	idem     map[engine.IdemKey]engine.IdemRecord
	order    map[engine.Retention][]engine.IdemKey // each class's keys in log order
	partners map[string]bool
	modules  []engine.Checker
}

// violations hands the modules' checkers the report.
type violations struct{ rep *Report }

func (v violations) Violate(kind, format string, args ...any) { v.rep.violate(kind, format, args...) }

// newModel starts from st: an empty state, or a decoded snapshot whose
// content is taken as given.
func newModel(rep *Report, st *engine.State, scratch bool) *model {
	m := &model{rep: rep, idem: maps.Collect(st.IdemRecords()), order: map[engine.Retention][]engine.IdemKey{}, partners: map[string]bool{}}
	if m.idem == nil {
		m.idem = map[engine.IdemKey]engine.IdemRecord{}
	}
	for _, k := range st.IdemKeys() {
		c := engine.RetentionOf(k.Scope)
		m.order[c] = append(m.order[c], k)
	}
	for id := range st.Partners {
		m.partners[id] = true
	}
	for _, d := range engine.Checkers() {
		m.modules = append(m.modules, d.New(violations{rep}, st, scratch))
	}
	return m
}

func (m *model) applyBatch(index uint64, batch []engine.Event) {
	for i, ev := range batch {
		m.apply(fmt.Sprintf("WAL index %d event %d", index, i), ev)
	}
}

func (m *model) apply(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *engine.PartnerCreated:
		if m.partners[e.Partner] {
			m.rep.violate("state", "%s: partner %q created twice", at, e.Partner)
		}
		m.partners[e.Partner] = true
	case *engine.PartnerStatusChanged, *engine.KeyAdded, *engine.KeyRevoked, *engine.PartnerRateLimitChanged:
		if p := engine.PartnerOf(ev); !m.partners[p] {
			m.rep.violate("state", "%s: %s for unknown partner %q", at, TypeName(ev.EventType()), p)
		}
	case *engine.ReferencesExpired:
		m.expire(engine.RetainReferences, e.CutoffMs)
	case *engine.KeysExpired:
		m.expire(engine.RetainKeys, e.CutoffMs)
	}
	if !engine.Known(ev.EventType()) {
		m.rep.violate("state", "%s: unknown event type %d", at, ev.EventType())
		return
	}
	for _, c := range m.modules {
		c.Event(at, ev)
	}
	if k, rec, ok := engine.IdemOf(ev); ok {
		m.record(at, ev, k, rec)
	}
}

// record is the idempotency record an outcome leaves. A second outcome for
// a key still remembered means a command was applied twice.
func (m *model) record(at string, ev engine.Event, k engine.IdemKey, rec engine.IdemRecord) {
	if prev, dup := m.idem[k]; dup {
		m.rep.violate("idempotency", "%s: %s (partner %q scope %s reference %q) applied again; first outcome %+v",
			at, TypeName(ev.EventType()), k.Partner, engine.ScopeName(k.Scope), k.Reference, prev)
	}
	m.idem[k] = rec
	c := engine.RetentionOf(k.Scope)
	m.order[c] = append(m.order[c], k)
}

// expire forgets records older than cutoff from the front of one class, in
// log order, stopping at the first younger one (the engine's documented
// rule, reimplemented).
func (m *model) expire(class engine.Retention, cutoff int64) {
	order := m.order[class]
	n := 0
	for n < len(order) {
		r, ok := m.idem[order[n]]
		if ok && r.TimeMs >= cutoff {
			break
		}
		delete(m.idem, order[n])
		n++
	}
	m.order[class] = slices.Clone(order[n:])
}

// finish compares the model with the rebuilt state.
func (m *model) finish(s *engine.State) {
	for _, c := range m.modules {
		c.Finish(s)
	}
	m.finishIdem(s)
}

func (m *model) finishIdem(s *engine.State) {
	rep := m.rep
	if s.IdemLen() != len(m.idem) {
		rep.violate("idempotency", "%d idempotency records, the events leave %d", s.IdemLen(), len(m.idem))
	}
	for k, want := range m.idem {
		got, ok := s.Record(k)
		switch {
		case !ok:
			rep.violate("idempotency", "partner %q scope %s reference %q: no record, the events leave %+v", k.Partner, engine.ScopeName(k.Scope), k.Reference, want)
		case !recordsEqual(got, want):
			rep.violate("idempotency", "partner %q scope %s reference %q: record %s, its event gives %s", k.Partner, engine.ScopeName(k.Scope), k.Reference, recordText(got), recordText(want))
		}
	}
	for k, got := range s.IdemRecords() {
		if _, ok := m.idem[k]; !ok {
			rep.violate("idempotency", "partner %q scope %s reference %q: record %s has no event (or expired)", k.Partner, engine.ScopeName(k.Scope), k.Reference, recordText(got))
		}
	}
	var live []engine.IdemKey
	for _, c := range slices.Sorted(maps.Keys(m.order)) {
		live = append(live, m.order[c]...)
	}
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
	s := fmt.Sprintf("{fingerprint %q amount %d code %d value %d time %d", r.Fingerprint, r.Amount, r.Code, r.Value, r.TimeMs)
	if r.Status != 0 || r.Response != "" {
		s += fmt.Sprintf(" answer %d of %d bytes", r.Status, len(r.Response))
	}
	if d := r.Detail; d != nil {
		s += fmt.Sprintf(" request %q redemption %q redeemed %d", d.RequestID, d.RedemptionID, d.RedeemedMs)
	}
	return s + "}"
}
