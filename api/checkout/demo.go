package checkout

import (
	"errors"
	"fmt"
	"strings"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
)

// Demo is what --demo prints of the checkout.
type Demo struct {
	ShopID      string
	TestKey     string // ck_test_…
	CheckoutURL string // of a pending $25.00 test payment
}

// CreateDemo creates a demo shop and one pending test payment of $25.00
// whose return_url is an example shop page. A fresh shop each time: only
// key hashes are stored, so an old key cannot be shown again.
func CreateDemo(sys *actors.System, cfg Config) (Demo, error) {
	a := newAPI(sys, cfg)
	if !strings.HasPrefix(a.cfg.PublicURL, "http") {
		return Demo{}, errors.New("checkout: demo: no public URL")
	}
	sh, testKey, _, err := a.CreateShop("Demo Coffee Roasters", "#0f766e", nil, "", "", 0)
	if err != nil {
		return Demo{}, fmt.Errorf("checkout: demo shop: %w", err)
	}
	r := a.create(ack.Auth{Shop: sh.ID}, createRequest{Amount: 2500, Currency: "usd", ReturnURL: "https://example.com/order/1001/thanks",
		CustomerName: "Demo Customer"}, "")
	if r.Status != actors.StatusOK || r.HTTP != 200 {
		return Demo{}, fmt.Errorf("checkout: demo payment: status %d", r.Status)
	}
	i := strings.Index(string(r.Body), `"checkout_url":"`)
	if i < 0 {
		return Demo{}, errors.New("checkout: demo payment: no checkout_url")
	}
	rest := string(r.Body[i+len(`"checkout_url":"`):])
	return Demo{ShopID: sh.ID, TestKey: testKey, CheckoutURL: rest[:strings.IndexByte(rest, '"')]}, nil
}

// StartExpirer starts the expirer of pending payments with this module's
// payment.failed webhook body; stop it after the HTTP server, before the
// System.
func StartExpirer(sys *actors.System, cfg Config) (*ack.Expirer, error) {
	a := newAPI(sys, cfg)
	return ack.StartExpirer(sys, ack.ExpirerConfig{Notice: a.notice})
}
