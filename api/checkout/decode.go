package checkout

import (
	"bytes"
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"unicode/utf8"

	"ledgerd/api/httpx"
	ck "ledgerd/engine/checkout"
)

// Request limits (the spec's and the issue's, with names).
const (
	maxNameChars          = 200
	maxEmailBytes         = 254
	maxMetadataKeyChars   = 40
	maxMetadataValueChars = 500
)

// createRequest is a decoded POST /payments body. Optional fields are ""
// (Metadata nil) when not sent or null.
type createRequest struct {
	Amount        int64
	Currency      string // "usd"
	ReturnURL     string
	CustomerEmail string
	CustomerName  string
	Metadata      []byte // the compact JSON object, numbers as sent; nil: none
}

// decodeCreate parses and checks a create body: every rule of the spec's
// 400 list is its own error naming the field, the first met wins
// (members in the body's order, then the missing required ones).
func decodeCreate(body []byte) (createRequest, *apiError) {
	var c createRequest
	var have struct{ amount, currency, returnURL bool }
	var fail *apiError
	err := httpx.ReadObject(body, func(key []byte, v httpx.Value) error {
		var e *apiError
		switch string(key) {
		case "amount":
			have.amount = v.Kind != httpx.KindNull
			c.Amount, e = decodeAmount(v, "amount")
		case "currency":
			have.currency = v.Kind != httpx.KindNull
			c.Currency, e = decodeCurrency(v)
		case "return_url":
			have.returnURL = v.Kind != httpx.KindNull
			c.ReturnURL, e = decodeReturnURL(v)
		case "customer_email":
			c.CustomerEmail, e = decodeEmail(v)
		case "customer_name":
			c.CustomerName, e = decodeName(v, "customer_name")
		case "metadata":
			c.Metadata, e = decodeMetadata(v)
		default:
			e = invalid(CodeParameterUnknown, MsgParameterUnknown, string(key))
		}
		if e != nil {
			fail = e
			return e
		}
		return nil
	})
	switch {
	case fail != nil:
		return createRequest{}, fail
	case err != nil:
		return createRequest{}, invalid(CodeInvalidJSON, MsgInvalidJSON, "")
	case !have.amount:
		return createRequest{}, invalid(CodeParameterMissing, MsgParameterMissing, "amount")
	case !have.currency:
		return createRequest{}, invalid(CodeParameterMissing, MsgParameterMissing, "currency")
	case !have.returnURL:
		return createRequest{}, invalid(CodeParameterMissing, MsgParameterMissing, "return_url")
	}
	return c, nil
}

// decodeAmount: an integer literal of cents, 50..MaxAmount ("10000 =
// 0.50" in the spec contradicts its own "in cents"; cents it is).
func decodeAmount(v httpx.Value, param string) (int64, *apiError) {
	if v.Kind == httpx.KindNull {
		return 0, nil
	}
	n, err := httpx.Integer(v, -1<<63, 1<<63-1)
	switch {
	case errors.Is(err, httpx.ErrOutOfRange) && len(v.Raw) > 0 && v.Raw[0] == '-':
		return 0, invalid(CodeAmountTooSmall, MsgAmountTooSmall, param)
	case errors.Is(err, httpx.ErrOutOfRange):
		return 0, invalid(CodeAmountTooLarge, MsgAmountTooLarge, param)
	case err != nil:
		return 0, invalid(CodeInvalidInteger, MsgInvalidInteger, param)
	case n < ck.MinAmount:
		return 0, invalid(CodeAmountTooSmall, MsgAmountTooSmall, param)
	case n > ck.MaxAmount:
		return 0, invalid(CodeAmountTooLarge, MsgAmountTooLarge, param)
	}
	return n, nil
}

// decodeCurrency: "usd" in either case, answered "usd".
func decodeCurrency(v httpx.Value) (string, *apiError) {
	switch {
	case v.Kind == httpx.KindNull:
		return "", nil
	case v.Kind == httpx.KindString && strings.EqualFold(string(v.Str), ck.Currency):
		return ck.Currency, nil
	}
	return "", invalid(CodeCurrencyNotSupported, MsgCurrencyNotSupported, "currency")
}

