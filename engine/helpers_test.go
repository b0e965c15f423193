package engine

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// update regenerates the golden files in testdata/: go test ./engine -update
var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// keyHash returns a distinct 32-byte key hash for n.
func keyHash(n byte) []byte {
	h := HashKey([]byte{'k', n})
	return h[:]
}

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
func sampleEvents() []*Event {
	return []*Event{
		{Type: EvPartnerCreated, TimeMs: 1700000000000, Partner: "ptr_1", API: "payshards", Name: "Shop ünïcode", RateLimit: 600, KeyID: "key_1", KeyHint: "abcd", KeyHash: keyHash(1)},
		{Type: EvPartnerStatus, TimeMs: 1700000000001, Partner: "ptr_1", Status: StatusInactive},
		{Type: EvCredited, TimeMs: 1700000000002, User: "u_123", Reference: "top_1", Amount: 1500, Balance: 1500},
		{Type: EvDeducted, TimeMs: 1700000000003, Partner: "ptr_1", User: "u_123", Reference: "order_abc_001", Amount: 250, Balance: 1250},
		{Type: EvDeductRejected, TimeMs: 1700000000004, Partner: "ptr_1", User: "u_123", Reference: "order_abc_002", Amount: 5000, Balance: 1250, Code: CodeInsufficient},
		{Type: EvRefunded, TimeMs: 1700000000005, Partner: "ptr_1", User: "u_123", Reference: "refund_abc_001", Amount: 250, Balance: 1500},
		{Type: EvRefundRejected, TimeMs: 1700000000006, Partner: "ptr_1", User: "u_123", Reference: "refund_abc_002", Amount: MaxAmount, Balance: 0, Code: CodeRefundExceeds},
		{Type: EvIdemExpired, TimeMs: 1700000000007, Amount: 1700000000003},
		// PayPay.cards (types 9-16), appended so older golden bytes stay a prefix.
		{Type: EvKeyAdded, TimeMs: 1700000000008, Partner: "ptr_1", KeyID: "key_2", KeyHash: keyHash(2), KeyHint: "wxyz"},
		{Type: EvKeyRevoked, TimeMs: 1700000000009, Partner: "ptr_1", KeyID: "key_1"},
		{Type: EvPartnerRateLimit, TimeMs: 1700000000010, Partner: "ptr_1", RateLimit: 1200},
		{Type: EvCodesIssued, TimeMs: 1700000000011, Partner: "ptr_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, Codes: []string{"PP-AAAA-0001", "PP-AAAA-0002", "PP-AAAA-0003"}},
		{Type: EvCodeRevoked, TimeMs: 1700000000012, Partner: "ptr_1", Card: "PP-AAAA-0003"},
		{Type: EvCodeAttempt, TimeMs: 1700000000013, Partner: "ptr_1", Card: "PP-AAAA-0001", Action: ActionValidate, Code: CodeOK, RequestID: "req_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000},
		{Type: EvCodeAttempt, TimeMs: 1700000000014, Partner: "ptr_1", Card: "PP-AAAA-0001", Action: ActionRedeem, Code: CodeOK, RequestID: "req_2", RedemptionID: "rdm_1", Reference: "idem_1", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, RedeemedMs: 1700000000014},
		// Every CodeAttempt field non-zero.
		{Type: EvCodeAttempt, TimeMs: 1700000000015, Partner: "ptr_1", Card: "PP-AAAA-0001", Action: ActionRedeem, Code: CodeAlreadyRedeemed, RequestID: "req_3", RedemptionID: "rdm_x", Reference: "idem_2", Tier: "gold", Label: "Gold ünïcode", ExpiresMs: 1800000000000, RedeemedMs: 1700000000014},
		{Type: EvKeysExpired, TimeMs: 1700000000016, Amount: 1700000000015},
		{Type: EvAttemptsExpired, TimeMs: 1700000000017, Amount: 1700000000014},
	}
}

// legacySampleEvents are the samples of the types that predate PayPay.cards
// (1-8): the state snapshot_v2.golden was made from.
func legacySampleEvents() []*Event {
	var out []*Event
	for _, ev := range sampleEvents() {
		if ev.Type <= EvIdemExpired {
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
func (r *raw) s(v string) *raw      { _ = r.enc.EncodeString(v); return r }
func (r *raw) b(v []byte) *raw      { _ = r.enc.EncodeBytes(v); return r }
func (r *raw) nil() *raw            { _ = r.enc.EncodeNil(); return r }
func (r *raw) bytes(p ...byte) *raw { r.buf.Write(p); return r }
func (r *raw) out() []byte          { return append([]byte(nil), r.buf.Bytes()...) }

// statesEqual reports how two states differ, or "" if they hold the same
// ledger (Refundable order and nil-vs-empty slices aside).
func statesEqual(a, b *State) string {
	switch {
	case a.Index != b.Index:
		return "Index"
	case a.Events != b.Events:
		return "Events"
	case !reflect.DeepEqual(a.Partners, b.Partners):
		return "Partners"
	case !reflect.DeepEqual(a.Keys, b.Keys):
		return "Keys"
	case !reflect.DeepEqual(a.Idem, b.Idem):
		return "Idem"
	case !slices.Equal(a.IdemKeys(), b.IdemKeys()):
		return "IdemKeys (log order)"
	case len(a.Wallets) != len(b.Wallets):
		return "Wallets (count)"
	case a.Attempt != b.Attempt:
		return "Attempt (seq counter)"
	case !reflect.DeepEqual(a.Cards, b.Cards):
		return "Cards"
	case len(a.Attempts) != len(b.Attempts):
		return "Attempts (partners)"
	}
	for p, l := range a.Attempts {
		o := b.Attempts[p]
		if o == nil || !slices.Equal(l.Items(), o.Items()) {
			return "Attempts of " + p
		}
	}
	for u, w := range a.Wallets {
		o := b.Wallets[u]
		if o == nil || !w.Equal(o) {
			return "Wallet " + u
		}
	}
	return ""
}

// snapshotGoldenV2 checks that the version 2 golden file name, never
// regenerated, decodes to s and is what the version 2 layout gives for s.
func snapshotGoldenV2(t *testing.T, name string, s *State) {
	t.Helper()
	want, err := readGolden(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := statesEqual(s, got); diff != "" {
		t.Fatalf("v2 golden snapshot decodes to a different state (%s)", diff)
	}
	if v2, err := snapshotV2Of(s); err != nil || !bytes.Equal(v2, want) {
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
func snapshotGolden(t *testing.T, name string, s *State) {
	t.Helper()
	golden(t, name, mustSnapshot(t, s))
	want, err := readGolden(name)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeSnapshot(want)
	if err != nil {
		t.Fatal(err)
	}
	if diff := statesEqual(s, got); diff != "" {
		t.Fatalf("golden snapshot decodes to a different state (%s)", diff)
	}
}
