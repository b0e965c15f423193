package paychat

import (
	"testing"

	"github.com/valyala/fasthttp"

	pc "ledgerd/engine/paychat"
)

// FuzzTxQuery: GET /transactions' query decoder refuses or returns a
// query Transactions accepts (limit 1..100, offset >= 0, from <= to).
func FuzzTxQuery(f *testing.F) {
	for _, s := range []string{"", "type=payment&limit=10", "status=expired&offset=5", "from=2025-01-07&to=2025-01-08",
		"from=2025-01-07T12:00:00.000Z", "limit=101", "limit=-1", "type=x", "to=2025-01-07T12:00:00+02:00", "a=b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var args fasthttp.Args
		args.Parse(s)
		q, err := decodeTxQuery(&args, 1_700_000_000_000)
		if err != nil {
			return
		}
		if q.Limit < 1 || q.Limit > pc.MaxLimit || q.Offset < 0 || (q.HasFrom && q.HasTo && q.FromMs > q.ToMs) {
			t.Fatalf("%q: %+v", s, q)
		}
		switch q.Type {
		case "", pc.TxPayment, pc.TxWithdraw, pc.TxFee:
		default:
			t.Fatalf("%q: type %q", s, q.Type)
		}
	})
}
