package verify

import (
	"fmt"
	"strings"

	"ledgerd/engine"
)

// diffStates describes how two states differ, briefly: counters, then the
// first few differing wallets, records, codes and partners.
func diffStates(a, b *engine.State) string {
	var d []string
	add := func(format string, args ...any) {
		if len(d) < 6 {
			d = append(d, fmt.Sprintf(format, args...))
		}
	}
	if a.Index != b.Index {
		add("index %d vs %d", a.Index, b.Index)
	}
	if a.Events != b.Events {
		add("events %d vs %d", a.Events, b.Events)
	}
	if a.Attempt != b.Attempt {
		add("attempt counter %d vs %d", a.Attempt, b.Attempt)
	}
	for _, u := range sortedKeys(a.Wallets) {
		wa, wb := a.Wallets[u], b.Wallets[u]
		switch {
		case wb == nil:
			add("wallet %q: %d vs missing", u, wa.Balance)
		case !wa.Equal(wb):
			add("wallet %q: balance %d refundable %v vs balance %d refundable %v", u, wa.Balance, wa.Refundable, wb.Balance, wb.Refundable)
		}
	}
	for _, u := range sortedKeys(b.Wallets) {
		if a.Wallets[u] == nil {
			add("wallet %q: missing vs %d", u, b.Wallets[u].Balance)
		}
	}
	if len(a.Idem) != len(b.Idem) {
		add("%d vs %d idempotency records", len(a.Idem), len(b.Idem))
	}
	for k, ra := range a.Idem {
		if rb, ok := b.Idem[k]; !ok || !recordsEqual(ra, rb) {
			add("record %q/%d/%q: %s vs %s", k.Partner, k.Scope, k.Reference, recordText(ra), recordText(rb))
			break
		}
	}
	if len(a.Cards) != len(b.Cards) {
		add("%d vs %d codes", len(a.Cards), len(b.Cards))
	}
	for _, c := range sortedKeys(a.Cards) {
		if cb := b.Cards[c]; cb == nil || *cb != *a.Cards[c] {
			add("code %q: %+v vs %+v", c, *a.Cards[c], cb)
			break
		}
	}
	if len(a.Partners) != len(b.Partners) {
		add("%d vs %d partners", len(a.Partners), len(b.Partners))
	}
	if len(d) == 0 {
		return "same content, different encoding (order of records, partners' keys or attempts)"
	}
	return strings.Join(d, "; ")
}
