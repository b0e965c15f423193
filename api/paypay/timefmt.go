package paypay

import (
	"errors"
	"fmt"
	"time"
)

// Every time the API writes (health's time, expires_at, redeemed_at) is
// RFC 3339 in UTC with exactly three fraction digits and "Z":
// "2026-04-18T14:25:01.798Z". The ledger keeps times as Unix milliseconds.

// Times the API can read and write: years 0000 to 9999 in UTC, the range of
// RFC 3339's four-digit year.
const (
	MinTimeMs int64 = -62167219200000 // 0000-01-01T00:00:00.000Z
	MaxTimeMs int64 = 253402300799999 // 9999-12-31T23:59:59.999Z
)

// ErrBadTime is returned by ParseTime for anything but an RFC 3339
// date-time in range.
var ErrBadTime = errors.New("paypay: invalid RFC 3339 time")

const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// maxTimeLen is the longest accepted form:
// "2026-04-18T14:25:01.123456789+05:30".
const maxTimeLen = len("2006-01-02T15:04:05.123456789-07:00")

// FormatTime returns ms (Unix milliseconds) as RFC 3339 in UTC with three
// fraction digits and "Z". ms must lie in [MinTimeMs, MaxTimeMs]: every
// time the ledger holds comes from the clock or from ParseTime.
func FormatTime(ms int64) string {
	var buf [len(timeLayout)]byte
	return string(AppendTime(buf[:0], ms))
}

// AppendTime appends FormatTime(ms) to dst, for building responses without
// allocating.
func AppendTime(dst []byte, ms int64) []byte {
	return time.UnixMilli(ms).UTC().AppendFormat(dst, timeLayout)
}

// ParseTime reads an RFC 3339 date-time (RFC 3339 section 5.6):
// "YYYY-MM-DDTHH:MM:SS", an optional fraction of 1 to 9 digits, then "Z" or
// a numeric offset "+HH:MM"/"-HH:MM". "T" and "Z" may be lower case, as
// RFC 3339 allows. It returns Unix milliseconds; fraction digits past the
// third are dropped (rounded toward the past). Dates that do not exist
// (February 30), leap seconds (":60"), other layouts (a space for "T", no
// offset, "+0530", a comma fraction) and instants outside [MinTimeMs,
// MaxTimeMs] are refused with an error wrapping ErrBadTime. It reads no
// clock: whether a time is in the future is the caller's question.
func ParseTime(s string) (int64, error) {
	ms, ok := parseTime(s)
	if !ok {
		return 0, fmt.Errorf("%w: %q", ErrBadTime, truncateForError(s))
	}
	return ms, nil
}

func parseTime(s string) (int64, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > maxTimeLen {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	var milli int
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		frac := rest[1:n]
		if len(frac) == 0 || len(frac) > 9 {
			return 0, false
		}
		for i := range 3 {
			milli *= 10
			if i < len(frac) {
				milli += int(frac[i] - '0')
			}
		}
		rest = rest[n:]
	}
	offsetSec, ok := parseOffset(rest)
	if !ok {
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	ms := (t.Unix()-int64(offsetSec))*1000 + int64(milli)
	if ms < MinTimeMs || ms > MaxTimeMs {
		return 0, false
	}
	return ms, true
}

// parseOffset reads "Z", "z", "+HH:MM" or "-HH:MM" and returns the offset
// east of UTC in seconds.
func parseOffset(s string) (int, bool) {
	if s == "Z" || s == "z" {
		return 0, true
	}
	if len(s) != len("+07:00") || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, ok1 := digits(s[1:3])
	m, ok2 := digits(s[4:6])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// digits parses a fixed-width run of ASCII digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// truncateForError keeps error messages bounded.
func truncateForError(s string) string {
	const maxShown = 40
	if len(s) > maxShown {
		return s[:maxShown] + "…"
	}
	return s
}
