package checkout

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	"ledgerd/api/cards"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// The checkout page: what a shop's customer sees at checkout_url. It is
// served by ledgerd (no third-party origin), white-labeled (the shop's
// name, logo and accent colour; no ledgerd branding), works as a plain
// form post and is better with its same-origin script (Luhn, formatting).
//
//	GET  /checkout/pay/{token}          the form, or what became of the payment
//	POST /checkout/pay/{token}          a card: 303 to return_url when paid
//	GET  /checkout/pay/{token}/receipt  the receipt of a paid payment
//	GET  /checkout/pay/{token}/logo     the shop's logo
//	GET  /checkout/static/checkout.{js,css}
//
// Every page answer has Cache-Control: no-store and a strict CSP:
// default-src 'self', scripts and the inline style by a per-answer nonce,
// frame-ancestors 'none', and form-action 'self' plus the return_url's
// origin (Chromium applies form-action to the redirect after the post).

//go:embed page/page.html page/checkout.js page/checkout.css page/icon.svg
var pageFiles embed.FS

var pageTemplates = template.Must(template.ParseFS(pageFiles, "page/page.html"))

var (
	pageJS   = mustRead("page/checkout.js")
	pageCSS  = mustRead("page/checkout.css")
	pageIcon = mustRead("page/icon.svg")
)

func mustRead(name string) []byte {
	b, err := pageFiles.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

// PageBase is the page module's prefix.
const PageBase = "/checkout"

// PageModule serves the checkout page, its receipt, logo and static files.
func PageModule(sys *actors.System, cfg Config) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "checkout-page", Base: PageBase,
		RequestError: func(ctx *fasthttp.RequestCtx, status int) { a.plain(ctx, status, "The request could not be read.") },
		NotFound:     func(ctx *fasthttp.RequestCtx) { a.plain(ctx, fasthttp.StatusNotFound, "This page does not exist.") },
		MethodNotAllowed: func(ctx *fasthttp.RequestCtx) {
			a.plain(ctx, fasthttp.StatusMethodNotAllowed, "This page does not take that method.")
		},
		Routes: func(r *httpx.Router) {
			r.GET(PagePath+"/{token}", a.page)
			r.POST(PagePath+"/{token}", a.submit)
			r.GET(PagePath+"/{token}"+receiptPart, a.receipt)
			r.GET(PagePath+"/{token}/logo", a.logo)
			r.GET(StaticPath+"/checkout.js", static("text/javascript; charset=utf-8", pageJS))
			r.GET(StaticPath+"/checkout.css", static("text/css; charset=utf-8", pageCSS))
			r.GET(StaticPath+"/icon.svg", static("image/svg+xml", pageIcon))
		}}
}

func static(contentType string, body []byte) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.Set("Content-Type", contentType)
		ctx.Response.Header.Set("Cache-Control", "public, max-age=300")
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
		ctx.SetBody(body)
	}
}

// view is what the templates show.
type view struct {
	Title, ShopName, Accent, OnAccent, Logo, Static, Nonce string
	Test, Script                                           bool
	Amount, Action, CSRF, Error, Retry, BackURL            string
	Heading, Message, StatusClass, ReceiptURL              string
	Refunded, Date, CardLabel, PaymentID                   string
}

// shopView is the shop's part of a page.
func (a *API) shopView(sh *ck.Shop, p *ck.Payment, nonce string) view {
	v := view{Title: sh.Name, ShopName: sh.Name, Accent: sh.AccentColor, OnAccent: OnAccent(sh.AccentColor), Static: StaticPath,
		Nonce: nonce, Test: !p.Live, Amount: FormatAmount(p.Amount, p.Currency), BackURL: p.ReturnURL}
	if len(sh.Logo) > 0 {
		v.Logo = PagePath + "/" + p.Token + "/logo"
	}
	return v
}

// FormatAmount renders cents as the page shows them: "$20.00".
func FormatAmount(cents int64, currency string) string {
	sign := "$"
	if currency != ck.Currency {
		sign = strings.ToUpper(currency) + " "
	}
	return fmt.Sprintf("%s%s.%02d", sign, groupThousands(cents/100), cents%100)
}

