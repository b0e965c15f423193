package paysmart

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors/outbox"
	aps "ledgerd/actors/paysmart"
	"ledgerd/api/cards"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

var fixedNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

var endpointSeeds = []struct{ contentType, body string }{
	{"application/json", `{"url":"https://hooks.example/h","enabled_events":["payment.succeeded","refund.created","payment.succeeded"],"description":"d"}`},
	{"application/json", `{"url":"http://127.0.0.1:9/h","enabled_events":["*"],"disabled":true}`},
	{"application/json", `{"url":"https://u:p@a.example/","enabled_events":[]}`},
	{"application/json", `{"enabled_events":"*","disabled":"yes"}`},
	{"application/x-www-form-urlencoded", `url=https://a.example/x&enabled_events[]=payment.failed&enabled_events[]=*`},
	{"application/x-www-form-urlencoded", `url=https://a.example/x&enabled_events[0]=customer.created&enabled_events[2]=x&disabled=false`},
	{"application/x-www-form-urlencoded", `description=&url=`},
}

// FuzzDecodeEndpoint: what the webhook endpoint decoder accepts (create
// and update, strict and insecure URL policy) is within the engine's
// limits: a URL the outbox policy allows, sorted known event types (or
// "*" alone), at most 16 of them.
func FuzzDecodeEndpoint(f *testing.F) {
	for _, s := range endpointSeeds {
		f.Add(s.contentType, []byte(s.body), true, false)
		f.Add(s.contentType, []byte(s.body), false, true)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, create, insecure bool) {
		n, err := parseBody([]byte(contentType), body)
		if err != nil {
			return
		}
		a := &API{allowInsecure: insecure}
		e, derr := a.decodeEndpoint(n, create)
		if derr != nil {
			if derr.status != 400 || derr.code == "" || derr.message == "" {
				t.Fatalf("refusal %+v", derr)
			}
			return
		}
		if create && (e.url == nil || e.events == nil || e.disabled != nil) {
			t.Fatalf("create accepted without url or events, or with disabled: %q", body)
		}
		if e.url != nil && (len(*e.url) > ps.MaxURL || outbox.CheckURL(*e.url, insecure) != nil) {
			t.Fatalf("url %q accepted", *e.url)
		}
		if e.description != nil && len(*e.description) > ps.MaxText {
			t.Fatalf("description of %d bytes", len(*e.description))
		}
		if e.events != nil {
			if len(e.events) == 0 || len(e.events) > ps.MaxEndpointEvents || !slices.IsSorted(e.events) ||
				(slices.Contains(e.events, ps.AllEvents) && len(e.events) != 1) {
				t.Fatalf("events %q", e.events)
			}
			for i, ev := range e.events {
				if ev != ps.AllEvents && !slices.Contains(ps.EventTypes, ev) || (i > 0 && e.events[i-1] == ev) {
					t.Fatalf("events %q", e.events)
				}
			}
		}
	})
}

// FuzzDecodeMethodCreate: POST /payment_methods' decoder accepts only
// card details within their bounds, and a card that fails validation is
// refused with its card[…] parameter (the prefix is cut without a panic).
func FuzzDecodeMethodCreate(f *testing.F) {
	f.Add("application/json", []byte(`{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}`))
	f.Add("application/x-www-form-urlencoded", []byte(`type=card&card[number]=4242424242424241&card[exp_month]=13&card[exp_year]=2030&card[cvc]=1`))
	f.Add("application/json", []byte(`{"type":"sepa","card":null}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		n, err := parseBody([]byte(contentType), body)
		if err != nil {
			return
		}
		in, derr := decodeMethodCreate(n)
		if derr != nil {
			if derr.status != 400 || derr.code == "" {
				t.Fatalf("refusal %+v", derr)
			}
			return
		}
		if in.number == "" || len(in.number) > 64 || in.cvc == "" || len(in.cvc) > 16 || in.expMonth < 0 || in.expYear < 0 {
			t.Fatalf("accepted %+v", in)
		}
		c := &call{auth: aps.Auth{Account: "acct_f"}, now: fixedNow}
		if _, _, cerr := (&API{key: []byte("k"), mac: cards.NewKeyed([]byte("k"))}).tokenize(c, &in, ""); cerr != nil &&
			(cerr.status != 402 || !strings.HasPrefix(cerr.param, "card[") || strings.Contains(cerr.param, "payment_method")) {
			t.Fatalf("card refusal %+v", cerr)
		}
	})
}

// FuzzDecodeQuery: a list query the decoder accepts is one the engine's
// list takes (no ErrBadQuery), within the limits, with an inclusive
// created range of milliseconds.
func FuzzDecodeQuery(f *testing.F) {
	for _, q := range []string{"limit=3&starting_after=pay_1", "limit=0", "limit=101", "ending_before=pay_1&starting_after=pay_2",
		"created=1700000000", "created[gt]=1&created[gte]=5&created[lt]=9&created[lte]=7", "created[lt]=0", "created[x]=1",
		"customer=cus_1&payment=pay_1&type=refund.created", "limit[]=1", "created[gt][x]=1", "%ff=1"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/paysmart/v2/payments?" + query)
		c := &call{ctx: &ctx, auth: aps.Auth{Account: "acct_f"}}
		q, derr := decodeQuery(c, "customer", "payment", "type")
		if derr != nil {
			if derr.status != 400 || derr.code == "" || derr.message == "" {
				t.Fatalf("refusal %+v", derr)
			}
			return
		}
		if q.Limit < 0 || q.Limit > ps.MaxLimit || (q.StartingAfter != "" && q.EndingBefore != "") || q.CreatedFromMs < 0 ||
			len(q.StartingAfter) > ps.MaxID || len(q.EndingBefore) > ps.MaxID || len(q.Customer) > ps.MaxID || q.Owner.Account != "acct_f" {
			t.Fatalf("%q accepted as %+v", query, q)
		}
		if q.CreatedToMs < -1 || (q.CreatedToMs > 0 && q.CreatedToMs%1000 != 999) || q.CreatedFromMs%1000 != 0 {
			t.Fatalf("%q: created range %d..%d", query, q.CreatedFromMs, q.CreatedToMs)
		}
		if _, _, err := ps.ListPayments(engine.NewState(), q); err != nil && err != ps.ErrNoSuchCursor {
			t.Fatalf("%q accepted as %+v, the engine says %v", query, q, err)
		}
	})
}
