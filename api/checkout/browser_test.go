package checkout_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"ledgerd/api/apitest"
	"ledgerd/api/checkout"
)

// updateScreenshots copies one screenshot of each page state into docs/
// (go test ./api/checkout -run Browser -update-screenshots).
var updateScreenshots = flag.Bool("update-screenshots", false, "write docs/checkout-*.png from the browser test")

// chromium is the headless browser's path. The test skips only when none
// is installed, and fails instead under CI=true (make test installs the
// Debian package chromium when it is missing).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium found (CI=true: the browser test must run; apt-get install chromium)")
	}
	t.Skip("no chromium found: install the Debian package chromium (make test does) to run the browser test")
	return ""
}

// tab is a headless Chromium tab that records console errors, CSP
// violations (the securitypolicyviolation event and the log) and
// uncaught exceptions.
type tab struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	shots    string
	js       bool
}

func newTab(t *testing.T, exe string, js bool) *tab {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	tb := &tab{t: t, ctx: ctx, shots: t.ArtifactDir(), js: js}
	chromedp.ListenTarget(ctx, func(ev any) {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeWarning {
				tb.problems = append(tb.problems, fmt.Sprintf("console %s: %v", e.Type, e.Args))
			}
		case *runtime.EventExceptionThrown:
			tb.problems = append(tb.problems, "exception: "+e.ExceptionDetails.Text)
		case *log.EventEntryAdded:
			// Network entries are the answers' statuses (a decline is a 402 page): not problems.
			if (e.Entry.Level == log.LevelError && e.Entry.Source != log.SourceNetwork) || strings.Contains(e.Entry.Text, "Content Security Policy") {
				tb.problems = append(tb.problems, "log: "+e.Entry.Text)
			}
		}
	})
	tb.run(log.Enable(), runtime.Enable())
	tb.run(chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.__csp=[];document.addEventListener("securitypolicyviolation",function(e){window.__csp.push(e.violatedDirective+" "+e.blockedURI)});`).Do(ctx)
		return err
	}))
	if !js {
		tb.run(emulation.SetScriptExecutionDisabled(true))
	}
	return tb
}

func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	if err := chromedp.Run(tb.ctx, actions...); err != nil {
		tb.t.Fatalf("chromium: %v", err)
	}
}

// shot saves a full-page screenshot under the test's artifact folder and,
// with -update-screenshots, as docs/checkout-<name>.png.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	var png []byte
	tb.run(chromedp.FullScreenshot(&png, 100)) // quality 100: PNG (below it: JPEG)
	if err := os.WriteFile(filepath.Join(tb.shots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	if *updateScreenshots {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "checkout-"+name+".png"), png, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
}

// clean fails the test on any CSP violation, console error or exception.
func (tb *tab) clean() {
	tb.t.Helper()
	var csp []string
	tb.run(chromedp.Evaluate(`window.__csp || []`, &csp))
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(csp) > 0 || len(tb.problems) > 0 {
		tb.t.Fatalf("CSP violations %v; problems %v", csp, tb.problems)
	}
}

func (tb *tab) fill(number, exp, cvc string) {
	tb.t.Helper()
	tb.run(chromedp.WaitVisible("#pay-form", chromedp.ByID))
	if tb.js { // after a client-side refusal the fields keep what was typed
		tb.run(chromedp.SetValue("#number", "", chromedp.ByID), chromedp.SetValue("#expiry", "", chromedp.ByID), chromedp.SetValue("#cvc", "", chromedp.ByID))
	}
	tb.run(chromedp.SendKeys("#number", number, chromedp.ByID), chromedp.SendKeys("#expiry", exp, chromedp.ByID),
		chromedp.SendKeys("#cvc", cvc, chromedp.ByID))
}

// shopReturn is the shop's return_url receiver on 127.0.0.1: it records
// the query of each visit.
type shopReturn struct {
	*httptest.Server
	mu     sync.Mutex
	visits []url.Values
}

func newShopReturn(t *testing.T) *shopReturn {
	r := &shopReturn{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/favicon.ico" {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if req.URL.Path == "/done" {
			r.mu.Lock()
			r.visits = append(r.visits, req.URL.Query())
			r.mu.Unlock()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Thanks</title><h1 id="thanks">Thanks for your order</h1>`)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *shopReturn) last() url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.visits) == 0 {
		return nil
	}
	return r.visits[len(r.visits)-1]
}

