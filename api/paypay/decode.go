package paypay

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// Input limits.
const (
	// MaxCodeChars bounds the "code" member of /validate and /redeem, after
	// normalization. A code of the right length but the wrong format is not
	// a 400: it is looked up and not found.
	MaxCodeChars = 64
	// MaxIdempotencyKeyChars bounds the Idempotency-Key header.
	MaxIdempotencyKeyChars = 255
	// DefaultListLimit and MaxListLimit are the page sizes of
	// GET /redemption_attempts.
	DefaultListLimit = 20
	MaxListLimit     = 100
	// CursorPrefix starts every cursor of GET /redemption_attempts, followed
	// by decimal digits; MaxCursorChars bounds the whole cursor.
	CursorPrefix   = "att_"
	MaxCursorChars = 32
	// maxLimitDigits bounds the digits of ?limit= read before the range
	// check, so a long string of digits cannot overflow.
	maxLimitDigits = 9
)

// Decoding errors. The handler answers each with 400 invalid_body.
var (
	ErrInvalidBody           = errors.New("paypay: invalid body")
	ErrInvalidIdempotencyKey = errors.New("paypay: invalid Idempotency-Key")
	ErrInvalidQuery          = errors.New("paypay: invalid query")
)

// DecodeCode parses the body of /validate and /redeem: one JSON object with
// exactly one member, "code", a string. Unknown or repeated members, a
// missing code, a code that is not a string, a body over httpx.MaxBodyBytes
// and anything that is not strict JSON (httpx.ParseObject) are refused with
// an error wrapping ErrInvalidBody.
//
// Users paste codes, so the code is normalized before any check: ASCII
// white space (space, tab, CR, LF) around it is removed and ASCII letters
// are upper-cased ("  pp-abcd-efgh-jkmn\n" becomes "PP-ABCD-EFGH-JKMN").
// The result must be 1..MaxCodeChars printable characters. Its format is
// not checked here: a well-formed body with an unknown code is a lookup
// that finds nothing (not_found), not a 400.
func DecodeCode(body []byte) (string, error) {
	if len(body) > httpx.MaxBodyBytes {
		return "", fmt.Errorf("%w: body over %d bytes", ErrInvalidBody, httpx.MaxBodyBytes)
	}
	var code string
	var have bool
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		if string(key) != "code" {
			return fmt.Errorf("unknown field %q", key)
		}
		have = true
		if v.Kind != httpx.KindString {
			return errors.New("code must be a string")
		}
		c := normalizeCode(v.Str)
		if !httpx.Printable(c, MaxCodeChars) {
			return fmt.Errorf("code must be 1 to %d printable characters", MaxCodeChars)
		}
		code = string(c)
		return nil
	})
	if err == nil && !have {
		err = errors.New("code is required")
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidBody, err)
	}
	return code, nil
}

// normalizeCode trims ASCII white space and upper-cases ASCII letters. It
// returns a new slice when it changes anything, so it never writes into
// the request body.
func normalizeCode(s []byte) []byte {
	for len(s) > 0 && isASCIISpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isASCIISpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	for i, c := range s {
		if c >= 'a' && c <= 'z' {
			out := append([]byte(nil), s...)
			for j := i; j < len(out); j++ {
				if out[j] >= 'a' && out[j] <= 'z' {
					out[j] -= 'a' - 'A'
				}
			}
			return out
		}
	}
	return s
}

func isASCIISpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// DecodeIdempotencyKey checks the Idempotency-Key header value as returned
// by fasthttp's Header.Peek: nil (header absent) gives ("", false, nil); a
// present value must be 1..MaxIdempotencyKeyChars visible ASCII characters
// (0x21–0x7e), else the error wraps ErrInvalidIdempotencyKey. An empty
// header is present and invalid. The key is copied out of raw.
func DecodeIdempotencyKey(raw []byte) (string, bool, error) {
	if raw == nil {
		return "", false, nil
	}
	if len(raw) == 0 || len(raw) > MaxIdempotencyKeyChars {
		return "", false, fmt.Errorf("%w: must be 1 to %d characters", ErrInvalidIdempotencyKey, MaxIdempotencyKeyChars)
	}
	for _, c := range raw {
		if c < 0x21 || c > 0x7e {
			return "", false, fmt.Errorf("%w: only visible ASCII characters are allowed", ErrInvalidIdempotencyKey)
		}
	}
	return string(raw), true, nil
}

// DecodeListQuery reads GET /redemption_attempts' query: limit (decimal
// digits only, 1..MaxListLimit, default DefaultListLimit) and cursor
// (optional: CursorPrefix followed by one or more decimal digits, at most
// MaxCursorChars in all; "" when absent). Each may appear at most once; a
// parameter given with an empty value is refused. Other parameters are
// ignored, as HTTP caches and client libraries add their own. Errors wrap
// ErrInvalidQuery. The cursor is copied out of args.
func DecodeListQuery(args *fasthttp.Args) (limit int, cursor string, err error) {
	limit = DefaultListLimit
	if raw, ok, err := single(args, "limit"); err != nil {
		return 0, "", err
	} else if ok {
		if limit, err = parseLimit(raw); err != nil {
			return 0, "", err
		}
	}
	if raw, ok, err := single(args, "cursor"); err != nil {
		return 0, "", err
	} else if ok {
		if !ValidCursor(raw) {
			return 0, "", fmt.Errorf("%w: cursor is not one this API returned", ErrInvalidQuery)
		}
		cursor = string(raw)
	}
	return limit, cursor, nil
}

// single returns the only value of the query parameter name.
func single(args *fasthttp.Args, name string) ([]byte, bool, error) {
	if !args.Has(name) {
		return nil, false, nil
	}
	vals := args.PeekMulti(name)
	if len(vals) != 1 {
		return nil, false, fmt.Errorf("%w: %s given more than once", ErrInvalidQuery, name)
	}
	return vals[0], true, nil
}

func parseLimit(raw []byte) (int, error) {
	bad := fmt.Errorf("%w: limit must be an integer from 1 to %d", ErrInvalidQuery, MaxListLimit)
	if len(raw) == 0 || len(raw) > maxLimitDigits {
		return 0, bad
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 1 || n > MaxListLimit {
		return 0, bad
	}
	return n, nil
}

// ValidCursor reports whether s has a cursor's form: CursorPrefix and one or
// more decimal digits, at most MaxCursorChars in all.
func ValidCursor(s []byte) bool {
	if len(s) <= len(CursorPrefix) || len(s) > MaxCursorChars || string(s[:len(CursorPrefix)]) != CursorPrefix {
		return false
	}
	for _, c := range s[len(CursorPrefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
