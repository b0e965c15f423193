package payshards

import (
	"encoding/json"
	"testing"

	"ledgerd/api/httpx"
	"ledgerd/engine"
)

func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		`{"userId":"u_123","amount":250,"reference":"order_abc_001","description":"Pro export"}`,
		`{"userId":"u_123","amount":250,"reference":"refund_abc_001"}`,
		`{"userId":"u","amount":9007199254740991,"reference":"r","description":null}`,
		`{"userId":"u","amount":9007199254740992,"reference":"r"}`,
		`{"userId":"u","amount":250.0,"reference":"r"}`,
		`{"userId":"u","amount":2.5e2,"reference":"r"}`,
		`{"userId":"u","amount":"250","reference":"r"}`,
		`{"userId":"u","amount":0,"reference":"r"}`,
		`{"userId":"u","amount":-1,"reference":"r"}`,
		`{"userId":"\ud83d\ude00","amount":1,"reference":"\u00e9"}`,
		`{"userId":"u","amount":1,"reference":"r","x":1}`,
		`{}`, ``, `garbage`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := DecodeCommand(body)
		if err != nil {
			if c != (Command{}) {
				t.Fatalf("partial result with error: %+v", c)
			}
			return
		}
		validCommand(t, c)
		// Whatever we accept, a standard JSON client reads the same way.
		var std struct {
			UserID      string
			Amount      int64
			Reference   string
			Description *string
		}
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, encoding/json: %v", body, err)
		}
		if std.UserID != c.UserID || std.Amount != c.Amount || std.Reference != c.Reference {
			t.Fatalf("accepted %q as %+v, encoding/json reads %+v", body, c, std)
		}
		if std.Description != nil && *std.Description != c.Description {
			t.Fatalf("description %q, encoding/json %q", c.Description, *std.Description)
		}
	})
}

func FuzzDecodeUserID(f *testing.F) {
	for _, s := range []string{"u_123", "", "\x00", "😀", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		u, err := DecodeUserID(raw)
		if err != nil {
			return
		}
		if u != string(raw) || !httpx.Printable([]byte(u), engine.MaxUserIDLen) {
			t.Fatalf("accepted %q as %q", raw, u)
		}
	})
}
