package paychat_test

import (
	"math/big"
	"regexp"
	"testing"
	"unicode/utf8"

	"ledgerd/api/httpx"
	"ledgerd/api/paychat"
	pc "ledgerd/engine/paychat"
)

var amountGrammar = regexp.MustCompile(`^(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$`)

// FuzzParseAmount: ParseAmountText agrees with a reference (the grammar,
// then big.Rat), and what it accepts prints back as the same number.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0.000001", "10", "29.99", "999999999.999999", "1.0000000", "0", "-1", "1e2", "01", "1000000000", "10.00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := paychat.ParseAmountText([]byte(s))
		var want int64
		ok := amountGrammar.MatchString(s)
		if ok {
			r, _ := new(big.Rat).SetString(s)
			r.Mul(r, big.NewRat(1_000_000, 1))
			want = r.Num().Int64()
			ok = r.IsInt() && want >= pc.MinAmount && want <= pc.MaxAmount
		}
		if (err == nil) != ok || (ok && got != want) {
			t.Fatalf("%q: %d %v, reference %d %v", s, got, err, want, ok)
		}
		if ok {
			back, err := paychat.ParseAmountText([]byte(paychat.FormatAmount(got)))
			if err != nil || back != got {
				t.Fatalf("%q prints as %s", s, paychat.FormatAmount(got))
			}
		}
	})
}

// FuzzDecoders: every body decoder refuses or accepts any bytes without
// panicking; what it keeps is valid UTF-8 within its limits.
func FuzzDecoders(f *testing.F) {
	for _, s := range []string{
		`{"amount":29.99,"description":"T","metadata":{"a":1,"2":[1.0,{"x":null}]},"idempotency_key":"k"}`,
		`{"telegram_id":"123456789","amount":10.00,"memo":"m"}`, `{"telegram_id":"1","name":"n"}`, `{"webhook_url":"https://x.test/h"}`,
		`{"memo":"partner_x","amount":1,"tx_hash":"abc"}`, `{"partner_id":"pcp_x"}`, `{"telegram_id":"1","fund":true}`,
		`{"withdrawal":{"fixed":0.01,"bps":1},"payment":{"fixed":0,"bps":0},"tiers":[{"min_holdings":1,"discount_bps":5}]}`,
		`{"amount":1,"amount":2}`, `{"metadata":{"a":"\u2028\ud83d\ude00"}}`, `{`, ``, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if p, err := paychat.DecodePayment(data); err == nil {
			if p.Amount < pc.MinAmount || p.Amount > pc.MaxAmount || !utf8.ValidString(p.Description) || len(p.Metadata) > pc.MaxMetadata {
				t.Fatalf("payment %+v", p)
			}
			if p.Metadata != nil {
				again, err := normalize(p.Metadata)
				if err != nil || string(again) != string(p.Metadata) {
					t.Fatalf("metadata %s normalizes again to %s (%v)", p.Metadata, again, err)
				}
			}
		}
		if w, err := paychat.DecodeWithdrawal(data); err == nil && (!pc.ValidTelegramID(w.TelegramID) || utf8.RuneCountInString(w.Memo) > pc.MaxMemo) {
			t.Fatalf("withdrawal %+v", w)
		}
		if r, err := paychat.DecodeRegister(data); err == nil && !pc.ValidTelegramID(r.TelegramID) {
			t.Fatalf("register %+v", r)
		}
		if d, err := paychat.DecodeDeposit(data); err == nil && (!pc.ValidTxHash(d.TxHash) || d.Memo == "") {
			t.Fatalf("deposit %+v", d)
		}
		if s, err := paychat.DecodeFees(data); err == nil && pc.ValidSchedule(&s) != nil {
			t.Fatalf("fees %+v", s)
		}
		_, _ = paychat.DecodeWebhook(data)
		_, _ = paychat.DecodeAssign(data)
		_, _ = paychat.DecodePay(data)
	})
}

func normalize(md []byte) ([]byte, error) {
	var out []byte
	err := httpx.ReadObject(append(append([]byte(`{"m":`), md...), '}'), func(_ []byte, v httpx.Value) error {
		var err error
		out, err = paychat.NormalizeMetadata(v, pc.MaxMetadata)
		return err
	})
	return out, err
}
