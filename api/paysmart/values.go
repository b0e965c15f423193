package paysmart

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"ledgerd/api/httpx"
	ps "ledgerd/engine/paysmart"
)

// Readers of one parameter value, shared by every route decoder. Each
// names the parameter it refuses (param, Stripe's form spelling:
// payment_method[card][number]).

func name(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "[" + key + "]"
}

// known refuses the first member of object n not in allowed, and a value
// of n that is not an object.
func known(n *node, prefix string, allowed ...string) *apiError {
	if n.kind != nObject {
		return invalid(CodeParameterInvalid, MsgParameterInvalid, prefix)
	}
	for _, m := range n.members {
		if !slices.Contains(allowed, m.key) {
			return invalid(CodeParameterUnknown, MsgParameterUnknown, name(prefix, m.key))
		}
	}
	return nil
}

// text reads an optional string of at most maxBytes printable characters:
// absent → ("", false); null or "" → ("", true), a value that clears.
func text(n *node, param string, maxBytes int) (string, bool, *apiError) {
	switch {
	case n == nil:
		return "", false, nil
	case n.kind == nNull:
		return "", true, nil
	case n.kind != nString:
		return "", false, invalid(CodeParameterString, MsgParameterString, param)
	case len(n.text) > maxBytes || !printable(n.text, maxBytes):
		return "", false, invalid(CodeParameterString, MsgParameterString, param)
	}
	return n.text, true, nil
}

// required reads a required non-empty string.
func required(n *node, param string, maxBytes int) (string, *apiError) {
	s, _, err := text(n, param, maxBytes)
	switch {
	case err != nil:
		return "", err
	case n == nil:
		return "", missing(param)
	case s == "":
		return "", invalid(CodeParameterEmpty, MsgParameterEmpty, param)
	}
	return s, nil
}

// printable: valid UTF-8 without control characters (tabs and newlines
// allowed in free text), at most maxBytes; "" is printable.
func printable(s string, maxBytes int) bool {
	if len(s) > maxBytes || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' && r != '\r' {
			return false
		}
	}
	return true
}

// integer reads an optional integer in [minimum, maximum] (JSON number
// literal, or form digits), refusing with tooSmall/tooLarge when given.
func integer(n *node, param string, minimum, maximum int64, tooSmall, tooLarge *apiError) (int64, bool, *apiError) {
	if n == nil {
		return 0, false, nil
	}
	bad := invalid(CodeParameterInteger, MsgParameterInteger, param)
	if n.kind != nNumber && !(n.kind == nString && n.form) {
		return 0, false, bad
	}
	v, err := httpx.Integer(httpx.Value{Kind: httpx.KindNumber, Raw: []byte(n.text)}, -1<<62, 1<<62)
	if err != nil {
		return 0, false, bad
	}
	switch {
	case v < minimum && tooSmall != nil:
		return 0, false, tooSmall
	case v > maximum && tooLarge != nil:
		return 0, false, tooLarge
	case v < minimum || v > maximum:
		return 0, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
	}
	return v, true, nil
}

// boolean reads an optional true or false.
func boolean(n *node, param string) (bool, bool, *apiError) {
	if n == nil {
		return false, false, nil
	}
	if n.kind == nBool || (n.kind == nString && n.form && (n.text == "true" || n.text == "false")) {
		return n.text == "true", true, nil
	}
	return false, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
}

// id reads an optional object id with prefix: absent → ("", false); null
// or "" → ("", true).
func id(n *node, param, prefix string) (string, bool, *apiError) {
	s, set, err := text(n, param, ps.MaxID)
	if err != nil {
		return "", false, err
	}
	if s != "" && (!strings.HasPrefix(s, prefix) || len(s) == len(prefix) || strings.ContainsAny(s, " \t\r\n/")) {
		return "", false, notFound(param) // a malformed id names no object
	}
	return s, set, nil
}

// metadata reads a metadata object: up to 50 keys of at most 40 bytes,
// string values of at most 500; a value null or "" is a deletion (dropped
// on create). The metadata itself null or "" clears it (on update).
func metadata(n *node) (md []ps.KV, clear bool, err *apiError) {
	const param = "metadata"
	if n == nil {
		return nil, false, nil
	}
	if n.kind == nNull || (n.kind == nString && n.text == "") {
		return nil, true, nil
	}
	if n.kind != nObject {
		return nil, false, invalid(CodeParameterInvalid, MsgMetadataKeys, param)
	}
	if len(n.members) > ps.MaxMetadataKeys {
		return nil, false, invalid(CodeParameterInvalid, MsgMetadataKeys, param)
	}
	for _, m := range n.members {
		p := name(param, m.key)
		if m.key == "" || len(m.key) > ps.MaxMetadataKey || !printable(m.key, ps.MaxMetadataKey) || strings.ContainsAny(m.key, "[]") {
			return nil, false, invalid(CodeParameterInvalid, MsgMetadataKeys, p)
		}
		v, _, err := text(m.val, p, ps.MaxMetadataValue)
		if err != nil {
			return nil, false, invalid(CodeParameterInvalid, MsgMetadataKeys, p)
		}
		md = append(md, ps.KV{Key: m.key, Value: v})
	}
	slices.SortFunc(md, func(a, b ps.KV) int { return strings.Compare(a.Key, b.Key) })
	return md, false, nil
}

// nonEmpty drops deletions: the metadata of a new object.
func nonEmpty(md []ps.KV) []ps.KV {
	out := md[:0:0]
	for _, kv := range md {
		if kv.Value != "" {
			out = append(out, kv)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// list reads an array of strings (JSON array, form a[]=x or a[0]=x).
func list(n *node, param string, maxItems, maxBytes int) ([]string, bool, *apiError) {
	if n == nil {
		return nil, false, nil
	}
	var items []*node
	switch n.kind {
	case nArray:
		items = n.items
	case nObject: // a[0]=x&a[1]=y
		for i, m := range n.members {
			if m.key != itoa(i) {
				return nil, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
			}
			items = append(items, m.val)
		}
	default:
		return nil, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
	}
	if len(items) > maxItems {
		return nil, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, _, err := text(it, param, maxBytes)
		if err != nil || it.kind == nNull {
			return nil, false, invalid(CodeParameterInvalid, MsgParameterInvalid, param)
		}
		out = append(out, s)
	}
	return out, true, nil
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
