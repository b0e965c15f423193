package cards

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"sync"
	"time"
)

// Brand names, as Stripe spells them in card.brand.
const (
	Visa       = "visa"
	Mastercard = "mastercard"
	Amex       = "amex"
	Discover   = "discover"
	Unknown    = "unknown"
)

// Length bounds of a card number, in digits.
const (
	MinDigits = 12
	MaxDigits = 19
)

// MaxYearsAhead is how far in the future an expiry year may lie; a later
// year is taken for a typing mistake (invalid_expiry_year).
const MaxYearsAhead = 50

// Stripe's error codes for a card that fails validation.
const (
	CodeIncorrectNumber    = "incorrect_number"
	CodeInvalidExpiryMonth = "invalid_expiry_month"
	CodeInvalidExpiryYear  = "invalid_expiry_year"
	CodeInvalidCVC         = "invalid_cvc"
)

// The request parameters an Error names.
const (
	ParamNumber   = "payment_method[card][number]"
	ParamExpMonth = "payment_method[card][exp_month]"
	ParamExpYear  = "payment_method[card][exp_year]"
	ParamCVC      = "payment_method[card][cvc]"
)

// Messages of validation errors.
const (
	MsgIncorrectNumber    = "Your card number is incorrect."
	MsgInvalidExpiryMonth = "Your card's expiration month is invalid."
	MsgPastExpiryMonth    = "Your card's expiration date is in the past."
	MsgInvalidExpiryYear  = "Your card's expiration year is invalid."
	MsgPastExpiryYear     = "Your card's expiration year is in the past."
	MsgInvalidCVC         = "Your card's security code is invalid."
)

