package checkout_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/checkout"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
	"ledgerd/engine/outbox"
)

// browser is a client that does not follow redirects, as a test of the
// form post needs to see the 303.
type browser struct {
	t *testing.T
	c *http.Client
	s *apitest.Server
}

func newBrowser(t *testing.T, s *apitest.Server) *browser {
	return &browser{t: t, s: s, c: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type pageResp struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(path string) pageResp {
	b.t.Helper()
	resp, err := b.c.Get(b.s.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return pageResp{resp.StatusCode, resp.Header, string(body)}
}

func (b *browser) post(path string, form url.Values) pageResp {
	b.t.Helper()
	resp, err := b.c.PostForm(b.s.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return pageResp{resp.StatusCode, resp.Header, string(body)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// pay submits a card on the page of payment p (reading the form first).
func (b *browser) pay(p map[string]any, number, expiry, cvc string) pageResp {
	b.t.Helper()
	path := "/checkout/pay/" + token(b.t, p)
	form := b.get(path)
	m := csrfRe.FindStringSubmatch(form.body)
	if m == nil {
		b.t.Fatalf("no csrf in %s", form.body)
	}
	return b.post(path, url.Values{"csrf": {m[1]}, "number": {number}, "expiry": {expiry}, "cvc": {cvc}})
}

func expiry() string { return fmt.Sprintf("12 / %02d", (time.Now().Year()+2)%100) }

func TestPage_Form(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, map[string]any{"name": "Bäckerei <Süd>", "accent_color": "#ffd500", "logo": base64.StdEncoding.EncodeToString(pngLogo)})
	p := create(t, s, sh.TestKey, validBody())
	b := newBrowser(t, s)
	pg := b.get("/checkout/pay/" + token(t, p))
	if pg.status != 200 || !strings.HasPrefix(pg.header.Get("Content-Type"), "text/html") || pg.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("page: %d %v", pg.status, pg.header)
	}
	csp := pg.header.Get("Content-Security-Policy")
	nonce := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self' http://127.0.0.1:9", "base-uri 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if nonce == nil || strings.Contains(csp, "unsafe-inline") || !strings.Contains(pg.body, `<script src="/checkout/static/checkout.js" nonce="`+nonce[1]+`">`) {
		t.Fatalf("CSP %q, body %s", csp, pg.body)
	}
	for _, want := range []string{"Bäckerei &lt;Süd&gt;", "$20.00", "TEST MODE", `<label for="number">`, `<label for="expiry">`, `<label for="cvc">`,
		`autocomplete="cc-number"`, `name="viewport"`, `--on-accent:#000000`, `/checkout/pay/` + token(t, p) + `/logo`} {
		if !strings.Contains(pg.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(pg.body), "ledgerd") {
		t.Error("the page names ledgerd")
	}
	logo := b.get("/checkout/pay/" + token(t, p) + "/logo")
	if logo.status != 200 || logo.header.Get("Content-Type") != "image/png" || logo.body != string(pngLogo) {
		t.Fatalf("logo: %d %v", logo.status, logo.header)
	}
	js := b.get("/checkout/static/checkout.js")
	if js.status != 200 || !strings.Contains(js.body, "luhn") {
		t.Fatalf("script %d", js.status)
	}
	if live := b.get("/checkout/pay/" + token(t, create(t, s, sh.LiveKey, validBody()))); strings.Contains(live.body, "TEST MODE") {
		t.Error("TEST MODE in live mode")
	}
	if nf := b.get("/checkout/pay/" + strings.Repeat("x", 43)); nf.status != 404 {
		t.Errorf("unknown token: %d", nf.status)
	}
	if nf := b.get("/checkout/pay/" + token(t, p) + "/receipt"); nf.status != 404 {
		t.Errorf("receipt of a pending payment: %d", nf.status)
	}
}

func TestPage_PayRedirectsAndReceipt(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, map[string]any{"webhook_url": "http://127.0.0.1:9/hook"})
	body := validBody()
	body["return_url"] = "http://127.0.0.1:9/done?order=7&payment_id=old#top"
	p := create(t, s, sh.TestKey, body)
	id := p["id"].(string)
	b := newBrowser(t, s)
	csrfP := csrfRe.FindStringSubmatch(b.get("/checkout/pay/" + token(t, p)).body)[1]
	// CSRF: missing or of another payment.
	other := create(t, s, sh.TestKey, validBody())
	otherForm := csrfRe.FindStringSubmatch(b.get("/checkout/pay/" + token(t, other)).body)
	for _, c := range []url.Values{{"number": {"4242424242424242"}}, {"csrf": {otherForm[1]}, "number": {"4242424242424242"}, "expiry": {expiry()}, "cvc": {"123"}}} {
		if r := b.post("/checkout/pay/"+token(t, p), c); r.status != http.StatusForbidden {
			t.Fatalf("bad csrf: %d", r.status)
		}
	}
	// A malformed card is no attempt.
	r := b.pay(p, "4242 4242 4242 4241", expiry(), "123")
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Your card number is incorrect.") {
		t.Fatalf("bad number: %d", r.status)
	}
	r = b.pay(p, "4000 0000 0000 0002", expiry(), "123")
	if r.status != http.StatusPaymentRequired || !strings.Contains(r.body, "Your card was declined.") || !strings.Contains(r.body, "4 attempts left") ||
		strings.Contains(r.body, `value="4000`) || strings.Contains(r.body, "4000000000000002") {
		t.Fatalf("decline: %d %s", r.status, r.body)
	}
	r = b.pay(p, "4242 4242 4242 4242", expiry(), "123")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "http://127.0.0.1:9/done?order=7&payment_id="+id+"#top" {
		t.Fatalf("paid: %d %v", r.status, r.header)
	}
	m := api(t, s, "GET", "/payments/"+id, sh.TestKey, nil).JSON(t)
	if m["status"] != "completed" || m["receipt_url"] == nil || !isTime(m["completed_at"]) {
		t.Fatalf("after pay: %v", m)
	}
	again := b.get("/checkout/pay/" + token(t, p))
	if !strings.Contains(again.body, "Payment complete") || strings.Contains(again.body, `name="number"`) {
		t.Fatalf("completed page: %s", again.body)
	}
	if r := b.pay(other, "4242424242424242", expiry(), "123"); r.status != http.StatusSeeOther {
		t.Fatalf("other payment: %d", r.status)
	}
	rc := b.get(strings.TrimPrefix(m["receipt_url"].(string), s.URL))
	if rc.status != 200 || !strings.Contains(rc.body, "Visa ending in 4242") || !strings.Contains(rc.body, id) || !strings.Contains(rc.body, "$20.00") {
		t.Fatalf("receipt: %d %s", rc.status, rc.body)
	}
	// A second post of the form (double submit) changes nothing.
	if r := b.post("/checkout/pay/"+token(t, p), url.Values{"csrf": {csrfP}, "number": {"4242424242424242"}, "expiry": {expiry()}, "cvc": {"123"}}); r.status != http.StatusOK || !strings.Contains(r.body, "Payment complete") {
		t.Fatalf("a post to a paid payment: %d", r.status)
	}
	// One payment.completed delivery for the shop.
	n := 0
	s.Sys.ReadState(func(st *engine.State) {
		for _, d := range outbox.Of(st).Deliveries {
			if d.EventType == ck.EventPaymentCompleted && strings.Contains(string(d.Body), id) {
				n++
			}
		}
	})
	if n != 1 {
		t.Fatalf("%d payment.completed deliveries", n)
	}
	// No card number in the data dir.
	s.Restart(t)
	filepath.Walk(s.DataDir, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(path); bytes.Contains(b, []byte("4242424242424242")) || bytes.Contains(b, []byte("4000000000000002")) {
				t.Errorf("%s holds a card number", path)
			}
		}
		return nil
	})
}

