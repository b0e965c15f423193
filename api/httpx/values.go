package httpx

import (
	"errors"
	"fmt"
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

// More value rule errors.
var (
	ErrNotDecimal = errors.New("httpx: not an exact decimal")
	ErrNotBool    = errors.New("httpx: not a JSON boolean")
)

// MaxFractionDigits bounds Decimal's fractionDigits: 10^18 is the largest
// power of ten in an int64.
const MaxFractionDigits = 18

// Decimal parses a JSON number written as a plain decimal ("20", "20.5",
// "-0.000001") into an int64 scaled by 10^fractionDigits: Decimal of 20.5
// with 2 fraction digits is 2050. It works on the digits; nothing goes
// through float64. A value that is not exactly representable (more
// non-zero fraction digits than fractionDigits) is ErrNotDecimal, never
// rounded; so is an exponent. Zeros after the last significant fraction
// digit are allowed ("20.500" is 2050).
func Decimal(v Value, fractionDigits int, minimum, maximum int64) (int64, error) {
	if v.Kind != KindNumber {
		return 0, ErrNotDecimal
	}
	return ParseDecimal(v.Raw, fractionDigits, minimum, maximum)
}

// ParseDecimal is Decimal on text, for APIs that carry amounts in JSON
// strings ("10.50"). The text must be an optional '-', digits without a
// leading zero (other than "0" itself), and optionally '.' and at least one
// digit: "+1", ".5", "5.", "01", "1e2" and spaces are ErrNotDecimal.
func ParseDecimal(text []byte, fractionDigits int, minimum, maximum int64) (int64, error) {
	if fractionDigits < 0 || fractionDigits > MaxFractionDigits {
		return 0, ErrNotDecimal
	}
	neg := len(text) > 0 && text[0] == '-'
	if neg {
		text = text[1:]
	}
	whole, frac, dot := text, []byte(nil), false
	for i, c := range text {
		if c == '.' {
			whole, frac, dot = text[:i], text[i+1:], true
			break
		}
	}
	if len(whole) == 0 || (whole[0] == '0' && len(whole) > 1) || (dot && len(frac) == 0) {
		return 0, ErrNotDecimal
	}
	for len(frac) > fractionDigits && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if len(frac) > fractionDigits {
		return 0, ErrNotDecimal
	}
	// Accumulate as a negative number, so that the int64 minimum fits.
	var n int64
	for i := 0; i < len(whole)+fractionDigits; i++ {
		d := byte('0')
		switch {
		case i < len(whole):
			d = whole[i]
		case i-len(whole) < len(frac):
			d = frac[i-len(whole)]
		}
		if d < '0' || d > '9' {
			return 0, ErrNotDecimal
		}
		if n < (-1<<63+int64(d-'0'))/10 {
			return 0, ErrOutOfRange
		}
		n = n*10 - int64(d-'0')
	}
	if !neg {
		if n == -1<<63 {
			return 0, ErrOutOfRange
		}
		n = -n
	}
	if n < minimum || n > maximum {
		return 0, ErrOutOfRange
	}
	return n, nil
}

// Bool reads a JSON true or false.
func Bool(v Value) (bool, error) {
	switch v.Kind {
	case KindTrue:
		return true, nil
	case KindFalse:
		return false, nil
	}
	return false, ErrNotBool
}

// UnknownField is the error a decoder's callback returns for a key it does
// not know. It wraps ErrUnknownField and names the key (a copy).
func UnknownField(key []byte) error {
	return fmt.Errorf("%w %q", ErrUnknownField, key)
}
