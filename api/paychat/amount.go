package paychat

import (
	"errors"
	"strconv"

	"ledgerd/api/httpx"
	pc "ledgerd/engine/paychat"
)

// Amounts are micro-USDT inside. In JSON they are numbers: parsed from
// their digits, never through float64, and written back the way
// JavaScript writes the same number.

// ErrAmount is an amount the spec's INVALID_AMOUNT refuses.
var ErrAmount = errors.New("paychat: invalid amount")

// MicroDigits is how many fraction digits an amount may have.
const MicroDigits = 6

// ParseAmount reads a JSON number into micro-USDT: digits without a
// leading zero (other than "0"), optionally '.' and 1..6 digits; no sign,
// no exponent, no string. At least pc.MinAmount (0.000001), at most
// pc.MaxAmount (999,999,999.999999). A seventh fraction digit is refused
// even when it is a zero: "1.0000000" is not an amount.
func ParseAmount(v httpx.Value) (int64, error) {
	if v.Kind != httpx.KindNumber {
		return 0, ErrAmount
	}
	return ParseAmountText(v.Raw)
}

// ParseAmountText is ParseAmount on the literal's text.
func ParseAmountText(raw []byte) (int64, error) {
	whole, frac := raw, []byte(nil)
	for i, c := range raw {
		if c == '.' {
			whole, frac = raw[:i], raw[i+1:]
			if len(frac) == 0 || len(frac) > MicroDigits {
				return 0, ErrAmount
			}
			break
		}
	}
	if len(whole) == 0 || len(whole) > 9 || (whole[0] == '0' && len(whole) > 1) {
		return 0, ErrAmount
	}
	var n int64
	for i := 0; i < len(whole)+MicroDigits; i++ {
		d := byte('0')
		switch {
		case i < len(whole):
			d = whole[i]
		case i-len(whole) < len(frac):
			d = frac[i-len(whole)]
		}
		if d < '0' || d > '9' {
			return 0, ErrAmount
		}
		n = n*10 + int64(d-'0')
	}
	if n < pc.MinAmount || n > pc.MaxAmount {
		return 0, ErrAmount
	}
	return n, nil
}

// AppendAmount appends micro-USDT as JSON.stringify writes the number it
// is: the whole part, then '.' and the fraction without trailing zeros, if
// any ("10", "29.99", "0.000001"). With at most 15 significant digits
// (pc.MaxAmount), that decimal is exactly the shortest form of the double
// a JavaScript receiver parses, so it reads and re-prints the same.
func AppendAmount(dst []byte, micro int64) []byte {
	if micro < 0 {
		dst = append(dst, '-')
		micro = -micro
	}
	dst = strconv.AppendInt(dst, micro/1_000_000, 10)
	frac := micro % 1_000_000
	if frac == 0 {
		return dst
	}
	var digits [MicroDigits]byte
	for i := MicroDigits - 1; i >= 0; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := MicroDigits
	for digits[end-1] == '0' {
		end--
	}
	dst = append(dst, '.')
	return append(dst, digits[:end]...)
}

// FormatAmount is AppendAmount as a string.
func FormatAmount(micro int64) string { return string(AppendAmount(nil, micro)) }