func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// OnAccent is the text colour on the accent, black or white, whichever
// contrasts more; one of them always reaches 4.5:1 (WCAG AA).
func OnAccent(accent string) string {
	if Contrast(accent, "#ffffff") >= Contrast(accent, "#000000") {
		return "#ffffff"
	}
	return "#000000"
}

// Contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func Contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(c[i:i+2], 16, 8)
		x := float64(v) / 255
		if x <= 0.03928 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	if !ck.ValidAccent(c) {
		return 0
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

// csrf is the form's token for payment id: HMAC(master key, id), so it
// survives a restart and is useless for any other payment.
func (a *API) csrf(id string) string {
	m := hmac.New(sha256.New, a.cfg.WebhookKey)
	m.Write([]byte("checkout-csrf/" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func nonce() string {
	var b [18]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("checkout: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// formAction is the CSP form-action: the page itself and the return_url's
// origin (the 303 after a paid post goes there). An origin CSP cannot
// name (an IPv6 literal) falls back to its scheme.
func formAction(returnURL string) string {
	u, err := url.Parse(returnURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return "'self'"
	}
	host := u.Host
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return "'self' " + u.Scheme + ":"
		}
	}
	return "'self' " + u.Scheme + "://" + host
}

// headers sets what every page answer carries.
func headers(ctx *fasthttp.RequestCtx, nonce, returnURL string) {
	h := &ctx.Response.Header
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'nonce-"+nonce+"'; style-src 'self' 'nonce-"+nonce+
		"'; img-src 'self'; connect-src 'self'; form-action "+formAction(returnURL)+
		"; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
}

func (a *API) render(ctx *fasthttp.RequestCtx, status int, name string, v view, returnURL string) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, v); err != nil {
		slog.Error("checkout: page template", slog.Any("err", err))
		a.plain(ctx, fasthttp.StatusInternalServerError, "Something went wrong; please try again.")
		return
	}
	headers(ctx, v.Nonce, returnURL)
	ctx.SetStatusCode(status)
	ctx.SetBody(buf.Bytes())
}

// plain answers with a minimal page of the shop-neutral kind (no payment
// known): 404s, refused requests.
func (a *API) plain(ctx *fasthttp.RequestCtx, status int, msg string) {
	n := nonce()
	v := view{Title: "Checkout", ShopName: "Checkout", Accent: DefaultAccent, OnAccent: OnAccent(DefaultAccent), Static: StaticPath,
		Nonce: n, Heading: msg, StatusClass: "bad"}
	a.render(ctx, status, "status", v, "")
}

// load reads the payment of a token and its shop.
func (a *API) load(ctx *fasthttp.RequestCtx) (ck.Payment, ck.Shop, bool) {
	tok, _ := ctx.UserValue("token").(string)
	var p ck.Payment
	var sh ck.Shop
	var ok bool
	if len(tok) >= ck.TokenMinLen && len(tok) <= ck.MaxID {
		tok = strings.Clone(tok)
		a.sys.ReadState(func(st *engine.State) {
			if p, ok = ck.PaymentByToken(st, tok); ok {
				sh, ok = ck.GetShop(st, p.Shop)
			}
		})
	}
	if !ok {
		a.plain(ctx, fasthttp.StatusNotFound, "This payment page does not exist.")
		return p, sh, false
	}
	if p.Open() && a.sys.Now().UnixMilli() >= p.ExpiresMs {
		if s, err := ack.Expire(a.sys, p.ID, a.notice); err == nil && s.Outcome != ack.OutcomeMissing {
			p = s.Payment
		}
	}
	return p, sh, true
}

func (a *API) page(ctx *fasthttp.RequestCtx) {
	p, sh, ok := a.load(ctx)
	if !ok {
		return
	}
	if !p.Open() {
		a.statusPage(ctx, fasthttp.StatusOK, &p, &sh)
		return
	}
	v := a.formView(&p, &sh)
	if p.Attempts > 0 {
		v.Error, v.Retry = declineMessage(p.LastDecline), retryText(p.Attempts)
	}
	a.render(ctx, fasthttp.StatusOK, "pay", v, p.ReturnURL)
}

func (a *API) formView(p *ck.Payment, sh *ck.Shop) view {
	v := a.shopView(sh, p, nonce())
	v.Title = "Pay " + sh.Name
	v.Script, v.Action, v.CSRF = true, PagePath+"/"+p.Token, a.csrf(p.ID)
	return v
}

func retryText(attempts int64) string {
	left := ck.MaxAttempts - attempts
	if left == 1 {
		return "Please try another card. You have 1 attempt left."
	}
	return fmt.Sprintf("Please try again or use another card. You have %d attempts left.", left)
}

// declineMessage is the customer's text for a decline code.
func declineMessage(code string) string {
	switch code {
	case cards.DeclineInsufficientFunds:
		return cards.MsgInsufficientFunds
	case cards.CodeExpiredCard:
		return cards.MsgExpiredCard
	case cards.CodeIncorrectCVC:
		return cards.MsgIncorrectCVC
	case cards.CodeProcessingError:
		return cards.MsgProcessingError
	case cards.DeclineTestModeCard:
		return cards.MsgLiveModeTestCard
	}
	return cards.MsgCardDeclined
}

// statusPage says what became of a payment that takes no card.
func (a *API) statusPage(ctx *fasthttp.RequestCtx, status int, p *ck.Payment, sh *ck.Shop) {
	v := a.shopView(sh, p, nonce())
	switch {
	case paid(p):
		v.Title, v.Heading, v.StatusClass = "Paid: "+sh.Name, "Payment complete", "ok"
		v.Message = "This payment has been paid. Thank you."
		if p.Status == ck.StatusRefunded {
			v.Message = "This payment was paid and has been refunded."
		}
		v.ReceiptURL = PagePath + "/" + p.Token + receiptPart
	case p.FailureReason == ck.ReasonExpired:
		v.Title, v.Heading, v.StatusClass = "Expired: "+sh.Name, "This payment has expired", "bad"
		v.Message = "The time to pay has run out. Please return to the shop to start again."
	default:
		v.Title, v.Heading, v.StatusClass = "Failed: "+sh.Name, "This payment could not be completed", "bad"
		v.Message = "Too many cards were declined. Please return to the shop to start again."
	}
	a.render(ctx, status, "status", v, p.ReturnURL)
}

// card is a submitted card's fields, in the form's names.
type card struct{ number, expiry, cvc string }

// parseExpiry reads "MM / YY", "MM/YY", "MMYY", "MM/YYYY".
func parseExpiry(s string) (month, year int64, ok bool) {
	d := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		if r == '/' || r == ' ' {
			return -1
		}
		return 'x'
	}, s)
	if strings.Contains(d, "x") || (len(d) != 4 && len(d) != 6) {
		return 0, 0, false
	}
	m, _ := strconv.ParseInt(d[:2], 10, 64)
	y, _ := strconv.ParseInt(d[2:], 10, 64)
	if len(d) == 4 {
		y += 2000
	}
	return m, y, true
}

