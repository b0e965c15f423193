package httpx

import (
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// JSON is a response body built by appending: no reflection, no maps.
//
//	b := httpx.Object(buf).Str("userId", u).Int("balance", n).Close()
type JSON struct{ b []byte }

// Object starts a JSON object in dst.
func Object(dst []byte) JSON { return JSON{b: append(dst, '{')} }

func (j JSON) key(k string) JSON {
	if j.b[len(j.b)-1] != '{' {
		j.b = append(j.b, ',')
	}
	j.b = append(j.b, '"')
	j.b = append(j.b, k...) // keys are constants: no escaping needed
	j.b = append(j.b, '"', ':')
	return j
}

// Str appends a string member.
func (j JSON) Str(k, v string) JSON {
	j = j.key(k)
	j.b = AppendString(j.b, v)
	return j
}

// Int appends an integer member.
func (j JSON) Int(k string, v int64) JSON {
	j = j.key(k)
	j.b = strconv.AppendInt(j.b, v, 10)
	return j
}

// Bool appends a boolean member.
func (j JSON) Bool(k string, v bool) JSON {
	j = j.key(k)
	j.b = strconv.AppendBool(j.b, v)
	return j
}

// Close ends the object and returns the bytes.
func (j JSON) Close() []byte { return append(j.b, '}') }

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string, escaping what JSON requires and
// the HTML-sensitive <, >, & so a body is safe to embed.
func AppendString(dst []byte, s string) []byte { return appendString(dst, s, true) }

// AppendStringPlain is AppendString without the HTML escapes: quote,
// backslash, control characters and U+2028/U+2029 only, so a text grows
// at most twice (PaySmart's stored answers must fit their record).
func AppendStringPlain(dst []byte, s string) []byte { return appendString(dst, s, false) }

// appendString writes s quoted; invalid UTF-8 becomes U+FFFD.
func appendString(dst []byte, s string, html bool) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20 || html && (c == '<' || c == '>' || c == '&'):
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// Reply writes a JSON body with a status code.
func Reply(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
