package paychat

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"strings"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// PagePath is where payment_url points: ledgerd's own pay page, standing
// in for the Telegram bot (https://t.me/paychat_aibot?start=<link_id>).
const PagePath = "/paychat/pay"

// PageModule serves the pay page: GET shows the payment; POST pays it as
// a Telegram id (optionally funding that payer first with a sandbox
// deposit), only under the development flag.
func PageModule(sys *actors.System, cfg Config) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "paychat-page", Base: PagePath, RequestError: writeRequestError,
		NotFound: notFound, MethodNotAllowed: methodNotAllowed,
		Routes: func(r *httpx.Router) {
			r.GET(PagePath+"/{link_id}", a.showPage)
			r.POST(PagePath+"/{link_id}", a.payPage)
			r.GET(PagePath+"/openapi.json", func(ctx *fasthttp.RequestCtx) { reply(ctx, fasthttp.StatusOK, pageOpenAPIDocument) })
		}}
}

var pageTemplate = template.Must(template.New("pay").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PAYchat payment {{.Link}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
.amount{font-size:2rem;font-weight:600}.status{padding:.2rem .5rem;border-radius:.3rem;background:#eee}
.error{color:#b00020}.ok{color:#1b5e20}label{display:block;margin:.6rem 0}</style></head>
<body><h1>PAYchat</h1>
{{if .Message}}<p class="{{.MessageClass}}" id="message">{{.Message}}</p>{{end}}
{{if .Found}}<p class="amount"><span id="amount">{{.Amount}}</span> USDT</p>
<p id="description">{{.Description}}</p>
<p>Status: <span class="status" id="status">{{.Status}}</span></p>
{{if .PaidBy}}<p>Paid by Telegram user <span id="payer">{{.PaidBy}}</span> at {{.PaidAt}}</p>{{end}}
<p>Link {{.Link}} · expires {{.Expires}}</p>
{{if .Payable}}{{if .CanPay}}<form method="post" action="{{.Action}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<label>Your Telegram ID <input name="telegram_id" inputmode="numeric" pattern="[0-9]{1,20}" required></label>
<label><input type="checkbox" name="fund" value="true"> Sandbox: first deposit the amount to my PAYchat balance</label>
<button type="submit">Pay {{.Amount}} USDT from my PAYchat balance</button></form>
{{else}}<p>In PAYchat this payment is completed in Telegram. This sandbox pays from the page only in development mode
(ledgerd --webhooks-insecure or --demo); operators can pay it with POST /admin/paychat/payments/{{.Link}}/pay.</p>{{end}}{{end}}
{{else}}<p class="error">No such payment.</p>{{end}}
</body></html>
`))

type pageData struct {
	Found, Payable, CanPay                              bool
	Link, Amount, Description, Status, Expires          string
	PaidBy, PaidAt, Action, CSRF, Message, MessageClass string
}

// csrf is the page's form token for a link: an HMAC of the master key, so
// a form posted from another site cannot pay.
func (a *API) csrf(link string) string {
	m := hmac.New(sha256.New, a.cfg.WebhookKey)
	m.Write([]byte("paychat/page/" + link))
	return hex.EncodeToString(m.Sum(nil))
}

func (a *API) renderPage(ctx *fasthttp.RequestCtx, status int, link string, message, class string) {
	var p pc.Payment
	var ok bool
	a.sys.ReadState(func(st *engine.State) { p, ok = pc.PaymentByLink(st, link) })
	d := pageData{Found: ok, Link: link, Message: message, MessageClass: class, CanPay: a.cfg.Development,
		Action: PagePath + "/" + link, CSRF: a.csrf(link)}
	if ok {
		now := a.nowMs()
		d.Amount, d.Description, d.Status = FormatAmount(p.Amount), p.Description, p.StatusAt(now)
		d.Expires, d.Payable = timestamp(p.ExpiresMs), d.Status == pc.StatusPending
		if p.Status == pc.StatusCompleted {
			d.PaidBy, d.PaidAt = p.Payer, timestamp(p.PaidMs)
		}
	} else if status == fasthttp.StatusOK {
		status = fasthttp.StatusNotFound
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		status = fasthttp.StatusInternalServerError
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	ctx.Response.Header.Set("X-Frame-Options", "DENY")
	ctx.SetBody(buf.Bytes())
}

func (a *API) showPage(ctx *fasthttp.RequestCtx) {
	link, _ := ctx.UserValue("link_id").(string)
	link = strings.Clone(link)
	if !pc.ValidLinkID(link) {
		a.renderPage(ctx, fasthttp.StatusNotFound, link, "", "")
		return
	}
	a.renderPage(ctx, fasthttp.StatusOK, link, "", "")
}

func (a *API) payPage(ctx *fasthttp.RequestCtx) {
	link, _ := ctx.UserValue("link_id").(string)
	link = strings.Clone(link)
	if !pc.ValidLinkID(link) {
		a.renderPage(ctx, fasthttp.StatusNotFound, link, "", "")
		return
	}
	if !a.cfg.Development {
		a.renderPage(ctx, fasthttp.StatusForbidden, link, msgPayingDisabled, "error")
		return
	}
	form := ctx.PostArgs()
	payer := string(form.Peek("telegram_id"))
	if !hmac.Equal(form.Peek("csrf"), []byte(a.csrf(link))) {
		a.renderPage(ctx, fasthttp.StatusForbidden, link, "The form expired: reload the page and pay again.", "error")
		return
	}
	if !pc.ValidTelegramID(payer) {
		a.renderPage(ctx, fasthttp.StatusBadRequest, link, "Enter your Telegram ID: 1 to 20 digits.", "error")
		return
	}
	_, out := a.pay(link, payer, string(form.Peek("fund")) == "true")
	status, msg, class := fasthttp.StatusOK, "Payment completed. Thank you!", "ok"
	switch out {
	case apc.PayCompleted:
	case apc.PayNotFound:
		status, msg, class = fasthttp.StatusNotFound, msgPaymentNotFound, "error"
	case apc.PayExpired:
		status, msg, class = fasthttp.StatusConflict, msgExpired, "error"
	case apc.PayAlreadyPaid:
		status, msg, class = fasthttp.StatusConflict, msgCompleted, "error"
	case apc.PayInsufficient:
		status, msg, class = fasthttp.StatusPaymentRequired, "Your PAYchat balance does not cover this payment. Tick the sandbox deposit to fund it.", "error"
	case apc.PayFundRefused:
		status, msg, class = fasthttp.StatusUnprocessableEntity, msgLedgerLimit, "error"
	default:
		status, msg, class = fasthttp.StatusServiceUnavailable, msgOverloaded, "error"
	}
	a.renderPage(ctx, status, link, msg, class)
}
