package paysmart

import (
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// The receipt page of a payment, at receipt_url: public (the token is the
// only credential: 32 random base62 characters), HTML, no script.
var receiptPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt {{.ID}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
dl{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem}dt{color:#555}.mode{color:#8a4b00}</style></head>
<body><main><h1>Receipt</h1>{{if .Test}}<p class="mode">Test mode: no money moved.</p>{{end}}
<dl><dt>Amount</dt><dd>{{.Amount}}</dd><dt>Status</dt><dd>{{.Status}}</dd>
{{if .Refunded}}<dt>Refunded</dt><dd>{{.Refunded}}</dd>{{end}}
<dt>Card</dt><dd>{{.Brand}} ending in {{.Last4}}</dd>
{{if .Description}}<dt>Description</dt><dd>{{.Description}}</dd>{{end}}
<dt>Date</dt><dd>{{.Date}}</dd><dt>Payment</dt><dd>{{.ID}}</dd></dl></main></body></html>
`))

type receiptData struct {
	ID, Amount, Status, Refunded, Brand, Last4, Description, Date string
	Test                                                          bool
}

// money writes minor units with two decimals and the currency code.
func money(minor int64, currency string) string {
	s := strconv.FormatInt(minor/100, 10) + "." + strconv.FormatInt(100+minor%100, 10)[1:]
	return s + " " + strings.ToUpper(currency)
}

func (a *API) receipt(ctx *fasthttp.RequestCtx) {
	token := pathID(ctx, "token")
	var v ps.PaymentView
	var ok bool
	a.sys.ReadState(func(st *engine.State) { v, ok = ps.PaymentByReceipt(st, token) })
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	if !ok || len(token) != ReceiptTokenChars {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("No such receipt.\n")
		return
	}
	p := &v.Payment
	d := receiptData{ID: p.ID, Amount: money(p.Amount, p.Currency), Status: p.Status, Brand: v.Method.Card.Brand,
		Last4: v.Method.Card.Last4, Description: p.Description, Test: !p.Live,
		Date: time.UnixMilli(p.CreatedMs).UTC().Format("2 January 2006, 15:04 UTC")}
	if p.AmountRefunded > 0 {
		d.Refunded = money(p.AmountRefunded, p.Currency)
	}
	var sb strings.Builder
	if err := receiptPage.Execute(&sb, d); err != nil {
		ctx.SetStatusCode(fasthttp.StatusInternalServerError)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(sb.String())
}
