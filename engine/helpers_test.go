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
	}
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
	}
	for u, w := range a.Wallets {
		o := b.Wallets[u]
		if o == nil || !w.Equal(o) {
			return "Wallet " + u
		}
	}
	return ""
}

func readGolden(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata", name))
}