// decodeReturnURL: an absolute http(s) URL with a host, no user info, no
// spaces or control characters, at most 2048 bytes. It is a browser
// redirect, not a request ledgerd makes: loopback and http are fine.
func decodeReturnURL(v httpx.Value) (string, *apiError) {
	if v.Kind == httpx.KindNull {
		return "", nil
	}
	bad := invalid(CodeURLInvalid, MsgURLInvalid, "return_url")
	if v.Kind != httpx.KindString || len(v.Str) == 0 || len(v.Str) > ck.MaxURL {
		return "", bad
	}
	for _, c := range v.Str {
		if c <= ' ' || c >= 0x7f {
			return "", bad
		}
	}
	s := string(v.Str)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return "", bad
	}
	return s, nil
}

// decodeEmail: an addr-spec (no display name), at most 254 bytes.
func decodeEmail(v httpx.Value) (string, *apiError) {
	if v.Kind == httpx.KindNull {
		return "", nil
	}
	bad := invalid(CodeEmailInvalid, MsgEmailInvalid, "customer_email")
	if v.Kind != httpx.KindString || len(v.Str) == 0 || len(v.Str) > maxEmailBytes {
		return "", bad
	}
	s := string(v.Str)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", bad
	}
	return s, nil
}

// decodeName: 1..200 printable characters; null is none.
func decodeName(v httpx.Value, param string) (string, *apiError) {
	if v.Kind == httpx.KindNull {
		return "", nil
	}
	s, err := httpx.PrintableString(v, maxNameChars)
	if err != nil {
		return "", invalid(CodeInvalidString, MsgInvalidString, param)
	}
	return s, nil
}

// decodeMetadata: an object of at most 50 keys of 1..40 characters whose
// values are strings (at most 500 characters), numbers (kept exactly as
// written) or booleans; its compact JSON at most 5,120 bytes. null is none.
func decodeMetadata(v httpx.Value) ([]byte, *apiError) {
	switch v.Kind {
	case httpx.KindNull:
		return nil, nil
	case httpx.KindObject:
	default:
		return nil, invalid(CodeMetadataInvalid, MsgMetadataInvalid, "metadata")
	}
	out := append(make([]byte, 0, 128), '{')
	keys := 0
	var fail *apiError
	err := v.Object(func(key []byte, v httpx.Value) error {
		keys++
		param := "metadata[" + string(key) + "]"
		if !utf8.Valid(key) {
			param = "metadata"
		}
		switch n := utf8.RuneCount(key); {
		case keys > ck.MaxMetadataKeys:
			fail = invalid(CodeMetadataTooManyKeys, MsgMetadataTooManyKeys, "metadata")
		case n < 1 || n > maxMetadataKeyChars:
			fail = invalid(CodeMetadataKeyInvalid, MsgMetadataKeyInvalid, "metadata")
		}
		if fail != nil {
			return fail
		}
		if keys > 1 {
			out = append(out, ',')
		}
		out = append(appendCompact(out, key), ':')
		switch v.Kind {
		case httpx.KindString:
			if utf8.RuneCount(v.Str) > maxMetadataValueChars {
				fail = invalid(CodeMetadataValueTooLong, MsgMetadataValueTooLong, param)
				return fail
			}
			out = appendCompact(out, v.Str)
		case httpx.KindNumber:
			out = append(out, v.Raw...)
		case httpx.KindTrue:
			out = append(out, "true"...)
		case httpx.KindFalse:
			out = append(out, "false"...)
		default:
			fail = invalid(CodeMetadataValueInvalid, MsgMetadataValueInvalid, param)
			return fail
		}
		return nil
	})
	switch {
	case fail != nil:
		return nil, fail
	case errors.Is(err, httpx.ErrTooDeep): // more members than the reader takes in one object
		return nil, invalid(CodeMetadataTooManyKeys, MsgMetadataTooManyKeys, "metadata")
	case errors.Is(err, httpx.ErrKeyTooLong):
		return nil, invalid(CodeMetadataKeyInvalid, MsgMetadataKeyInvalid, "metadata")
	case err != nil:
		return nil, invalid(CodeInvalidJSON, MsgInvalidJSON, "")
	}
	out = append(out, '}')
	if len(out) > ck.MaxMetadataBytes {
		return nil, invalid(CodeMetadataTooLarge, MsgMetadataTooLarge, "metadata")
	}
	return out, nil
}

