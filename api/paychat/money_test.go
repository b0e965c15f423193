package paychat_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"ledgerd/api/apitest"
	"ledgerd/api/paychat"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

func TestWithdrawals_DebitCreditReferral(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	deposit(t, s, p, "100")
	r := call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"123456789","amount":10.00,"memo":"Referral bonus & <thanks> ✓"}`)
	r.WantStatus(t, http.StatusOK)
	m := obj(t, r)
	if !strings.HasPrefix(str(t, m, "withdrawal", "id"), "wd_") || num(t, m, "withdrawal", "amount") != "10" ||
		str(t, m, "withdrawal", "status") != "completed" || str(t, m, "withdrawal", "telegram_id") != "123456789" {
		t.Fatalf("withdrawal: %s", r.Body)
	}
	if !strings.Contains(string(r.Body), `"memo":"Referral bonus & <thanks> ✓"`) {
		t.Fatalf("memo escaped: %s", r.Body)
	}
	b := obj(t, call(t, s, "GET", "/balance", p.Key, nil))
	if num(t, b, "balance", "available") != "90" || num(t, b, "balance", "referral_holdings") != "10" || num(t, b, "balance", "total_holdings") != "100" {
		t.Fatalf("balance: %v", b)
	}
	// A second partner's withdrawal to the same user does not take the referral.
	q := register(t, s)
	deposit(t, s, q, "5")
	call(t, s, "POST", "/withdrawals", q.Key, `{"telegram_id":"123456789","amount":0.000001}`).WantStatus(t, http.StatusOK)
	if b := obj(t, call(t, s, "GET", "/balance", q.Key, nil)); num(t, b, "balance", "referral_holdings") != "0" || num(t, b, "balance", "available") != "4.999999" {
		t.Fatalf("second partner: %v", b)
	}
	if b := obj(t, call(t, s, "GET", "/balance", p.Key, nil)); num(t, b, "balance", "referral_holdings") != "10.000001" {
		t.Fatalf("referrer's holdings include the user's whole balance: %v", b)
	}
	u := obj(t, admin(t, s, "GET", "/users/123456789", nil))
	if num(t, u, "user", "balance") != "10.000001" || str(t, u, "user", "referrer") != p.ID || len(field(t, u, "user", "notifications").([]any)) != 2 {
		t.Fatalf("user: %v", u)
	}
}

func TestWithdrawals_InsufficientChangesNothing(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	deposit(t, s, p, "1.5")
	before, txs, tot := balance(t, s, p), txTotal(t, s, p), totals(s)
	r := call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"42","amount":1.500001,"idempotency_key":"w1"}`)
	wantCode(t, r, http.StatusBadRequest, paychat.CodeInsufficient)
	if !strings.Contains(string(r.Body), `"message":"Insufficient balance"`) {
		t.Fatalf("message: %s", r.Body)
	}
	for _, body := range []string{`{"telegram_id":"42"}`, `{"telegram_id":"4a2","amount":1}`, `{"amount":1}`, `{"telegram_id":42,"amount":1}`,
		`{"telegram_id":"42","amount":1,"memo":"` + strings.Repeat("m", 256) + `"}`, `{"telegram_id":"42","amount":0}`} {
		r := call(t, s, "POST", "/withdrawals", p.Key, body)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s", body, r.Status, r.Body)
		}
	}
	if balance(t, s, p) != before || txTotal(t, s, p) != txs || totals(s) != tot {
		t.Fatal("a refused withdrawal changed something")
	}
	wantCode(t, admin(t, s, "GET", "/users/42", nil), http.StatusNotFound, paychat.CodeNotFound)
	// The refusal bound no key: once funded, the same key goes through, once.
	deposit(t, s, p, "1")
	first := call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"42","amount":1.500001,"idempotency_key":"w1"}`)
	first.WantStatus(t, http.StatusOK)
	again := call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"42","amount":1.500001,"idempotency_key":"w1"}`)
	if string(again.Body) != string(first.Body) || balance(t, s, p) != "0.999999" {
		t.Fatalf("replay: %s / %s, balance %s", again.Body, first.Body, balance(t, s, p))
	}
	wantCode(t, call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"43","amount":1.500001,"idempotency_key":"w1"}`), http.StatusConflict, paychat.CodeIdempotency)
}

func TestDeposits_Sandbox(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	d := admin(t, s, "POST", "/deposits", `{"memo":"`+p.Memo+`","amount":25.5,"tx_hash":"abc123"}`)
	d.WantStatus(t, http.StatusOK)
	if m := obj(t, d); str(t, m, "deposit", "status") != "credited" || str(t, m, "deposit", "partner_id") != p.ID || field(t, m, "deposit", "replayed") != false {
		t.Fatalf("deposit: %s", d.Body)
	}
	if m := obj(t, admin(t, s, "POST", "/deposits", `{"memo":"`+p.Memo+`","amount":25.5,"tx_hash":"abc123"}`)); field(t, m, "deposit", "replayed") != true {
		t.Fatalf("replay: %v", m)
	}
	wantCode(t, admin(t, s, "POST", "/deposits", `{"memo":"`+p.Memo+`","amount":25,"tx_hash":"abc123"}`), http.StatusConflict, paychat.CodeDepositConflict)
	wantCode(t, admin(t, s, "POST", "/deposits", `{"memo":"x","amount":25,"tx_hash":"abc123"}`), http.StatusConflict, paychat.CodeDepositConflict)
	if balance(t, s, p) != "25.5" {
		t.Fatal("the replay credited again")
	}
	// Unknown memo: held, listed, assignable once.
	admin(t, s, "POST", "/deposits", `{"memo":"partner_typo","amount":7,"tx_hash":"def456"}`).WantStatus(t, http.StatusOK)
	held := admin(t, s, "GET", "/deposits/held", nil)
	if !strings.Contains(string(held.Body), `"tx_hash":"def456"`) || balance(t, s, p) != "25.5" {
		t.Fatalf("held: %s", held.Body)
	}
	wantCode(t, admin(t, s, "POST", "/deposits/def456/assign", map[string]string{"partner_id": "pcp_nobody00000"}), http.StatusNotFound, paychat.CodePartnerNotFound)
	admin(t, s, "POST", "/deposits/def456/assign", map[string]string{"partner_id": p.ID}).WantStatus(t, http.StatusOK)
	wantCode(t, admin(t, s, "POST", "/deposits/def456/assign", map[string]string{"partner_id": p.ID}), http.StatusConflict, paychat.CodeDepositNotHeld)
	wantCode(t, admin(t, s, "POST", "/deposits/nope/assign", map[string]string{"partner_id": p.ID}), http.StatusNotFound, paychat.CodeDepositNotFound)
	if balance(t, s, p) != "32.5" || strings.Contains(string(admin(t, s, "GET", "/deposits/held", nil).Body), "def456") {
		t.Fatal("assign")
	}
	wantCode(t, admin(t, s, "POST", "/deposits", `{"memo":"m","amount":999999999.999999,"tx_hash":"big"}`), http.StatusUnprocessableEntity, paychat.CodeLedgerLimit)
	for _, body := range []string{`{"memo":"m","amount":1}`, `{"memo":"m","amount":1,"tx_hash":"a b"}`, `{"memo":"","amount":1,"tx_hash":"a"}`} {
		if r := admin(t, s, "POST", "/deposits", body); r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d", body, r.Status)
		}
	}
	if l := obj(t, admin(t, s, "GET", "/ledger", nil)); field(t, l, "ledger", "balanced") != true || num(t, l, "ledger", "deposited") != "32.5" {
		t.Fatalf("ledger: %v", l)
	}
	s.Do(t, "POST", paychat.AdminBase+"/deposits", nil, `{}`).WantStatus(t, http.StatusUnauthorized)
	if dep := obj(t, call(t, s, "GET", "/deposit-address", p.Key, nil)); str(t, dep, "deposit", "memo") != p.Memo || str(t, dep, "deposit", "network") != "TRON (TRC20)" {
		t.Fatalf("deposit address: %v", dep)
	}
}

func TestPay_AdminRouteAndPage(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	m := createPayment(t, s, p, `{"amount":29.99,"description":"Shirt <b>"}`)
	link := str(t, m, "payment", "link_id")
	wantCode(t, admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "987654321"}), http.StatusBadRequest, paychat.CodeInsufficient)
	paid := admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "987654321", "fund": true})
	paid.WantStatus(t, http.StatusOK)
	got := obj(t, call(t, s, "GET", "/payments/"+link, p.Key, nil))
	if str(t, got, "payment", "status") != "completed" || str(t, got, "payment", "payer", "telegram_id") != "987654321" || str(t, got, "payment", "paid_at") == "" {
		t.Fatalf("paid: %v", got)
	}
	if balance(t, s, p) != "29.99" {
		t.Fatal("partner not credited")
	}
	wantCode(t, admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "1", "fund": true}), http.StatusConflict, paychat.CodePaymentCompleted)
	wantCode(t, admin(t, s, "POST", "/payments/zzzzzz/pay", map[string]any{"telegram_id": "1"}), http.StatusNotFound, paychat.CodePaymentNotFound)
	// The page shows it (escaped) and, under the development flag, pays.
	page := s.Do(t, "GET", paychat.PagePath+"/"+link, nil, nil)
	if page.Status != http.StatusOK || !strings.Contains(string(page.Body), "Shirt &lt;b&gt;") || !strings.Contains(string(page.Body), "completed") {
		t.Fatalf("page: %d %s", page.Status, page.Body)
	}
	q := createPayment(t, s, p, `{"amount":1}`)
	ql := str(t, q, "payment", "link_id")
	form := s.Do(t, "GET", paychat.PagePath+"/"+ql, nil, nil)
	csrf := between(string(form.Body), `name="csrf" value="`, `"`)
	if r := postForm(t, s, paychat.PagePath+"/"+ql, "telegram_id=555&fund=true&csrf=bad"); r.Status != http.StatusForbidden {
		t.Fatalf("bad token: %d", r.Status)
	}
	if r := postForm(t, s, paychat.PagePath+"/"+ql, "telegram_id=555&fund=true&csrf="+csrf); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Payment completed") {
		t.Fatalf("page pay: %d %s", r.Status, r.Body)
	}
	if balance(t, s, p) != "30.99" {
		t.Fatal("page payment not credited")
	}
	// Without the development flag the page only shows the payment.
	strict := apitest.StartWith(t, apitest.Options{StrictWebhookURLs: true})
	sp := register(t, strict)
	sl := str(t, createPayment(t, strict, sp, `{"amount":1}`), "payment", "link_id")
	if body := string(strict.Do(t, "GET", paychat.PagePath+"/"+sl, nil, nil).Body); strings.Contains(body, "<form") {
		t.Fatal("a form without the development flag")
	}
	if r := postForm(t, strict, paychat.PagePath+"/"+sl, "telegram_id=555&fund=true"); r.Status != http.StatusForbidden {
		t.Fatalf("strict page pay: %d", r.Status)
	}
	if s.Do(t, "GET", paychat.PagePath+"/nope00", nil, nil).Status != http.StatusNotFound {
		t.Fatal("unknown link page")
	}
}

func between(s, a, b string) string {
	_, rest, _ := strings.Cut(s, a)
	v, _, _ := strings.Cut(rest, b)
	return v
}

func postForm(t *testing.T, s *apitest.Server, path, form string) *apitest.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, _ = fmt.Fprint(&b)
	buf := make([]byte, 64<<10)
	n, _ := resp.Body.Read(buf)
	return &apitest.Response{Status: resp.StatusCode, Header: resp.Header, Body: buf[:n]}
}

func TestTransactions_FiltersAndPages(t *testing.T) {
	clock := apitest.NewClock(time.Date(2025, 1, 7, 12, 0, 0, 0, time.UTC))
	s := apitest.StartWith(t, apitest.Options{Now: clock.Now})
	p := register(t, s)
	deposit(t, s, p, "100")
	for i := range 3 {
		call(t, s, "POST", "/withdrawals", p.Key, fmt.Sprintf(`{"telegram_id":"7%d","amount":1}`, i)).WantStatus(t, http.StatusOK)
		clock.Advance(time.Hour)
	}
	pay := createPayment(t, s, p, `{"amount":2}`)
	clock.Advance(time.Hour)
	createPayment(t, s, p, `{"amount":3}`)
	admin(t, s, "POST", "/payments/"+str(t, pay, "payment", "link_id")+"/pay", map[string]any{"telegram_id": "9", "fund": true}).WantStatus(t, http.StatusOK)
	all := obj(t, call(t, s, "GET", "/transactions", p.Key, nil))
	list := field(t, all, "transactions").([]any)
	if len(list) != 5 || num(t, all, "pagination", "total") != "5" || num(t, all, "pagination", "limit") != "20" {
		t.Fatalf("all: %v", all)
	}
	first := list[0].(map[string]any)
	if first["type"] != "payment" || first["status"] != "pending" || first["telegram_id"] != nil || fmt.Sprint(first["id"]) != "5" {
		t.Fatalf("newest first: %v", first)
	}
	cases := map[string]int{
		"?type=payment": 2, "?type=withdraw": 3, "?status=completed": 4, "?status=pending": 1, "?type=payment&status=completed": 1,
		"?from=2025-01-07T13:00:00.000Z": 4, "?to=2025-01-07T13:00:00.000Z": 2, "?from=2025-01-07T13:00:00Z&to=2025-01-07T14:00:00Z": 2,
		"?from=2025-01-08": 0, "?to=2025-01-07": 5, "?limit=2": 2, "?limit=2&offset=4": 1, "?offset=9": 0, "?type=all&status=all": 5,
	}
	for q, n := range cases {
		r := call(t, s, "GET", "/transactions"+q, p.Key, nil)
		r.WantStatus(t, http.StatusOK)
		if got := len(field(t, obj(t, r), "transactions").([]any)); got != n {
			t.Errorf("%s: %d transactions, want %d (%s)", q, got, n, r.Body)
		}
	}
	for _, q := range []string{"?limit=101", "?limit=0", "?limit=x", "?offset=-1", "?type=refund", "?status=done", "?from=yesterday",
		"?from=2025-01-08&to=2025-01-07", "?sort=asc"} {
		wantCode(t, call(t, s, "GET", "/transactions"+q, p.Key, nil), http.StatusBadRequest, paychat.CodeValidation)
	}
	clock.Advance(24 * time.Hour)
	if r := obj(t, call(t, s, "GET", "/transactions?status=expired", p.Key, nil)); num(t, r, "pagination", "total") != "1" {
		t.Fatalf("expired: %v", r)
	}
}

func TestRateLimits_Classes(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	// Plan limit 25: payments 25, withdrawals 12, reads 75, other 3.
	s.Admin(t, "PATCH", "/partners/"+p.ID, map[string]any{"rateLimitPerMinute": 25}).WantStatus(t, http.StatusOK)
	deposit(t, s, p, "100")
	var last *apitest.Response
	for i := range 13 {
		last = call(t, s, "POST", "/withdrawals", p.Key, fmt.Sprintf(`{"telegram_id":"%d","amount":0.1}`, 100+i))
		if i < 12 {
			last.WantStatus(t, http.StatusOK)
			if got := last.Header.Get("X-RateLimit-Remaining"); got != fmt.Sprint(11-i) || last.Header.Get("X-RateLimit-Limit") != "12" {
				t.Fatalf("withdrawal %d: remaining %s limit %s", i, got, last.Header.Get("X-RateLimit-Limit"))
			}
		}
	}
	wantCode(t, last, http.StatusTooManyRequests, paychat.CodeRateLimited)
	if last.Header.Get("Retry-After") == "" || last.Header.Get("X-RateLimit-Remaining") != "0" || last.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("429 headers: %v", last.Header)
	}
	if balance(t, s, p) != "98.8" {
		t.Fatal("the refused withdrawal moved money")
	}
	// Other classes are unaffected.
	r := call(t, s, "POST", "/payments", p.Key, `{"amount":1}`)
	if r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "25" {
		t.Fatalf("payments class: %d %v", r.Status, r.Header)
	}
	if r := call(t, s, "GET", "/balance", p.Key, nil); r.Header.Get("X-RateLimit-Limit") != "75" {
		t.Fatalf("reads class: %v", r.Header)
	}
	for i := range 4 {
		r := call(t, s, "PUT", "/webhook", p.Key, `{"webhook_url":"https://example.com/h"}`)
		if i < 3 {
			r.WantStatus(t, http.StatusOK)
		} else {
			wantCode(t, r, http.StatusTooManyRequests, paychat.CodeRateLimited)
		}
	}
}

func TestRateLimits_PublicPerAddress(t *testing.T) {
	s := apitest.Start(t)
	for i := range paychat.PublicLimit {
		s.Do(t, "GET", paychat.Base+"/plans", nil, nil).WantStatus(t, http.StatusOK)
		_ = i
	}
	wantCode(t, s.Do(t, "GET", paychat.Base+"/me?telegram_id=1", nil, nil), http.StatusTooManyRequests, paychat.CodeRateLimited)
	wantCode(t, s.Do(t, "POST", paychat.Base+"/register", nil, map[string]string{"telegram_id": "1"}), http.StatusTooManyRequests, paychat.CodeRateLimited)
}

func TestWebhook_URLPolicy(t *testing.T) {
	s := apitest.Start(t) // development: http:// and loopback allowed
	p := register(t, s)
	wantCode(t, call(t, s, "POST", "/webhook-test", p.Key, nil), http.StatusBadRequest, paychat.CodeWebhookNotSet)
	for _, u := range []string{`"ftp://x.test/h"`, `""`, `"not a url"`, `1`, `"https://user:pw@x.test/"`} {
		wantCode(t, call(t, s, "PUT", "/webhook", p.Key, `{"webhook_url":`+u+`}`), http.StatusBadRequest, paychat.CodeInvalidWebhookURL)
	}
	var url string
	s.Sys.ReadState(func(st *engine.State) { q, _ := pc.GetPartner(st, p.ID); url = q.WebhookURL })
	if url != "" {
		t.Fatalf("a refused URL was set: %q", url)
	}
	call(t, s, "PUT", "/webhook", p.Key, `{"webhook_url":"http://127.0.0.1:9/h"}`).WantStatus(t, http.StatusOK)
	strict := apitest.StartWith(t, apitest.Options{StrictWebhookURLs: true})
	q := register(t, strict)
	for _, u := range []string{"http://example.com/h", "https://127.0.0.1/h", "https://localhost/h", "https://10.0.0.1/h"} {
		wantCode(t, call(t, strict, "PUT", "/webhook", q.Key, `{"webhook_url":"`+u+`"}`), http.StatusBadRequest, paychat.CodeInvalidWebhookURL)
	}
	r := call(t, strict, "PUT", "/webhook", q.Key, `{"webhook_url":"https://example.com/paychat"}`)
	if r.Status != http.StatusOK || str(t, obj(t, r), "webhook", "webhook_url") != "https://example.com/paychat" {
		t.Fatalf("https: %d %s", r.Status, r.Body)
	}
	if m := obj(t, call(t, strict, "POST", "/webhook-test", q.Key, nil)); !strings.HasPrefix(str(t, m, "webhook_test", "delivery_id"), "dlv_") {
		t.Fatalf("test: %v", m)
	}
}

func TestRegenerateKey_OldKeyStops(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	r := call(t, s, "POST", "/regenerate-key", p.Key, nil)
	r.WantStatus(t, http.StatusOK)
	key := str(t, obj(t, r), "api_key")
	if key == p.Key || !strings.HasPrefix(key, "pk_") {
		t.Fatalf("new key %q", key)
	}
	wantCode(t, call(t, s, "GET", "/balance", p.Key, nil), http.StatusUnauthorized, paychat.CodeInvalidAPIKey)
	call(t, s, "GET", "/balance", key, nil).WantStatus(t, http.StatusOK)
	s.Restart(t)
	wantCode(t, call(t, s, "GET", "/balance", p.Key, nil), http.StatusUnauthorized, paychat.CodeInvalidAPIKey)
	call(t, s, "GET", "/balance", key, nil).WantStatus(t, http.StatusOK)
}

func TestRoutes_EnvelopeForUnknown(t *testing.T) {
	s := apitest.Start(t)
	wantCode(t, call(t, s, "GET", "/nope", "", nil), http.StatusNotFound, paychat.CodeNotFound)
	wantCode(t, call(t, s, "DELETE", "/balance", "", nil), http.StatusMethodNotAllowed, paychat.CodeMethodNotAllowed)
	call(t, s, "GET", "/openapi.json", "", nil).WantStatus(t, http.StatusOK)
}

func TestFees_ScheduleChargesAndShows(t *testing.T) {
	s := apitest.Start(t)
	p := register(t, s)
	deposit(t, s, p, "100")
	if f := admin(t, s, "GET", "/fees", nil); !strings.Contains(string(f.Body), `"withdrawal":{"fixed":0,"bps":0}`) {
		t.Fatalf("default fees: %s", f.Body)
	}
	fees := `{"withdrawal":{"fixed":0.01,"bps":100},"payment":{"fixed":0,"bps":50},"tiers":[{"min_holdings":1000,"discount_bps":5000},{"min_holdings":100000,"discount_bps":10000}]}`
	admin(t, s, "PUT", "/fees", fees).WantStatus(t, http.StatusOK)
	for _, bad := range []string{`{"withdrawal":{"fixed":0,"bps":10001},"payment":{"fixed":0,"bps":0},"tiers":[]}`,
		`{"withdrawal":{"fixed":0,"bps":1},"payment":{"fixed":0,"bps":0}}`,
		`{"withdrawal":{"fixed":0,"bps":1},"payment":{"fixed":0,"bps":0},"tiers":[{"min_holdings":5,"discount_bps":1},{"min_holdings":5,"discount_bps":2}]}`} {
		wantCode(t, admin(t, s, "PUT", "/fees", bad), http.StatusBadRequest, paychat.CodeValidation)
	}
	// Withdrawal of 10: 0.01 + 1 % = 0.11, debited on top; holdings 100 < 1000, no discount.
	r := call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"77","amount":10}`)
	if num(t, obj(t, r), "withdrawal", "fee") != "0.11" || balance(t, s, p) != "89.89" {
		t.Fatalf("withdrawal fee: %s, balance %s", r.Body, balance(t, s, p))
	}
	// A refused call is not charged.
	call(t, s, "POST", "/withdrawals", p.Key, `{"telegram_id":"77","amount":89.89}`).WantStatus(t, http.StatusBadRequest)
	if balance(t, s, p) != "89.89" {
		t.Fatal("a refused withdrawal was charged")
	}
	link := str(t, createPayment(t, s, p, `{"amount":20}`), "payment", "link_id")
	admin(t, s, "POST", "/payments/"+link+"/pay", map[string]any{"telegram_id": "78", "fund": true}).WantStatus(t, http.StatusOK)
	if balance(t, s, p) != "109.79" { // + 20 - 0.5 %
		t.Fatalf("payment fee: balance %s", balance(t, s, p))
	}
	fee := obj(t, call(t, s, "GET", "/transactions?type=fee", p.Key, nil))
	if num(t, fee, "pagination", "total") != "2" {
		t.Fatalf("fee transactions: %v", fee)
	}
	if l := obj(t, admin(t, s, "GET", "/ledger", nil)); num(t, l, "ledger", "fee_account") != "0.21" || field(t, l, "ledger", "balanced") != true {
		t.Fatalf("ledger: %v", l)
	}
}