func (a *API) submit(ctx *fasthttp.RequestCtx) {
	p, sh, ok := a.load(ctx)
	if !ok {
		return
	}
	args := ctx.PostArgs()
	if subtle.ConstantTimeCompare(args.Peek("csrf"), []byte(a.csrf(p.ID))) != 1 {
		a.plain(ctx, fasthttp.StatusForbidden, "This form is no longer valid. Please reload the page.")
		return
	}
	if !p.Open() {
		a.statusPage(ctx, fasthttp.StatusOK, &p, &sh)
		return
	}
	c := card{number: digitsOnly(string(args.Peek("number"))), expiry: string(args.Peek("expiry")), cvc: strings.TrimSpace(string(args.Peek("cvc")))}
	month, year, good := parseExpiry(c.expiry)
	if !good {
		a.formError(ctx, &p, &sh, "Enter the expiry date as MM / YY.")
		return
	}
	parsed, cerr := cards.Parse(c.number, month, year, c.cvc, cards.MonthOf(a.sys.Now().UTC()))
	if cerr != nil {
		a.formError(ctx, &p, &sh, cerr.Message)
		return
	}
	d := cards.Outcome(c.number, p.Live)
	c = card{} // the number and CVC go no further
	outcome := ack.Card{Approved: d.Approved, Brand: parsed.Brand, Last4: parsed.Last4, DeclineCode: d.DeclineCode}
	if outcome.DeclineCode == "" {
		outcome.DeclineCode = d.Code
	}
	s, err := ack.Submit(a.sys, p.ID, outcome, a.notice)
	if err != nil {
		a.formError(ctx, &p, &sh, "We could not take your payment just now. Please try again.")
		return
	}
	switch s.Outcome {
	case ack.OutcomeCompleted:
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.Response.Header.Set("Referrer-Policy", "no-referrer")
		ctx.Redirect(ReturnURL(s.Payment.ReturnURL, s.Payment.ID), fasthttp.StatusSeeOther)
	case ack.OutcomeDeclined:
		if !s.Payment.Open() {
			a.statusPage(ctx, fasthttp.StatusPaymentRequired, &s.Payment, &sh)
			return
		}
		v := a.formView(&s.Payment, &sh)
		v.Error, v.Retry = d.Message, retryText(s.Payment.Attempts)
		a.render(ctx, fasthttp.StatusPaymentRequired, "pay", v, p.ReturnURL)
	default:
		a.statusPage(ctx, fasthttp.StatusOK, &s.Payment, &sh)
	}
}

