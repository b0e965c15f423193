package verify

import (
	"fmt"
	"strings"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
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
	pa, pb := paypay.Of(a), paypay.Of(b)
	wsa, wsb := payshards.Wallets(a), payshards.Wallets(b)
	if pa.Attempt != pb.Attempt {
		add("attempt counter %d vs %d", pa.Attempt, pb.Attempt)
	}
	for _, u := range sortedKeys(wsa) {
		wa, wb := wsa[u], wsb[u]
		switch {
		case wb == nil:
			add("wallet %q: %d vs missing", u, wa.Balance)
		case !wa.Equal(wb):
			add("wallet %q: balance %d refundable %v vs balance %d refundable %v", u, wa.Balance, wa.Refundable, wb.Balance, wb.Refundable)
		}
	}
	for _, u := range sortedKeys(wsb) {
		if wsa[u] == nil {
			add("wallet %q: missing vs %d", u, wsb[u].Balance)
		}
	}
	if a.IdemLen() != b.IdemLen() {
		add("%d vs %d idempotency records", a.IdemLen(), b.IdemLen())
	}
	for k, ra := range a.IdemRecords() {
		if rb, ok := b.Record(k); !ok || !recordsEqual(ra, rb) {
			add("record %q/%d/%q: %s vs %s", k.Partner, k.Scope, k.Reference, recordText(ra), recordText(rb))
			break
		}
	}
	if len(pa.Cards) != len(pb.Cards) {
		add("%d vs %d codes", len(pa.Cards), len(pb.Cards))
	}
	for _, c := range sortedKeys(pa.Cards) {
		if cb := pb.Cards[c]; cb == nil || *cb != *pa.Cards[c] {
			add("code %q: %+v vs %+v", c, *pa.Cards[c], cb)
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
