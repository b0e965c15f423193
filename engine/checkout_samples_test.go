package engine_test

import (
	"ledgerd/engine"
	"ledgerd/engine/checkout"
)

// checkoutSamples are one event of each checkout type with every field
// set (engine/checkout applies and snapshots its own).
func checkoutSamples() []engine.Event {
	o := checkout.Owner{Shop: "shop_1", Live: true}
	ans := checkout.Answer{Key: "idem-7", Fingerprint: "POST /payments abc", Status: 200, Response: []byte(`{"id":"pay_1"}`)}
	shop := checkout.Shop{ID: "shop_1", Name: "Shop ünïcode", AccentColor: "#112233", Logo: []byte("\x89PNG\r\n"), LogoType: checkout.LogoPNG,
		WebhookURL: "https://example.test/hook", WebhookRotation: 1, CreatedMs: 1700000000040}
	pay := checkout.Payment{Owner: o, ID: "pay_1", Amount: 2000, Currency: "usd", ReturnURL: "https://shop.test/back", CustomerEmail: "e@x.test",
		CustomerName: "N", Metadata: `{"a":1}`, Token: "tok_0123456789abcdef0123456789abcdef", Status: checkout.StatusPending,
		CreatedMs: 1700000000042, ExpiresMs: 1700086400042}
	notice := func(typ string) checkout.Notice {
		return checkout.Notice{ID: "evt_1", Type: typ, Body: []byte(`{"type":"` + typ + `"}`)}
	}
	return []engine.Event{
		&checkout.ShopCreated{Stamp: at(1700000000040), Shop: shop},
		&checkout.ShopUpdated{Stamp: at(1700000000041), Shop: shop},
		&checkout.PaymentCreated{Stamp: at(1700000000042), Payment: pay, Answer: ans},
		&checkout.PaymentDeclined{Stamp: at(1700000000043), Owner: o, ID: "pay_1", Attempt: 5, DeclineCode: "generic_decline",
			Notice: notice(checkout.EventPaymentFailed)},
		&checkout.PaymentCompleted{Stamp: at(1700000000044), Owner: o, ID: "pay_1", CardBrand: "visa", CardLast4: "4242",
			Notice: notice(checkout.EventPaymentCompleted)},
		&checkout.PaymentExpired{Stamp: at(1700000000045), Owner: o, ID: "pay_1", Notice: notice(checkout.EventPaymentFailed)},
		&checkout.PaymentRefunded{Stamp: at(1700000000046), Owner: o, ID: "pay_1", Amount: 500, AmountRefundedAfter: 700,
			Notice: notice(checkout.EventPaymentRefunded), Answer: ans},
		&checkout.Refused{Stamp: at(1700000000047), Owner: o, Answer: ans},
	}
}
