package admin

import (
	"testing"

	"ledgerd/api/httpx"
	"ledgerd/api/paysmart"
)

func FuzzDecodeCreateAccount(f *testing.F) {
	for _, s := range []string{`{"name":"Shop"}`, `{"name":""}`, `{"name":"a","x":1}`, `{"name":1}`, `{}`, ``, `{"name":"\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, err := DecodeCreateAccount(body)
		if err == nil && !httpx.Printable([]byte(name), paysmart.MaxAccountName) {
			t.Fatalf("accepted %q as %q", body, name)
		}
	})
}
