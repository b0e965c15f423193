package checkout

import (
	"bytes"
	"encoding/json"
	"testing"

	ck "ledgerd/engine/checkout"
)

// FuzzDecodeCreate: the create decoder never panics; what it accepts keeps
// its rules, and its metadata is a JSON object of at most 5,120 bytes.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"amount":2000,"currency":"usd","return_url":"http://127.0.0.1/x"}`,
		`{"amount":50,"currency":"USD","return_url":"https://a.test/?a=1#f","customer_email":"a@b.test","customer_name":"Ann","metadata":{"a":1.50,"b":true,"c":"x\"y"}}`,
		`{"amount":49}`, `{"metadata":{"a":{"b":1}}}`, `[]`, `{"amount":1e3}`, `{"metadata":{"\u0000":"\ud83d\ude00"}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := decodeCreate(body)
		if err != nil {
			if err.param == "" && err.code != CodeInvalidJSON {
				t.Fatalf("error without a param: %+v", err)
			}
			return
		}
		if c.Amount < ck.MinAmount || c.Amount > ck.MaxAmount || c.Currency != "usd" || c.ReturnURL == "" {
			t.Fatalf("accepted %+v", c)
		}
		if c.Metadata != nil {
			var m map[string]any
			if len(c.Metadata) > ck.MaxMetadataBytes || json.Unmarshal(c.Metadata, &m) != nil || len(m) > ck.MaxMetadataKeys {
				t.Fatalf("metadata %q", c.Metadata)
			}
		}
	})
}

// FuzzDecodeRefund: the refund decoder never panics and accepts only
// amounts in range.
func FuzzDecodeRefund(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"amount":1}`, `{"amount":null}`, `{"amount":0}`, `{"amount":"5"}`, `{"x":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := decodeRefund(body)
		if err == nil && (r.Amount < 0 || r.Amount > ck.MaxAmount) {
			t.Fatalf("accepted %+v", r)
		}
	})
}

// FuzzDecodeShop: the admin shop decoder never panics; an accepted accent
// colour is #rrggbb and a logo a PNG or JPEG of at most 100 KB.
func FuzzDecodeShop(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"name":"x","accent_color":"#ABCDEF","logo":"iVBORw0KGgoAAAA=","webhook_url":"https://a.test/h"}`,
		`{"status":"inactive","rotate_webhook_secret":true}`, `{"logo":null}`, `{"name":""}`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, create bool) {
		s, err := decodeShop(body, create, false)
		if err != nil {
			return
		}
		if s.Accent != nil && !ck.ValidAccent(*s.Accent) {
			t.Fatalf("accent %q", *s.Accent)
		}
		if s.Logo != nil && len(*s.Logo) > 0 && (len(*s.Logo) > ck.MaxLogo || !(bytes.HasPrefix(*s.Logo, []byte("\x89PNG")) || bytes.HasPrefix(*s.Logo, []byte("\xff\xd8\xff")))) {
			t.Fatalf("logo of %d bytes", len(*s.Logo))
		}
		if create && s.Name == nil {
			t.Fatal("create without a name")
		}
	})
}