// Error is a validation refusal: Stripe's code, a fixed message and the
// parameter at fault. It never holds any part of the card's details.
type Error struct {
	Code    string
	Message string
	Param   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Month is a calendar month, the "now" against which an expiry is judged.
// Month runs 1–12.
type Month struct {
	Year  int64
	Month int64
}

// MonthOf is the month of t in t's own location; the caller picks the
// location (ledgerd uses UTC).
func MonthOf(t time.Time) Month {
	return Month{Year: int64(t.Year()), Month: int64(t.Month())}
}

// Card is what may be kept of a card. Fingerprint is left empty by Parse:
// the caller, who holds the key, fills it with Fingerprint(key, number).
type Card struct {
	Brand       string
	Last4       string
	ExpMonth    int64
	ExpYear     int64
	Fingerprint string
}

// Parse validates card details as they arrive in a request and returns what
// may be kept of them. Checks run in the order number, expiry month, expiry
// year, CVC, and the first failure is returned:
//
//   - number: ASCII digits only (no spaces, dashes or signs), 12 to 19 of
//     them, with a valid Luhn check digit; else incorrect_number.
//   - exp_month: 1 to 12; else invalid_expiry_month.
//   - exp_year: from now.Year to now.Year+MaxYearsAhead (so four digits; a
//     two-digit year is refused); a past year or one too far ahead gives
//     invalid_expiry_year.
//   - this year with a month already over: invalid_expiry_month. A card is
//     good through the last day of its expiry month, so now's month passes.
//   - cvc: ASCII digits only, 4 of them for amex and 3 for every other
//     brand; else invalid_cvc.
func Parse(number string, expMonth, expYear int64, cvc string, now Month) (Card, *Error) {
	if !allDigits(number) || len(number) < MinDigits || len(number) > MaxDigits || !luhnValid(number) {
		return Card{}, &Error{Code: CodeIncorrectNumber, Message: MsgIncorrectNumber, Param: ParamNumber}
	}
	if expMonth < 1 || expMonth > 12 {
		return Card{}, &Error{Code: CodeInvalidExpiryMonth, Message: MsgInvalidExpiryMonth, Param: ParamExpMonth}
	}
	if expYear < now.Year {
		return Card{}, &Error{Code: CodeInvalidExpiryYear, Message: MsgPastExpiryYear, Param: ParamExpYear}
	}
	if expYear > now.Year+MaxYearsAhead {
		return Card{}, &Error{Code: CodeInvalidExpiryYear, Message: MsgInvalidExpiryYear, Param: ParamExpYear}
	}
	if expYear == now.Year && expMonth < now.Month {
		return Card{}, &Error{Code: CodeInvalidExpiryMonth, Message: MsgPastExpiryMonth, Param: ParamExpMonth}
	}
	brand := BrandOf(number)
	want := 3
	if brand == Amex {
		want = 4
	}
	if len(cvc) != want || !allDigits(cvc) {
		return Card{}, &Error{Code: CodeInvalidCVC, Message: MsgInvalidCVC, Param: ParamCVC}
	}
	return Card{
		Brand:    brand,
		Last4:    number[len(number)-4:],
		ExpMonth: expMonth,
		ExpYear:  expYear,
	}, nil
}

// BrandOf names the brand a number's leading digits (its IIN) belong to:
//
//   - visa: starts with 4
//   - mastercard: first two digits 51–55, or first four 2221–2720
//   - amex: starts with 34 or 37
//   - discover: starts with 6011 or 65, or first three digits 644–649
//   - unknown: anything else (including numbers of other networks)
//
// BrandOf looks only at the prefix; it neither checks the length nor the
// Luhn digit.
func BrandOf(number string) string {
	p2 := prefix(number, 2)
	p3 := prefix(number, 3)
	p4 := prefix(number, 4)
	switch {
	case len(number) >= 1 && number[0] == '4':
		return Visa
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return Mastercard
	case p2 == 34 || p2 == 37:
		return Amex
	case p4 == 6011, p2 == 65, p3 >= 644 && p3 <= 649:
		return Discover
	}
	return Unknown
}

// prefix is the value of the first n characters of s if they are all
// digits, else -1.
func prefix(s string, n int) int {
	if len(s) < n {
		return -1
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int(c-'0')
	}
	return v
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// luhnValid reports whether a string of digits ends in a correct Luhn
// check digit. Counting from the right, the check digit itself is kept as
// is and every second digit before it is doubled, a doubled value above 9
// losing 9 (the same as adding its two digits); the sum must be a multiple
// of ten. The empty string is not valid.
func luhnValid(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// FingerprintBytes is the length of a fingerprint before hex encoding.
const FingerprintBytes = 16

// Fingerprint is the card's keyed fingerprint: the lower-case hex of the
// first 16 bytes of HMAC-SHA256(key, number), 32 characters. The same number
// under the same key always gives the same fingerprint, so two payments with
// one card can be matched without keeping the number; without the key the
// fingerprint reveals nothing about it.
func Fingerprint(key []byte, number string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(number))
	return hex.EncodeToString(m.Sum(nil)[:FingerprintBytes])
}

// Keyed computes HMAC-SHA256 under one fixed key with pooled hash states:
// hmac.New hashes the key's two pads and allocates two SHA-256 states on
// every call, about 5 % of a PaySmart payment's CPU (two HMACs each); a
// Reset state starts from the pads already hashed. Safe for concurrent use.
type Keyed struct{ pool sync.Pool }

// NewKeyed returns a Keyed for a copy of key.
func NewKeyed(key []byte) *Keyed {
	key = bytes.Clone(key)
	return &Keyed{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// Sum appends HMAC-SHA256(key, s) to dst.
func (k *Keyed) Sum(dst []byte, s string) []byte {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	io.WriteString(m, s)
	dst = m.Sum(dst)
	k.pool.Put(m)
	return dst
}

// Fingerprint is Fingerprint(key, number) under k's key.
func (k *Keyed) Fingerprint(number string) string {
	var b [sha256.Size]byte
	return hex.EncodeToString(k.Sum(b[:0], number)[:FingerprintBytes])
}
