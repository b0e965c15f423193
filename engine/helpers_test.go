package engine_test

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
	_ "ledgerd/engine/modules" // every event type, scope and expiry registered
	"ledgerd/engine/outbox"
	"ledgerd/engine/paychat"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
	"ledgerd/engine/paysmart"
)

// update regenerates the golden files in testdata/: go test ./engine -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// maxStringLen is the longest string or byte string a record may hold
// (engine.Reader.Str: at most 4,096 bytes).
const maxStringLen = 4096

// keyHash returns a distinct 32-byte key hash for n.
func keyHash(n byte) []byte {
	h := engine.HashKey([]byte{'k', n})
	return h[:]
}

// key is a NewKeyRecord with key hash n.
func key(id string, n byte, hint string) engine.NewKeyRecord {
	return engine.NewKeyRecord{ID: id, Hash: keyHash(n), Hint: hint}
}

// at is an event's Stamp.
func at(ms int64) engine.Stamp { return engine.Stamp{TimeMs: ms} }

// unknownEvent is an event of a type without a table row.
type unknownEvent struct {
	engine.Stamp
	typ engine.EventType
}

func (e *unknownEvent) EventType() engine.EventType { return e.typ }

// mustPanic runs f and fails the test unless it panics.
func mustPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: expected a panic, got none", name)
		}
	}()
	f()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden %s (run with -update to create): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: bytes changed; the wire format must not change silently\n got: %x\nwant: %x", path, got, want)
	}
}

