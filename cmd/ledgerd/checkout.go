package main

import (
	"fmt"
	"io"

	"ledgerd/actors"
	ack "ledgerd/actors/checkout"
	"ledgerd/api/checkout"
)

// startCheckout seeds the --demo checkout shop and a pending payment
// (printing the shop's test key and the payment's checkout_url) and starts
// the expirer of pending payments.
func startCheckout(sys *actors.System, demo bool, cfg checkout.Config, out io.Writer) (*ack.Expirer, error) {
	if demo {
		d, err := checkout.CreateDemo(sys, cfg)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "demo checkout shop %s\nexport CHECKOUT_KEY=%s\ncheckout_url: %s\n", d.ShopID, d.TestKey, d.CheckoutURL)
	}
	x, err := checkout.StartExpirer(sys, cfg)
	if err != nil {
		return nil, fmt.Errorf("checkout expirer: %w", err)
	}
	return x, nil
}
