package paysmart

import (
	"strconv"

	"ledgerd/api/httpx"
)

// jw appends a JSON document: objects and arrays opened and closed in
// order, commas placed by looking at the last byte written. Keys written
// with key are constants of this package (no escaping needed); anything
// from a request (string values, metadata keys) is escaped by
// appendString.
type jw struct{ b []byte }

// jwSize is a new document's first buffer: a payment with its card and
// some metadata fits, so it is one allocation instead of the seven or
// eight that appending to an empty slice grows through (4 % of the CPU of
// a paysmart-payment profile was that growth).
const jwSize = 1024

func newJW() jw { return jw{b: make([]byte, 0, jwSize)} }

func (w *jw) sep() {
	if n := len(w.b); n > 0 {
		switch w.b[n-1] {
		case '{', '[', ':':
		default:
			w.b = append(w.b, ',')
		}
	}
}

func (w *jw) key(k string) {
	w.sep()
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *jw) open()       { w.sep(); w.b = append(w.b, '{') }
func (w *jw) close()      { w.b = append(w.b, '}') }
func (w *jw) openArray()  { w.sep(); w.b = append(w.b, '[') }
func (w *jw) closeArray() { w.b = append(w.b, ']') }

// value writers for array elements
func (w *jw) strValue(v string) { w.sep(); w.b = appendString(w.b, v) }

func (w *jw) str(k, v string) { w.key(k); w.b = appendString(w.b, v) }

// member writes a member whose key came from a request (a metadata key):
// escaped like a value.
func (w *jw) member(k, v string) {
	w.sep()
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
	w.b = appendString(w.b, v)
}

// strOrNull writes null for "": an optional field not set.
func (w *jw) strOrNull(k, v string) {
	if v == "" {
		w.null(k)
		return
	}
	w.str(k, v)
}

func (w *jw) int(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) bool(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null(k string)         { w.key(k); w.b = append(w.b, "null"...) }

// raw writes a member whose value is already JSON.
func (w *jw) raw(k string, v []byte) { w.key(k); w.b = append(w.b, v...) }

// rawValue writes an array element that is already JSON.
func (w *jw) rawValue(v []byte) { w.sep(); w.b = append(w.b, v...) }

// appendString appends s as a JSON string, escaping only what JSON needs
// (quote, backslash, control characters; U+2028 and U+2029 for
// JavaScript): at most twice the bytes of a text the decoders accept
// (they refuse control characters but tab, CR and LF), so every object
// within the documented limits renders within paysmart.MaxBody. Invalid
// UTF-8 (never accepted) becomes U+FFFD.
func appendString(dst []byte, s string) []byte { return httpx.AppendStringPlain(dst, s) }