func TestBrowser_Checkout(t *testing.T) {
	exe := chromium(t)
	clock := apitest.NewClock(time.Now())
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	hooks := newReceiver(t)
	ret := newShopReturn(t)
	sh := newShop(t, s, map[string]any{"name": "Aurora Coffee Roasters", "accent_color": "#0f766e", "webhook_url": hooks.URL + "/hooks",
		"logo": logoPNG(t)})
	startSender(t, s)
	p := create(t, s, sh.TestKey, map[string]any{"amount": 4250, "currency": "usd", "return_url": ret.URL + "/done?order=42#thanks",
		"customer_email": "ann@example.com", "metadata": map[string]any{"order": "42"}})
	id := p["id"].(string)

	tb := newTab(t, exe, true)
	var title, badge, amount string
	tb.run(chromedp.Navigate(p["checkout_url"].(string)), chromedp.WaitVisible("#pay-form", chromedp.ByID),
		chromedp.Title(&title), chromedp.Text(".badge", &badge), chromedp.Text("#amount", &amount))
	if title != "Pay Aurora Coffee Roasters" || badge != "TEST MODE" || amount != "$42.50" {
		t.Fatalf("page: title %q badge %q amount %q", title, badge, amount)
	}
	tb.shot("form")

	// Client-side Luhn: a mistyped number never reaches the server.
	tb.fill("4242424242424241", "1230", "123")
	var msg string
	tb.run(chromedp.Click("#pay-button", chromedp.ByID), chromedp.WaitVisible("#form-error", chromedp.ByID), chromedp.Text("#form-error", &msg))
	if msg != "Your card number is incorrect." {
		t.Fatalf("Luhn message %q", msg)
	}
	var formatted string
	tb.run(chromedp.Value("#number", &formatted, chromedp.ByID))
	if formatted != "4242 4242 4242 4241" {
		t.Fatalf("number formatted %q", formatted)
	}
	if a := api(t, s, "GET", "/payments/"+id, sh.TestKey, nil).JSON(t); jsonNum(t, a["amount"]) != 4250 || a["status"] != "pending" {
		t.Fatalf("after a Luhn error: %v", a)
	}

	// A declined card shows its reason; a second card pays.
	tb.fill("4000000000000002", "12"+fmt.Sprint((time.Now().Year()+1)%100), "123")
	tb.run(chromedp.Click("#pay-button", chromedp.ByID), chromedp.WaitVisible("#form-error p", chromedp.ByQuery), chromedp.Text("#form-error", &msg))
	if !strings.Contains(msg, "Your card was declined.") || !strings.Contains(msg, "4 attempts left") {
		t.Fatalf("decline message %q", msg)
	}
	tb.shot("declined")
	tb.fill("4242424242424242", "12"+fmt.Sprint((time.Now().Year()+1)%100), "123")
	var loc string
	tb.run(chromedp.Click("#pay-button", chromedp.ByID), chromedp.WaitVisible("#thanks", chromedp.ByID), chromedp.Location(&loc))
	if q := ret.last(); q.Get("payment_id") != id || q.Get("order") != "42" || !strings.HasSuffix(loc, "&payment_id="+id+"#thanks") {
		t.Fatalf("return: %v at %s", q, loc)
	}
	tb.clean()
	a := api(t, s, "GET", "/payments/"+id, sh.TestKey, nil).JSON(t)
	if a["status"] != "completed" {
		t.Fatalf("after pay: %v", a)
	}
	got := hooks.wait(t, 1)
	verify(t, sh.Secret, got[0])
	if !strings.Contains(string(got[0].body), `"type":"payment.completed"`) || !strings.Contains(string(got[0].body), id) {
		t.Fatalf("webhook %s", got[0].body)
	}

	// The paid page and the receipt.
	tb.run(chromedp.Navigate(p["checkout_url"].(string)), chromedp.WaitVisible("#status", chromedp.ByID), chromedp.Text("#status", &msg))
	if msg != "Payment complete" {
		t.Fatalf("paid page %q", msg)
	}
	tb.shot("paid")
	tb.run(chromedp.Click("#receipt-link", chromedp.ByID), chromedp.WaitVisible("#receipt-title", chromedp.ByID), chromedp.Text("#receipt-amount", &msg))
	if msg != "$42.50" {
		t.Fatalf("receipt amount %q", msg)
	}
	tb.shot("receipt")
	tb.clean()

	// A phone-sized viewport: the form fits 375 px without scrolling sideways.
	p2 := create(t, s, sh.TestKey, map[string]any{"amount": 1999, "currency": "usd", "return_url": ret.URL + "/done"})
	var width int
	tb.run(emulation.SetDeviceMetricsOverride(375, 812, 2, true), chromedp.Navigate(p2["checkout_url"].(string)),
		chromedp.WaitVisible("#pay-form", chromedp.ByID), chromedp.Evaluate(`document.documentElement.scrollWidth`, &width))
	if width > 375 {
		t.Fatalf("page is %d px wide at 375", width)
	}
	tb.shot("phone")
	tb.run(emulation.ClearDeviceMetricsOverride())

	// An expired payment's page.
	p3 := create(t, s, sh.TestKey, map[string]any{"amount": 700, "currency": "usd", "return_url": ret.URL + "/done"})
	clock.Advance(checkout.DefaultExpiry + time.Second)
	tb.run(chromedp.Navigate(p3["checkout_url"].(string)), chromedp.WaitVisible("#status", chromedp.ByID), chromedp.Text("#status", &msg))
	if msg != "This payment has expired" {
		t.Fatalf("expired page %q", msg)
	}
	tb.shot("expired")
	tb.clean()
}

