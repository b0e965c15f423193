package paysmart

import (
	"bytes"
	"errors"
	"mime"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
)

// Request parameters arrive as JSON (Content-Type: application/json, the
// spec's examples) or as Stripe's form encoding
// (application/x-www-form-urlencoded: amount=2000&payment_method[card][number]=…&metadata[k]=v,
// arrays as enabled_events[]=a&enabled_events[]=b or enabled_events[0]=a).
// Both become one tree of params, which the route decoders (decode.go)
// read with the same rules; a form value is a string that may also be
// read as an integer or a boolean.

// Body errors.
var (
	ErrContentType = errors.New("paysmart: content type is neither application/json nor application/x-www-form-urlencoded")
	ErrFormKey     = errors.New("paysmart: malformed form parameter name")
	ErrFormTwice   = errors.New("paysmart: form parameter given twice or as both a value and an object")
	ErrFormLimits  = errors.New("paysmart: too many form parameters or nesting too deep")
)

// Form limits (JSON has httpx.ReadObject's).
const (
	MaxFormParams = 512
	MaxFormDepth  = httpx.MaxDepth
	MaxFormKey    = 512 // bytes of one parameter name, brackets included
)

type nodeKind uint8

const (
	nString nodeKind = iota + 1 // a JSON string, or any form value
	nNumber                     // a JSON number, as written
	nBool                       // a JSON true or false ("true"/"false")
	nNull                       // JSON null
	nObject
	nArray
)

// node is one parameter value.
type node struct {
	kind    nodeKind
	text    string // string, number or boolean text
	form    bool   // a form value: a string that may be read as integer or boolean
	members []member
	items   []*node
}

type member struct {
	key string
	val *node
}

// get is the member key of an object node, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != nObject {
		return nil
	}
	for i := range n.members {
		if n.members[i].key == key {
			return n.members[i].val
		}
	}
	return nil
}

// parseBody reads the request's parameters: JSON or form by Content-Type
// (no Content-Type with a body: form, curl's default). An empty body is an
// empty object.
func parseBody(contentType, body []byte) (*node, error) {
	mt := ""
	if len(contentType) > 0 {
		var err error
		if mt, _, err = mime.ParseMediaType(string(contentType)); err != nil {
			return nil, ErrContentType
		}
	}
	switch {
	case len(bytes.TrimSpace(body)) == 0 && mt != "application/json":
		return &node{kind: nObject}, nil
	case mt == "application/json":
		return parseJSON(body)
	case mt == "" || mt == "application/x-www-form-urlencoded":
		return parseForm(body)
	}
	return nil, ErrContentType
}

// parseJSON reads one JSON object into a tree (strings copied).
func parseJSON(body []byte) (*node, error) {
	root := &node{kind: nObject}
	err := httpx.ReadObject(body, func(key []byte, v httpx.Value) error {
		return addJSON(root, string(key), v)
	})
	if err != nil {
		return nil, err
	}
	return root, nil
}

func addJSON(obj *node, key string, v httpx.Value) error {
	n, err := jsonNode(v)
	if err != nil {
		return err
	}
	obj.members = append(obj.members, member{key: key, val: n})
	return nil
}

func jsonNode(v httpx.Value) (*node, error) {
	switch v.Kind {
	case httpx.KindString:
		return &node{kind: nString, text: string(v.Str)}, nil
	case httpx.KindNumber:
		return &node{kind: nNumber, text: string(v.Raw)}, nil
	case httpx.KindTrue:
		return &node{kind: nBool, text: "true"}, nil
	case httpx.KindFalse:
		return &node{kind: nBool, text: "false"}, nil
	case httpx.KindNull:
		return &node{kind: nNull}, nil
	case httpx.KindObject:
		n := &node{kind: nObject}
		return n, v.Object(func(key []byte, v httpx.Value) error { return addJSON(n, string(key), v) })
	case httpx.KindArray:
		n := &node{kind: nArray}
		return n, v.Array(func(_ int, v httpx.Value) error {
			item, err := jsonNode(v)
			if err == nil {
				n.items = append(n.items, item)
			}
			return err
		})
	}
	return nil, httpx.ErrSyntax
}

// parseForm reads a form body. Names are a[b][c]; a[] appends to an array.
func parseForm(body []byte) (*node, error) {
	var args fasthttp.Args
	args.ParseBytes(body)
	if args.Len() > MaxFormParams {
		return nil, ErrFormLimits
	}
	root := &node{kind: nObject}
	var err error
	args.VisitAll(func(k, v []byte) {
		if err == nil {
			err = addForm(root, k, string(v))
		}
	})
	if err != nil {
		return nil, err
	}
	return root, nil
}

// formPath splits a[b][c] into a, b, c ("" for []).
func formPath(k []byte) ([]string, error) {
	if len(k) == 0 || len(k) > MaxFormKey {
		return nil, ErrFormKey
	}
	i := bytes.IndexByte(k, '[')
	if i == 0 {
		return nil, ErrFormKey
	}
	if i < 0 {
		if bytes.IndexByte(k, ']') >= 0 {
			return nil, ErrFormKey
		}
		return []string{string(k)}, nil
	}
	path := []string{string(k[:i])}
	rest := k[i:]
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, ']')
		if rest[0] != '[' || end < 0 || bytes.IndexByte(rest[1:end], '[') >= 0 {
			return nil, ErrFormKey
		}
		path = append(path, string(rest[1:end]))
		rest = rest[end+1:]
		if len(path) > MaxFormDepth {
			return nil, ErrFormLimits
		}
	}
	return path, nil
}

func addForm(root *node, k []byte, v string) error {
	path, err := formPath(k)
	if err != nil {
		return err
	}
	if !utf8Valid(v) || slices.ContainsFunc(path, func(s string) bool { return !utf8Valid(s) }) {
		return ErrFormKey
	}
	cur := root
	for i, seg := range path {
		last := i == len(path)-1
		if seg == "" { // a[]: append
			if cur.kind != nArray {
				return ErrFormTwice
			}
			if !last {
				return ErrFormKey // a[][b] is not supported
			}
			cur.items = append(cur.items, &node{kind: nString, text: v, form: true})
			return nil
		}
		if cur.kind != nObject {
			return ErrFormTwice
		}
		next := cur.get(seg)
		switch {
		case last && next != nil:
			return ErrFormTwice
		case last:
			cur.members = append(cur.members, member{key: seg, val: &node{kind: nString, text: v, form: true}})
			return nil
		case next == nil:
			kind := nObject
			if path[i+1] == "" {
				kind = nArray
			}
			next = &node{kind: kind}
			cur.members = append(cur.members, member{key: seg, val: next})
		}
		cur = next
	}
	return nil
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// canonical appends a form of n in which equivalent requests are equal:
// object members sorted by key, scalars as their text, whatever the
// encoding they came in.
func canonical(b []byte, n *node) []byte {
	switch n.kind {
	case nObject:
		ms := slices.Clone(n.members)
		slices.SortFunc(ms, func(x, y member) int { return strings.Compare(x.key, y.key) })
		b = append(b, '{')
		for _, m := range ms {
			b = httpx.AppendString(b, m.key)
			b = append(b, ':')
			b = canonical(b, m.val)
			b = append(b, ',')
		}
		return append(b, '}')
	case nArray:
		b = append(b, '[')
		for _, it := range n.items {
			b = canonical(b, it)
			b = append(b, ',')
		}
		return append(b, ']')
	case nNull:
		return append(b, 'n')
	}
	return httpx.AppendString(b, n.text)
}
