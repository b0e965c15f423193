package paysmart

import (
	"bytes"
	"slices"
	"testing"
	"unicode/utf8"

	ps "ledgerd/engine/paysmart"
)

var bodySeeds = []struct{ contentType, body string }{
	{"application/json", `{"amount":2000,"currency":"usd","payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}},"customer":"cus_1","description":"d","metadata":{"k":"v"}}`},
	{"application/json", `{"amount":2000,"currency":"usd","payment_method":"pm_1"}`},
	{"application/json", `{"amount":20.5}`},
	{"application/json", `{"metadata":{"a":null,"b":""}}`},
	{"application/json", `[1]`},
	{"application/json", `{"a":1,"a":2}`},
	{"application/x-www-form-urlencoded", `amount=2000&currency=usd&payment_method[type]=card&payment_method[card][number]=4242424242424242&payment_method[card][exp_month]=12&payment_method[card][exp_year]=2030&payment_method[card][cvc]=123`},
	{"application/x-www-form-urlencoded", `enabled_events[]=payment.succeeded&enabled_events[]=refund.created`},
	{"application/x-www-form-urlencoded", `enabled_events[0]=a&enabled_events[1]=b&metadata[k]=v&metadata=`},
	{"application/x-www-form-urlencoded", `a[b]=1&a=2`},
	{"application/x-www-form-urlencoded", `a]=1&[b=2&a[[b]]=3&a[]b=4`},
	{"", `amount=2000&currency=usd`},
	{"text/plain", `amount=1`},
	{"application/json", ``},
}

// FuzzParseBody: parseBody never panics; what it accepts has valid UTF-8
// keys and strings, depth within the limits, and a canonical form that
// does not depend on member order.
func FuzzParseBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		n, err := parseBody([]byte(contentType), body)
		if err != nil {
			return
		}
		if n.kind != nObject {
			t.Fatalf("root %v", n.kind)
		}
		checkTree(t, n, 1)
		c1 := canonical(nil, n)
		rev := *n
		rev.members = slices.Clone(n.members)
		slices.Reverse(rev.members)
		if !bytes.Equal(c1, canonical(nil, &rev)) {
			t.Fatalf("canonical depends on order: %s", c1)
		}
	})
}

func checkTree(t *testing.T, n *node, depth int) {
	if depth > 16 {
		t.Fatalf("depth %d", depth)
	}
	if !utf8.ValidString(n.text) {
		t.Fatalf("invalid UTF-8 %q", n.text)
	}
	for _, m := range n.members {
		if !utf8.ValidString(m.key) {
			t.Fatalf("invalid UTF-8 key %q", m.key)
		}
		checkTree(t, m.val, depth+1)
	}
	for _, it := range n.items {
		checkTree(t, it, depth+1)
	}
}

// FuzzDecodePaymentCreate: an accepted create is within every limit the
// engine's validation holds it to.
func FuzzDecodePaymentCreate(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		n, err := parseBody([]byte(contentType), body)
		if err != nil {
			return
		}
		p, perr := decodePaymentCreate(n)
		if perr != nil {
			if perr.status != 400 || perr.code == "" || perr.message == "" {
				t.Fatalf("refusal %+v", perr)
			}
			return
		}
		if p.amount < ps.MinAmount || p.amount > ps.MaxAmount || !slices.Contains(ps.Currencies, p.currency) ||
			(p.method.card == nil) == (p.method.id == "") || len(p.description) > ps.MaxText || len(p.metadata) > ps.MaxMetadataKeys {
			t.Fatalf("accepted %q as %+v", body, p)
		}
		for _, kv := range p.metadata {
			if kv.Key == "" || len(kv.Key) > ps.MaxMetadataKey || len(kv.Value) > ps.MaxMetadataValue || kv.Value == "" {
				t.Fatalf("metadata %+v", kv)
			}
		}
	})
}

func TestFormPath(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"a", []string{"a"}}, {"a[b]", []string{"a", "b"}}, {"a[b][c]", []string{"a", "b", "c"}}, {"a[]", []string{"a", ""}},
		{"a[", nil}, {"[a]", nil}, {"a]", nil}, {"a[b]c", nil}, {"a[[b]]", nil}, {"", nil},
	} {
		got, err := formPath([]byte(c.in))
		if (err != nil) != (c.want == nil) || !slices.Equal(got, c.want) {
			t.Errorf("formPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestCanonical_EncodingsAgree(t *testing.T) {
	j, err1 := parseBody([]byte("application/json"), []byte(`{"b":{"y":"2","x":"1"},"a":5}`))
	f, err2 := parseBody([]byte("application/x-www-form-urlencoded"), []byte(`a=5&b[x]=1&b[y]=2`))
	if err1 != nil || err2 != nil || !bytes.Equal(canonical(nil, j), canonical(nil, f)) {
		t.Fatalf("%v %v: %s vs %s", err1, err2, canonical(nil, j), canonical(nil, f))
	}
}

var moreSeeds = []struct{ contentType, body string }{
	{"application/json", `{"payment":"pay_1","amount":500,"reason":"duplicate"}`},
	{"application/x-www-form-urlencoded", `payment=pay_1&reason=`},
	{"application/json", `{"email":"a@b.c","name":"N","phone":"1","address":{"line1":"1","city":"c","country":"US"},"metadata":{"k":"v"}}`},
	{"application/json", `{"address":null,"metadata":"","description":null}`},
	{"application/x-www-form-urlencoded", `address[line1]=x&metadata[a]=&email=x@y.z`},
	{"application/json", `{"description":"d","customer":"cus_1","metadata":{"a":null}}`},
}

// FuzzDecodeRefundCustomerUpdate: what the refund, customer and payment
// update decoders accept is within the engine's limits.
func FuzzDecodeRefundCustomerUpdate(f *testing.F) {
	for _, s := range append(slices.Clone(bodySeeds), moreSeeds...) {
		f.Add(s.contentType, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		n, err := parseBody([]byte(contentType), body)
		if err != nil {
			return
		}
		if r, err := decodeRefundCreate(n); err == nil {
			if r.amount < 0 || r.amount > ps.MaxAmount || !slices.Contains(ps.Reasons, r.reason) || len(r.payment) <= len(ps.PrefixPayment) {
				t.Fatalf("refund %+v", r)
			}
		}
		if c, err := decodeCustomer(n); err == nil {
			for _, s := range []*string{c.email, c.name, c.phone, c.description} {
				if s != nil && len(*s) > ps.MaxText {
					t.Fatalf("customer field of %d bytes", len(*s))
				}
			}
			if c.address != nil && c.clearAddress {
				t.Fatal("address set and cleared")
			}
		}
		if u, err := decodePaymentUpdate(n); err == nil && u.description != nil && len(*u.description) > ps.MaxText {
			t.Fatalf("update %+v", u)
		}
	})
}
