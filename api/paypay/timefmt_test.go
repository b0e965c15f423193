package paypay

import (
	"errors"
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	tests := []struct {
		ms   int64
		want string
	}{
		{1776522301798, "2026-04-18T14:25:01.798Z"}, // the spec's example
		{1776522600000, "2026-04-18T14:30:00.000Z"},
		{0, "1970-01-01T00:00:00.000Z"},
		{1, "1970-01-01T00:00:00.001Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{951782400000, "2000-02-29T00:00:00.000Z"},
		{MinTimeMs, "0000-01-01T00:00:00.000Z"},
		{MaxTimeMs, "9999-12-31T23:59:59.999Z"},
	}
	for _, tc := range tests {
		if got := FormatTime(tc.ms); got != tc.want {
			t.Errorf("FormatTime(%d) = %s, want %s", tc.ms, got, tc.want)
		}
		if got := string(AppendTime([]byte(`"t":`), tc.ms)); got != `"t":`+tc.want {
			t.Errorf("AppendTime(%d) = %s", tc.ms, got)
		}
	}
	// The zone of the process does not matter.
	old := time.Local
	time.Local = time.FixedZone("X", 5*3600+30*60)
	defer func() { time.Local = old }()
	if got := FormatTime(1776522301798); got != "2026-04-18T14:25:01.798Z" {
		t.Errorf("with a local zone: %s", got)
	}
}

func TestAppendTimeDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf = AppendTime(buf[:0], 1776522301798) }); n != 0 {
		t.Errorf("AppendTime allocates %v times", n)
	}
}

func TestParseTimeValid(t *testing.T) {
	const example = 1776522301798 // 2026-04-18T14:25:01.798Z
	tests := []struct {
		s    string
		want int64
	}{
		{"2026-04-18T14:25:01.798Z", example},
		{"2026-04-18T14:25:01Z", example - 798},
		{"2026-04-18T14:25:01.7Z", example - 98},
		{"2026-04-18T14:25:01.79Z", example - 8},
		{"2026-04-18T14:25:01.798999999Z", example}, // extra digits round toward the past
		{"2026-04-18T14:25:01.7989Z", example},
		{"2026-04-18t14:25:01.798z", example},
		{"2026-04-18T16:25:01.798+02:00", example},
		{"2026-04-18T09:55:01.798-04:30", example},
		{"2026-04-18T14:25:01.798+00:00", example},
		{"2026-04-18T14:25:01.798-00:00", example},
		{"2026-04-19T14:24:01.798+23:59", example},
		{"1970-01-01T00:00:00Z", 0},
		{"1969-12-31T23:59:59.999Z", -1},
		{"2024-02-29T00:00:00Z", 1709164800000},
		{"2000-02-29T00:00:00Z", 951782400000},
		{"0000-01-01T00:00:00Z", MinTimeMs},
		{"9999-12-31T23:59:59.999Z", MaxTimeMs},
		{"9999-12-31T23:59:59.999999999Z", MaxTimeMs},
		{"0000-01-01T00:00:00-00:01", MinTimeMs + 60000},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.s)
		if err != nil || got != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d (%s)", tc.s, got, err, tc.want, FormatTime(tc.want))
		}
	}
}

func TestParseTimeInvalid(t *testing.T) {
	for _, s := range []string{
		"", "2026", "2026-04-18", "2026-04-18T14:25", "14:25:01Z",
		"2026-04-18T14:25:01",             // no offset
		"2026-04-18 14:25:01Z",            // space for T
		"2026-04-18T14:25:01.798",         // no offset
		"2026-04-18T14:25:01.Z",           // empty fraction
		"2026-04-18T14:25:01,798Z",        // comma fraction
		"2026-04-18T14:25:01.1234567890Z", // 10 fraction digits
		"2026-04-18T14:25:01+0200",
		"2026-04-18T14:25:01+02",
		"2026-04-18T14:25:01+24:00",
		"2026-04-18T14:25:01+02:60",
		"2026-04-18T14:25:01 Z",
		"2026-04-18T14:25:01ZZ",
		"2026-04-18T14:25:01Z ",
		" 2026-04-18T14:25:01Z",
		"2026-4-18T14:25:01Z",
		"26-04-18T14:25:01Z",
		"+2026-04-18T14:25:01Z",
		"-0001-04-18T14:25:01Z",
		"20260-04-18T14:25:01Z",
		"2026/04/18T14:25:01Z",
		"2026-00-18T14:25:01Z",
		"2026-13-18T14:25:01Z",
		"2026-04-00T14:25:01Z",
		"2026-04-31T14:25:01Z",
		"2023-02-29T00:00:00Z",
		"1900-02-29T00:00:00Z",
		"2026-04-18T24:00:00Z",
		"2026-04-18T14:60:01Z",
		"2026-04-18T14:25:60Z", // leap seconds are not accepted
		"2026-04-18T14:25:01.798UTC",
		"2026-04-18T14:25:01.798GMT",
		"Sat, 18 Apr 2026 14:25:01 GMT",
		"1776522301798",
		"0000-01-01T00:00:00+00:01", // before year 0 in UTC
		"9999-12-31T23:59:59-00:01", // after year 9999 in UTC
		"２026-04-18T14:25:01Z",      // full-width digit
		"2026-04-18T14:25:01.７98Z",
	} {
		if ms, err := ParseTime(s); !errors.Is(err, ErrBadTime) || ms != 0 {
			t.Errorf("ParseTime(%q) = %d, %v", s, ms, err)
		}
	}
}

func TestParseTimeMatchesStandardLibrary(t *testing.T) {
	// For every accepted form, time.Parse (RFC 3339) reads the same
	// instant, truncated to the millisecond.
	for _, s := range []string{"2026-04-18T14:25:01.798Z", "2026-04-18T16:25:01.7981+02:00", "1969-12-31T23:59:59.9999Z", "2000-02-29T23:00:00-01:00"} {
		std, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseTime(s)
		if err != nil || got != std.Truncate(time.Millisecond).UnixMilli() {
			t.Errorf("%s: %d, %v; time.Parse %d", s, got, err, std.UnixMilli())
		}
	}
}