func TestPage_FiveDeclinesFail(t *testing.T) {
	s := apitest.Start(t)
	sh := newShop(t, s, map[string]any{"webhook_url": "http://127.0.0.1:9/hook"})
	p := create(t, s, sh.TestKey, validBody())
	b := newBrowser(t, s)
	for i := 1; i <= 5; i++ {
		r := b.pay(p, "4000000000009995", expiry(), "123")
		if r.status != http.StatusPaymentRequired {
			t.Fatalf("decline %d: %d", i, r.status)
		}
		if i < 5 && !strings.Contains(r.body, "Your card has insufficient funds.") {
			t.Fatalf("decline %d: %s", i, r.body)
		}
		if i == 5 && !strings.Contains(r.body, "could not be completed") {
			t.Fatalf("fifth: %s", r.body)
		}
	}
	m := api(t, s, "GET", "/payments/"+p["id"].(string), sh.TestKey, nil).JSON(t)
	if m["status"] != "failed" || m["failure_reason"] != "too_many_attempts" {
		t.Fatalf("%v", m)
	}
	pg := b.get("/checkout/pay/" + token(t, p))
	if strings.Contains(pg.body, `name="number"`) || !strings.Contains(pg.body, "could not be completed") {
		t.Fatal("a failed payment's page takes a card")
	}
	failed := 0
	s.Sys.ReadState(func(st *engine.State) {
		for _, d := range outbox.Of(st).Deliveries {
			if d.EventType == ck.EventPaymentFailed {
				failed++
			}
		}
	})
	if failed != 1 {
		t.Fatalf("%d payment.failed deliveries", failed)
	}
}

