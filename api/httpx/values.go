package httpx

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Value rule errors.
var (
	ErrNotInteger = errors.New("httpx: not a JSON integer literal")
	ErrOutOfRange = errors.New("httpx: integer out of range")
	ErrBadString  = errors.New("httpx: string not allowed")
)

// Integer parses a JSON number that is written as a plain integer: digits
// with an optional minus sign, no fraction, no exponent, no quotes. It works
// on the digits themselves; nothing goes through float64.
func Integer(v Value, minimum, maximum int64) (int64, error) {
	if v.Kind != KindNumber {
		return 0, ErrNotInteger
	}
	raw := v.Raw
	neg := len(raw) > 0 && raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	if len(raw) == 0 || len(raw) > 19 {
		return 0, ErrOutOfRange
	}
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, ErrNotInteger
		}
		if n > (1<<63-1-int64(c-'0'))/10 {
			return 0, ErrOutOfRange
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if n < minimum || n > maximum {
		return 0, ErrOutOfRange
	}
	return n, nil
}

// PrintableString checks a string value of 1..maxChars printable
// characters (Unicode letters, marks, numbers, punctuation, symbols and the
// ASCII space) and returns a copy of it.
func PrintableString(v Value, maxChars int) (string, error) {
	if v.Kind != KindString {
		return "", ErrBadString
	}
	if !Printable(v.Str, maxChars) {
		return "", ErrBadString
	}
	return string(v.Str), nil
}

// Printable reports whether s is 1..maxChars printable characters.
func Printable(s []byte, maxChars int) bool {
	if len(s) == 0 || len(s) > maxChars*utf8.UTFMax {
		return false
	}
	n := 0
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if (r == utf8.RuneError && size == 1) || !unicode.IsPrint(r) {
			return false
		}
		s = s[size:]
		n++
	}
	return n <= maxChars
}