// appendCompact appends s as a JSON string with only the escapes JSON
// requires (quote, backslash, control characters): the compact JSON whose
// length the 5 KB rule counts.
func appendCompact(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// refundRequest is a decoded POST /payments/{id}/refund body; Amount 0 is
// everything that is left.
type refundRequest struct{ Amount int64 }

// decodeRefund parses {"amount"?}; an empty body is {}.
func decodeRefund(body []byte) (refundRequest, *apiError) {
	var r refundRequest
	if len(bytes.TrimSpace(body)) == 0 {
		return r, nil
	}
	var fail *apiError
	err := httpx.ReadObject(body, func(key []byte, v httpx.Value) error {
		if string(key) != "amount" {
			fail = invalid(CodeParameterUnknown, MsgParameterUnknown, string(key))
			return fail
		}
		if v.Kind == httpx.KindNull {
			return nil
		}
		n, err := httpx.Integer(v, 1, ck.MaxAmount)
		switch {
		case errors.Is(err, httpx.ErrOutOfRange) && (len(v.Raw) > 0 && v.Raw[0] == '-' || string(v.Raw) == "0"):
			fail = invalid(CodeAmountTooSmall, "A refund amount must be at least 1 cent.", "amount")
		case errors.Is(err, httpx.ErrOutOfRange):
			fail = invalid(CodeAmountTooLarge, MsgAmountTooLarge, "amount")
		case err != nil:
			fail = invalid(CodeInvalidInteger, MsgInvalidInteger, "amount")
		}
		r.Amount = n
		if fail != nil {
			return fail
		}
		return nil
	})
	switch {
	case fail != nil:
		return refundRequest{}, fail
	case err != nil:
		return refundRequest{}, invalid(CodeInvalidJSON, MsgInvalidJSON, "")
	}
	return r, nil
}

// decodeIdempotencyKey reads the header: absent is "", else 1..255
// visible ASCII characters.
func decodeIdempotencyKey(h []byte) (string, *apiError) {
	if h == nil {
		return "", nil
	}
	if len(h) == 0 || len(h) > ck.MaxID {
		return "", errIdemKey
	}
	for _, c := range h {
		if c <= ' ' || c > '~' {
			return "", errIdemKey
		}
	}
	return string(h), nil
}

// listQuery is a decoded GET /payments query.
type listQuery struct {
	Limit         int
	StartingAfter string
	Status        string
}

func decodeList(limit, after, status []byte, hasLimit bool) (listQuery, *apiError) {
	var q listQuery
	if hasLimit {
		n := 0
		for _, c := range limit {
			if c < '0' || c > '9' || n > ck.MaxID {
				n = -1
				break
			}
			n = n*10 + int(c-'0')
		}
		if len(limit) == 0 || n < 1 || n > ck.MaxLimit {
			return q, invalid(CodeInvalidQuery, MsgInvalidLimit, "limit")
		}
		q.Limit = n
	}
	switch s := string(status); s {
	case "", ck.StatusPending, ck.StatusCompleted, ck.StatusFailed, ck.StatusRefunded:
		q.Status = s
	default:
		return q, invalid(CodeInvalidQuery, MsgInvalidStatus, "status")
	}
	if len(after) > ck.MaxID {
		return q, invalid(CodeResourceMissing, MsgInvalidCursor, "starting_after")
	}
	q.StartingAfter = string(after)
	return q, nil
}