func TestPage_LiveModeAndExpired(t *testing.T) {
	clock := apitest.NewClock(time.Now())
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	sh := newShop(t, s, nil)
	b := newBrowser(t, s)
	live := create(t, s, sh.LiveKey, validBody())
	if r := b.pay(live, "4242424242424242", expiry(), "123"); r.status != http.StatusPaymentRequired || !strings.Contains(r.body, "known test card") {
		t.Fatalf("test card in live mode: %d %s", r.status, r.body)
	}
	if r := b.pay(live, "4111111111111111", expiry(), "123"); r.status != http.StatusSeeOther {
		t.Fatalf("live card: %d", r.status)
	}
	p := create(t, s, sh.TestKey, validBody())
	clock.Advance(checkout.DefaultExpiry)
	pg := b.get("/checkout/pay/" + token(t, p))
	if !strings.Contains(pg.body, "This payment has expired") || strings.Contains(pg.body, `name="number"`) {
		t.Fatalf("expired page: %s", pg.body)
	}
}

func TestReturnURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.test/done":                         "https://shop.test/done?payment_id=pay_1",
		"https://shop.test/done?":                        "https://shop.test/done?payment_id=pay_1",
		"https://shop.test/done?a=1&b=%20x":              "https://shop.test/done?a=1&b=%20x&payment_id=pay_1",
		"https://shop.test/done?payment_id=old&a=1#frag": "https://shop.test/done?a=1&payment_id=pay_1#frag",
		"https://shop.test/done#f?x=1":                   "https://shop.test/done?payment_id=pay_1#f?x=1",
		"http://127.0.0.1:8/x?payment%5Fid=z":            "http://127.0.0.1:8/x?payment_id=pay_1",
	} {
		if got := checkout.ReturnURL(in, "pay_1"); got != want {
			t.Errorf("ReturnURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOnAccentContrast(t *testing.T) {
	for r := 0; r < 256; r += 17 {
		for g := 0; g < 256; g += 17 {
			for b := 0; b < 256; b += 17 {
				c := fmt.Sprintf("#%02x%02x%02x", r, g, b)
				if got := checkout.Contrast(c, checkout.OnAccent(c)); got < 4.5 {
					t.Fatalf("%s: text %s contrast %.2f", c, checkout.OnAccent(c), got)
				}
			}
		}
	}
	if checkout.FormatAmount(123456789, "usd") != "$1,234,567.89" || checkout.FormatAmount(50, "usd") != "$0.50" {
		t.Fatal(checkout.FormatAmount(123456789, "usd"))
	}
}