func (a *API) formError(ctx *fasthttp.RequestCtx, p *ck.Payment, sh *ck.Shop, msg string) {
	v := a.formView(p, sh)
	v.Error = msg
	a.render(ctx, fasthttp.StatusBadRequest, "pay", v, p.ReturnURL)
}

func digitsOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// ReturnURL is return_url with payment_id=id in its query, before any
// #fragment: a payment_id already there is replaced, the rest of the
// query kept as written.
func ReturnURL(returnURL, id string) string {
	base, frag, hasFrag := strings.Cut(returnURL, "#")
	path, query, _ := strings.Cut(base, "?")
	var kept []string
	for _, part := range strings.Split(query, "&") {
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if uk, err := url.QueryUnescape(k); err == nil && uk == "payment_id" {
			continue
		}
		kept = append(kept, part)
	}
	kept = append(kept, "payment_id="+url.QueryEscape(id))
	out := path + "?" + strings.Join(kept, "&")
	if hasFrag {
		out += "#" + frag
	}
	return out
}

func (a *API) receipt(ctx *fasthttp.RequestCtx) {
	p, sh, ok := a.load(ctx)
	if !ok {
		return
	}
	if !paid(&p) {
		a.plain(ctx, fasthttp.StatusNotFound, "There is no receipt for this payment.")
		return
	}
	v := a.shopView(&sh, &p, nonce())
	v.Title = "Receipt: " + sh.Name
	v.Date = time.UnixMilli(p.CompletedMs).UTC().Format("2 January 2006, 15:04 UTC")
	v.CardLabel = strings.ToUpper(p.CardBrand[:1]) + p.CardBrand[1:] + " ending in " + p.CardLast4
	v.PaymentID = p.ID
	if p.AmountRefunded > 0 {
		v.Refunded = FormatAmount(p.AmountRefunded, p.Currency)
	}
	a.render(ctx, fasthttp.StatusOK, "receipt", v, p.ReturnURL)
}

func (a *API) logo(ctx *fasthttp.RequestCtx) {
	_, sh, ok := a.load(ctx)
	if !ok {
		return
	}
	if len(sh.Logo) == 0 {
		a.plain(ctx, fasthttp.StatusNotFound, "No logo.")
		return
	}
	ctx.Response.Header.Set("Content-Type", sh.LogoType)
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
	ctx.Response.Header.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	ctx.SetBody(sh.Logo)
}