// sampleEvents is one event of every type, with every field its encoder
// writes set to a non-zero value.
func sampleEvents() []engine.Event {
	return []engine.Event{
		&engine.PartnerCreated{Stamp: at(1700000000000), Partner: "ptr_1", API: "payshards", Name: "Shop ünïcode", RateLimit: 600, Key: key("key_1", 1, "abcd")},
		&engine.PartnerStatusChanged{Stamp: at(1700000000001), Partner: "ptr_1", Status: engine.StatusInactive},
		&payshards.Credited{Stamp: at(1700000000002), User: "u_123", Reference: "top_1", Amount: 1500, BalanceAfter: 1500},
		&payshards.Deducted{Stamp: at(1700000000003), Partner: "ptr_1", User: "u_123", Reference: "order_abc_001", Amount: 250, BalanceAfter: 1250},
		&payshards.DeductRejected{Stamp: at(1700000000004), Partner: "ptr_1", User: "u_123", Reference: "order_abc_002", Amount: 5000, Balance: 1250, Code: payshards.CodeInsufficient},
		&payshards.Refunded{Stamp: at(1700000000005), Partner: "ptr_1", User: "u_123", Reference: "refund_abc_001", Amount: 250, BalanceAfter: 1500},
		&payshards.RefundRejected{Stamp: at(1700000000006), Partner: "ptr_1", User: "u_123", Reference: "refund_abc_002", Amount: engine.MaxAmount, Refundable: 0, Code: payshards.CodeRefundExceeds},
		&engine.ReferencesExpired{Stamp: at(1700000000007), CutoffMs: 1700000000003},
		// PayPay.cards (types 9-16), appended so older golden bytes stay a prefix.
		&engine.KeyAdded{Stamp: at(1700000000008), Partner: "ptr_1", Key: key("key_2", 2, "wxyz")},
		&engine.KeyRevoked{Stamp: at(1700000000009), Partner: "ptr_1", KeyID: "key_1"},
		&engine.PartnerRateLimitChanged{Stamp: at(1700000000010), Partner: "ptr_1", RateLimit: 1200},
		&paypay.CodesIssued{Stamp: at(1700000000011), Partner: "ptr_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, Codes: []string{"PP-AAAA-0001", "PP-AAAA-0002", "PP-AAAA-0003"}},
		&paypay.CodeRevoked{Stamp: at(1700000000012), Partner: "ptr_1", Code: "PP-AAAA-0003"},
		&paypay.CodeAttempt{Stamp: at(1700000000013), Partner: "ptr_1", Code: "PP-AAAA-0001", Action: paypay.ActionValidate, Outcome: engine.CodeOK, RequestID: "req_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000},
		&paypay.CodeAttempt{Stamp: at(1700000000014), Partner: "ptr_1", Code: "PP-AAAA-0001", Action: paypay.ActionRedeem, Outcome: engine.CodeOK, RequestID: "req_2", RedemptionID: "rdm_1", Key: "idem_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, RedeemedMs: 1700000000014},
		// Every CodeAttempt field non-zero.
		&paypay.CodeAttempt{Stamp: at(1700000000015), Partner: "ptr_1", Code: "PP-AAAA-0001", Action: paypay.ActionRedeem, Outcome: paypay.ResultAlreadyRedeemed, RequestID: "req_3", RedemptionID: "rdm_x", Key: "idem_2", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, RedeemedMs: 1700000000014},
		&engine.KeysExpired{Stamp: at(1700000000016), CutoffMs: 1700000000015},
		&paypay.AttemptsExpired{Stamp: at(1700000000017), CutoffMs: 1700000000014},
	}
}

// logOnlySamples are samples of types whose Apply needs state only
// another module's event creates (an outbox attempt needs the delivery a
// module enqueued): they are round-tripped through the codec, not applied.
func logOnlySamples() []engine.Event {
	out := []engine.Event{
		&outbox.DeliveryAttempted{Stamp: at(1700000000018), ID: "dlv_1", Attempt: 1, AtMs: 1700000000017, HTTPStatus: 500,
			LatencyMs: 12, Error: "http status 500", Outcome: outbox.StatusPending, NextMs: 1700000060017},
		&outbox.DeliveryRetried{Stamp: at(1700000000019), ID: "dlv_1"},
	}
	return append(append(append(out, paysmartSamples()...), checkoutSamples()...), paychatSamples()...)
}

// paychatSamples are one event of each PAYchat type with every field set
// (engine/paychat applies and snapshots its own).
func paychatSamples() []engine.Event {
	n := func(typ string) paychat.Notice {
		return paychat.Notice{ID: "evt_1", Type: typ, Body: []byte(`{"event":"` + typ + `"}`)}
	}
	ans := paychat.Answer{Key: "idem-1", Fingerprint: "fp", Status: 200, Response: []byte(`{"success":true}`)}
	return []engine.Event{
		&paychat.PartnerRegistered{Stamp: at(1700000000060), Partner: paychat.Partner{ID: "pcp_1", TelegramID: "123456789", Name: "Shop ünï",
			Plan: paychat.Plan, Memo: "partner_1", SecretHash: make([]byte, 32), CreatedMs: 1700000000060}},
		&paychat.WebhookSet{Stamp: at(1700000000061), Partner: "pcp_1", URL: "https://example.test/hook"},
		&paychat.PaymentCreated{Stamp: at(1700000000062), Payment: paychat.Payment{ID: "pay_1", LinkID: "x7k2m9", Partner: "pcp_1", Amount: 29_990_000,
			Description: "T-shirt", Metadata: []byte(`{"a":1}`), Status: paychat.StatusPending, CreatedMs: 1700000000062,
			ExpiresMs: 1700000000062 + paychat.PaymentLifetime}, Answer: ans},
		&paychat.PaymentPaid{Stamp: at(1700000000063), Link: "x7k2m9", Partner: "pcp_1", Payer: "987654321", Amount: 29_990_000, Fee: 10,
			PaidMs: 1700000000063, Notice: n(paychat.EventPaymentCompleted)},
		&paychat.Withdrawn{Stamp: at(1700000000064), Withdrawal: paychat.Withdrawal{ID: "wd_1", Partner: "pcp_1", User: "987654321",
			Amount: 10_000_000, Fee: 1, Memo: "bonus", CreatedMs: 1700000000064}, Notice: n(paychat.EventWithdrawCompleted), Answer: ans},
		&paychat.DepositReceived{Stamp: at(1700000000065), Deposit: paychat.Deposit{TxHash: "tx_1", Memo: "partner_1", Amount: 1,
			Partner: "pcp_1", Status: paychat.DepositCredited, CreatedMs: 1700000000065}},
		&paychat.DepositAssigned{Stamp: at(1700000000066), TxHash: "tx_2", Partner: "pcp_1"},
		&paychat.FeeScheduleSet{Stamp: at(1700000000067), Schedule: paychat.FeeSchedule{Withdrawal: paychat.FeeRule{Fixed: 1, Bps: 2},
			Payment: paychat.FeeRule{Fixed: 3, Bps: 4}, Tiers: []paychat.FeeTier{{MinHoldings: 5, DiscountBps: 6}}}},
		&paychat.WebhookTested{Stamp: at(1700000000068), Partner: "pcp_1", Notice: n(paychat.EventTest)},
	}
}

// paysmartSamples are one event of each PaySmart type with every field
// set (engine/paysmart applies and snapshots its own).
func paysmartSamples() []engine.Event {
	o := paysmart.Owner{Account: "ptr_1", Live: true}
	ans := paysmart.Answer{Key: "idem-9", Fingerprint: "POST /payments abc", Status: 200, Response: []byte(`{"id":"pay_1"}`)}
	pm := paysmart.PaymentMethod{Owner: o, ID: "pm_1", CreatedMs: 1700000000020,
		Card: paysmart.Card{Brand: "visa", Last4: "4242", ExpMonth: 12, ExpYear: 2030, Fingerprint: "fp_1"}}
	md := []paysmart.KV{{Key: "a", Value: "1"}, {Key: "order", Value: "ünï"}}
	cus := paysmart.Customer{Owner: o, ID: "cus_1", Email: "e@x.test", Name: "N", Phone: "+1", Description: "d",
		Address: &paysmart.Address{Line1: "1", Line2: "2", City: "c", State: "s", PostalCode: "p", Country: "US"}, Metadata: md, CreatedMs: 1700000000021}
	pay := paysmart.Payment{Owner: o, ID: "pay_1", Amount: 2000, Currency: "usd", Status: paysmart.StatusFailed, PaymentMethod: "pm_1",
		Customer: "cus_1", Description: "d", Metadata: md, FailureCode: "card_declined", DeclineCode: "generic_decline",
		FailureMessage: "Your card was declined.", ReceiptToken: "tok", CreatedMs: 1700000000022}
	we := paysmart.Endpoint{Owner: o, ID: "we_1", URL: "https://example.test/hook", Events: []string{"*"}, Description: "d",
		Disabled: true, Rotation: 2, CreatedMs: 1700000000023}
	notice := func(typ string) paysmart.Notice {
		return paysmart.Notice{ID: "evt_1", Type: typ, Body: []byte(`{"id":"evt_1"}`)}
	}
	return []engine.Event{
		&paysmart.PaymentMethodCreated{Stamp: at(1700000000020), Method: pm, Answer: ans},
		&paysmart.CustomerCreated{Stamp: at(1700000000021), Customer: cus, Notice: notice(paysmart.EventCustomerCreated), Answer: ans},
		&paysmart.CustomerUpdated{Stamp: at(1700000000022), Customer: cus, Answer: ans},
		&paysmart.CustomerDeleted{Stamp: at(1700000000023), Owner: o, ID: "cus_1", Answer: ans},
		&paysmart.PaymentCreated{Stamp: at(1700000000024), Payment: pay, Method: &pm, Notice: notice(paysmart.EventPaymentFailed), Answer: ans},
		&paysmart.PaymentUpdated{Stamp: at(1700000000025), Owner: o, ID: "pay_1", Description: "d2", Metadata: md, Customer: "cus_1", Answer: ans},
		&paysmart.RefundCreated{Stamp: at(1700000000026), Refund: paysmart.Refund{Owner: o, ID: "re_1", Payment: "pay_1", Amount: 500,
			Currency: "usd", Reason: "duplicate", CreatedMs: 1700000000026}, AmountRefundedAfter: 700, Notice: notice(paysmart.EventRefundCreated), Answer: ans},
		&paysmart.EndpointCreated{Stamp: at(1700000000027), Endpoint: we, Answer: ans},
		&paysmart.EndpointUpdated{Stamp: at(1700000000028), Endpoint: we, Answer: ans},
		&paysmart.EndpointDeleted{Stamp: at(1700000000029), Owner: o, ID: "we_1", Answer: ans},
		&paysmart.Refused{Stamp: at(1700000000030), Owner: o, Answer: ans},
	}
}

// legacySampleEvents are the samples of the types that predate PayPay.cards
// (1-8): the state snapshot_v2.golden was made from.
func legacySampleEvents() []engine.Event {
	var out []engine.Event
	for _, ev := range sampleEvents() {
		if ev.EventType() <= engine.EvIdemExpired {
			out = append(out, ev)
		}
	}
	return out
}

// raw builds msgpack bytes field by field, for hand-made (bad) records.
type raw struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

func newRaw() *raw {
	r := &raw{}
	r.enc = msgpack.NewEncoder(&r.buf)
	return r
}

func (r *raw) arr(n int) *raw       { _ = r.enc.EncodeArrayLen(n); return r }
func (r *raw) i(v int64) *raw       { _ = r.enc.EncodeInt(v); return r }
func (r *raw) u(v uint64) *raw      { _ = r.enc.EncodeUint(v); return r }
func (r *raw) s(v string) *raw      { _ = r.enc.EncodeString(v); return r }
func (r *raw) b(v []byte) *raw      { _ = r.enc.EncodeBytes(v); return r }
func (r *raw) nil() *raw            { _ = r.enc.EncodeNil(); return r }
func (r *raw) bytes(p ...byte) *raw { r.buf.Write(p); return r }
func (r *raw) out() []byte          { return append([]byte(nil), r.buf.Bytes()...) }

// batchOf encodes hand-made event records as a batch.
func batchOf(events ...[]byte) []byte {
	r := newRaw().arr(len(events))
	for _, e := range events {
		r.bytes(e...)
	}
	return r.out()
}

// statesEqual reports how two states differ, or "" if they hold the same
// ledger (Refundable order and nil-vs-empty slices aside).
func statesEqual(a, b *engine.State) string {
	switch {
	case a.Index != b.Index:
		return "Index"
	case a.Events != b.Events:
		return "Events"
	case !reflect.DeepEqual(a.Partners, b.Partners):
		return "Partners"
	case !reflect.DeepEqual(a.Keys, b.Keys):
		return "Keys"
	case !reflect.DeepEqual(maps.Collect(a.IdemRecords()), maps.Collect(b.IdemRecords())):
		return "Idem"
	case !slices.Equal(a.IdemKeys(), b.IdemKeys()):
		return "IdemKeys (log order)"
	case len(payshards.Wallets(a)) != len(payshards.Wallets(b)):
		return "Wallets (count)"
	case paypay.Of(a).Attempt != paypay.Of(b).Attempt:
		return "Attempt (seq counter)"
	case !reflect.DeepEqual(paypay.Cards(a), paypay.Cards(b)):
		return "Cards"
	case len(paypay.Attempts(a)) != len(paypay.Attempts(b)):
		return "Attempts (partners)"
	}
	for p, l := range paypay.Attempts(a) {
		o := paypay.Attempts(b)[p]
		if o == nil || !slices.Equal(l.Items(), o.Items()) {
			return "Attempts of " + p
		}
	}
	for u, w := range payshards.Wallets(a) {
		o := payshards.Wallets(b)[u]
		if o == nil || !w.Equal(o) {
			return "Wallet " + u
		}
	}
	return ""
}

// snapshotGoldenV2 checks that the version 2 golden file name, never
// regenerated, decodes to s and is what the version 2 layout gives for s.
func snapshotGoldenV2(t *testing.T, name string, s *engine.State) {
	t.Helper()
	want, err := readGolden(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := statesEqual(s, got); diff != "" {
		t.Fatalf("v2 golden snapshot decodes to a different state (%s)", diff)
	}
	if v2, err := engine.SnapshotV2Of(s); err != nil || !bytes.Equal(v2, want) {
		t.Fatalf("the v2 layout of the state is not the golden file (err %v)", err)
	}
	if again := mustSnapshot(t, got); !bytes.Equal(again, mustSnapshot(t, s)) {
		t.Fatal("a state read from v2 encodes differently from the original")
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func readGolden(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}

// snapshotGolden checks s's snapshot against the golden file name (byte
// for byte, regenerated with -update) and that the file decodes back to s.
func snapshotGolden(t *testing.T, name string, s *engine.State) {
	t.Helper()
	golden(t, name, mustSnapshot(t, s))
	want, err := readGolden(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := engine.DecodeSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := statesEqual(s, got); diff != "" {
		t.Fatalf("golden snapshot decodes to a different state (%s)", diff)
	}
}

func applyAll(s *engine.State, evs []engine.Event) *engine.State {
	for _, ev := range evs {
		s.Apply(ev)
	}
	return s
}

func mustSnapshot(t *testing.T, s *engine.State) []byte {
	t.Helper()
	b, err := s.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// snapshot is a hand-made snapshot, written by encodeSnap in the
// version 3 container and by encodeSnapV2 in the version 2 layout, as
// engine/snapshot_sections.go and engine/snapshot_v2.go document them,
// without EncodeSnapshot's sorting or checks. TestEncodeSnapMirrorsEncoder
// holds both to the engine's encoders byte for byte.
type snapshot struct {
	Version  int // unused by the writers: each writes its own version
	Index    uint64
	Events   uint64
	Attempt  uint64
	Partners []engine.Partner
	Wallets  []walletEntry
	Idem     []idemEntry
	Cards    []cardEntry
	Attempts []attemptEntry
}

type walletEntry struct {
	User       string
	Balance    int64
	Refundable []payshards.Refundable
}

type idemEntry struct {
	Key    engine.IdemKey
	Record engine.IdemRecord
}

type cardEntry struct {
	Code string
	Card paypay.Card
}

type attemptEntry struct {
	Partner string
	Items   []paypay.Attempt
}

// The element lists, in the encodings both layouts share.

func (r *raw) partners(t *testing.T, ps []engine.Partner) *raw {
	t.Helper()
	if err := r.enc.Encode(ps); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *raw) wallets(ws []walletEntry) *raw {
	r.arr(len(ws))
	for _, w := range ws {
		r.arr(3).s(w.User).i(w.Balance).arr(len(w.Refundable))
		for _, x := range w.Refundable {
			r.arr(2).s(x.Partner).i(x.Amount)
		}
	}
	return r
}

// idem writes records in the idem section's version 2 layout, or with
// withResponse false in version 1's and the v2 snapshot's (nine fields).
func (r *raw) idem(es []idemEntry, withResponse bool) *raw {
	r.arr(len(es))
	for _, e := range es {
		rec := e.Record
		n := 9
		if withResponse {
			n = 11
		}
		r.arr(n).s(e.Key.Partner).i(int64(e.Key.Scope)).s(e.Key.Reference).
			s(rec.Fingerprint).i(rec.Amount).i(int64(rec.Code)).i(rec.Value).i(rec.TimeMs)
		if withResponse {
			r.i(int64(rec.Status)).s(rec.Response)
		}
		if d := rec.Detail; d == nil {
			r.nil()
		} else {
			r.arr(6).s(d.RequestID).s(d.RedemptionID).s(d.Tier).s(d.Label).i(d.ExpiresMs).i(d.RedeemedMs)
		}
	}
	return r
}

func (r *raw) cards(cs []cardEntry) *raw {
	r.arr(len(cs))
	for _, e := range cs {
		c := e.Card
		r.arr(9).s(e.Code).s(c.Partner).s(c.Tier).s(c.Label).i(c.IssuedMs).i(c.ExpiresMs).i(c.RevokedMs).i(c.RedeemedMs).s(c.RedemptionID)
	}
	return r
}

func (r *raw) attempts(as []attemptEntry) *raw {
	r.arr(len(as))
	for _, e := range as {
		r.arr(2).s(e.Partner).arr(len(e.Items))
		for _, a := range e.Items {
			r.arr(6).u(a.Seq).i(a.TimeMs).s(a.Card).i(int64(a.Action)).i(int64(a.Outcome)).s(a.RequestID)
		}
	}
	return r
}

// sectionVersions are the versions this binary writes.
var sectionVersions = map[string]int{"core": 1, "idem": 2, "payshards": 1, "paypay": 1, "paysmart": 1, "outbox": 1, "checkout": 1, "paychat": 1}

// encodeSnap encodes a hand-made snapshot in the current container
// (version 3: [3, [[name, version, payload bin]...]]), its sections in the
// engine's table order, bypassing EncodeSnapshot's checks and sorting.
func encodeSnap(t *testing.T, snap snapshot) []byte {
	t.Helper()
	sections := map[string]func() []byte{
		"core": func() []byte {
			return newRaw().arr(3).u(snap.Index).u(snap.Events).partners(t, snap.Partners).out()
		},
		"idem":      func() []byte { return newRaw().arr(1).idem(snap.Idem, true).out() },
		"payshards": func() []byte { return newRaw().arr(1).wallets(snap.Wallets).out() },
		"paypay": func() []byte {
			return newRaw().arr(3).u(snap.Attempt).cards(snap.Cards).attempts(snap.Attempts).out()
		},
		"paysmart": func() []byte { return newRaw().arr(1).arr(0).out() },        // no books (engine/paysmart tests its own)
		"outbox":   func() []byte { return newRaw().arr(2).u(0).arr(0).out() },   // no deliveries (engine/outbox tests its own)
		"checkout": func() []byte { return newRaw().arr(2).arr(0).arr(0).out() }, // no shops or books (engine/checkout tests its own)
		"paychat": func() []byte { // empty (engine/paychat tests its own)
			return newRaw().arr(9).i(0).i(0).i(0).arr(3).arr(2).i(0).i(0).arr(2).i(0).i(0).arr(0).arr(0).arr(0).arr(0).arr(0).arr(0).out()
		},
	}
	names := engine.SnapshotSectionNames() // "core v1", in table order
	r := newRaw().arr(2).i(engine.SnapshotVersion).arr(len(names))
	for _, n := range names {
		name, _, _ := strings.Cut(n, " ")
		payload := sections[name]
		if payload == nil {
			t.Fatalf("encodeSnap does not know the layout of section %q", n)
		}
		r.arr(3).s(name).i(int64(sectionVersions[name])).b(payload())
	}
	return r.out()
}

// encodeSnapV2 encodes a hand-made snapshot in the version 2 layout
// (snap.Version aside: it writes 2).
func encodeSnapV2(t *testing.T, snap snapshot) []byte {
	t.Helper()
	r := newRaw().arr(10).i(2).u(snap.Index).u(snap.Events).u(snap.Attempt).partners(t, snap.Partners).
		wallets(snap.Wallets).idem(snap.Idem, false).cards(snap.Cards).attempts(snap.Attempts)
	if err := r.enc.EncodeMapLen(0); err != nil {
		t.Fatal(err)
	}
	return r.out()
}

// recordOf is s's record of k, or the zero record.
func recordOf(s *engine.State, k engine.IdemKey) engine.IdemRecord {
	r, _ := s.Record(k)
	return r
}