// TestBrowser_NoJavaScript: with scripts disabled the plain form post pays
// and lands on return_url.
func TestBrowser_NoJavaScript(t *testing.T) {
	exe := chromium(t)
	s := apitest.Start(t)
	ret := newShopReturn(t)
	sh := newShop(t, s, nil)
	p := create(t, s, sh.TestKey, map[string]any{"amount": 2500, "currency": "usd", "return_url": ret.URL + "/done?payment_id=stale"})
	tb := newTab(t, exe, false)
	tb.run(chromedp.Navigate(p["checkout_url"].(string)))
	exp := fmt.Sprintf("12/%02d", (time.Now().Year()+1)%100)
	tb.fill("4000000000009995", exp, "123")
	var msg string
	tb.run(chromedp.Submit("#pay-form", chromedp.ByID), chromedp.WaitVisible("#form-error p", chromedp.ByQuery), chromedp.Text("#form-error", &msg))
	if !strings.Contains(msg, "insufficient funds") {
		t.Fatalf("decline without JS %q", msg)
	}
	tb.fill("4242 4242 4242 4242", exp, "123")
	tb.run(chromedp.Submit("#pay-form", chromedp.ByID), chromedp.WaitVisible("#thanks", chromedp.ByID))
	if q := ret.last(); len(q["payment_id"]) != 1 || q.Get("payment_id") != p["id"] {
		t.Fatalf("return %v", q)
	}
	tb.clean()
}

// logoPNG is a small PNG logo (base64) drawn for the test: a ring in the
// shop's colour.
func logoPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for y := range 96 {
		for x := range 96 {
			d := math.Hypot(float64(x)-47.5, float64(y)-47.5)
			switch {
			case d < 30:
				img.Set(x, y, color.RGBA{0xf5, 0xe6, 0xc8, 0xff})
			case d < 46:
				img.Set(x, y, color.RGBA{0x0f, 0x76, 0x6e, 0xff})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}
