package paypay

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

func FuzzDecodeCode(f *testing.F) {
	for _, s := range []string{
		`{"code":"PP-7KQM-X3TD-9HWA"}`, `{"code":" pp-7kqm-x3td-9hwa "}`, `{"code":""}`, `{"code":null}`,
		`{"code":1}`, `{"code":"a","code":"b"}`, `{"code":"a","x":1}`, `{"code":"\u00e9\ud83d\ude00"}`,
		`{"code":"\t\n"}`, `{}`, ``, `[]`, "{\"code\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, err := DecodeCode(body)
		if err != nil {
			if code != "" {
				t.Fatalf("partial result with error: %q", code)
			}
			return
		}
		if !httpx.Printable([]byte(code), MaxCodeChars) || strings.TrimSpace(code) != code || strings.ToUpper(code) != code && hasASCIILower(code) {
			t.Fatalf("accepted %q as %q", body, code)
		}
		// A standard JSON client reads the same code (before normalization).
		var std struct{ Code string }
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, encoding/json: %v", body, err)
		}
		if normalized := string(normalizeCode([]byte(std.Code))); normalized != code {
			t.Fatalf("accepted %q as %q; encoding/json reads %q", body, code, std.Code)
		}
		// Decoding is idempotent: the normalized code decodes to itself.
		again, err := DecodeCode(httpx.Object(nil).Str("code", code).Close())
		if err != nil || again != code {
			t.Fatalf("%q re-decodes to %q, %v", code, again, err)
		}
	})
}

func hasASCIILower(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'a' && s[i] <= 'z' {
			return true
		}
	}
	return false
}

func FuzzDecodeIdempotencyKey(f *testing.F) {
	for _, s := range []string{"01HZ9YW3M1X4GK3PEXAMPLE", "", " ", "é", "\x7f", strings.Repeat("k", 256)} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		k, ok, err := DecodeIdempotencyKey(raw)
		if err != nil {
			if ok || k != "" {
				t.Fatalf("partial result with error: %q %v", k, ok)
			}
			return
		}
		if !ok || k != string(raw) || len(k) < 1 || len(k) > MaxIdempotencyKeyChars || !utf8.ValidString(k) {
			t.Fatalf("accepted %q as %q", raw, k)
		}
		for _, c := range []byte(k) {
			if c <= ' ' || c >= 0x7f {
				t.Fatalf("accepted %q with byte %#x", raw, c)
			}
		}
	})
}

func FuzzDecodeListQuery(f *testing.F) {
	for _, s := range []string{"", "limit=20", "limit=0", "limit=100&cursor=att_5", "cursor=att_", "limit=1&limit=2", "cursor=%61tt_1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var args fasthttp.Args
		args.Parse(query)
		limit, cursor, err := DecodeListQuery(&args)
		if err != nil {
			if limit != 0 || cursor != "" {
				t.Fatalf("partial result with error: %d %q", limit, cursor)
			}
			return
		}
		if limit < 1 || limit > MaxListLimit {
			t.Fatalf("%q: limit %d", query, limit)
		}
		if cursor != "" && !ValidCursor([]byte(cursor)) {
			t.Fatalf("%q: cursor %q", query, cursor)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-04-18T14:25:01.798Z", "2026-04-18T14:25:01Z", "2026-04-18t14:25:01.7z", "2026-04-18T16:25:01.798123+02:00",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-04-18T24:00:00Z", "2026-04-18T14:25:60Z", "2026-04-18 14:25:01Z",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "0000-01-01T00:00:00+00:01", "2026-04-18T14:25:01,798Z",
		"2026-04-18T14:25:01.Z", "2026-04-18T14:25:01+0200", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseTime(s)
		if err != nil {
			return
		}
		if ms < MinTimeMs || ms > MaxTimeMs {
			t.Fatalf("ParseTime(%q) = %d: out of range", s, ms)
		}
		// The standard library reads the same instant (to the millisecond,
		// rounding toward the past).
		std, stdErr := time.Parse(time.RFC3339Nano, strings.NewReplacer("t", "T", "z", "Z").Replace(s))
		if stdErr != nil {
			t.Fatalf("ParseTime(%q) = %d, time.Parse: %v", s, ms, stdErr)
		}
		if std.Unix() != floorDiv(ms, 1000) || int64(std.Nanosecond()/1e6) != ms-floorDiv(ms, 1000)*1000 {
			t.Fatalf("ParseTime(%q) = %d, time.Parse %v", s, ms, std)
		}
		// What FormatTime writes, ParseTime reads back to the same instant.
		if back, err := ParseTime(FormatTime(ms)); err != nil || back != ms {
			t.Fatalf("%q → %d → %s → %d, %v", s, ms, FormatTime(ms), back, err)
		}
	})
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func FuzzFormatTime(f *testing.F) {
	for _, ms := range []int64{0, 1776522301798, -1, MinTimeMs, MaxTimeMs, 951782400000} {
		f.Add(ms)
	}
	f.Fuzz(func(t *testing.T, ms int64) {
		if ms < MinTimeMs || ms > MaxTimeMs {
			return
		}
		s := FormatTime(ms)
		if len(s) != len("2026-04-18T14:25:01.798Z") || s[len(s)-1] != 'Z' || s[19] != '.' {
			t.Fatalf("FormatTime(%d) = %q", ms, s)
		}
		if back, err := ParseTime(s); err != nil || back != ms {
			t.Fatalf("FormatTime(%d) = %q reads back as %d, %v", ms, s, back, err)
		}
		if got := string(AppendTime([]byte("x"), ms)); got != "x"+s {
			t.Fatalf("AppendTime = %q", got)
		}
	})
}
