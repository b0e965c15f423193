package cards_test

import (
	"fmt"
	"time"

	"ledgerd/api/cards"
)

func Example() {
	// The request's card details; the number and CVC stay in this function.
	number, cvc := "4000000000009995", "123"
	now := cards.MonthOf(time.Date(2026, time.June, 15, 0, 0, 0, 0, time.UTC))

	card, err := cards.Parse(number, 12, 2030, cvc, now)
	if err != nil {
		fmt.Println("402", err.Code, err.Param) // nothing is created
		return
	}
	card.Fingerprint = cards.Fingerprint([]byte("server-held key"), number)
	fmt.Println(card.Brand, card.Last4, card.ExpMonth, card.ExpYear, len(card.Fingerprint))

	d := cards.Outcome(number, false)
	fmt.Println(d.Approved, d.Code, d.DeclineCode, d.Message)

	d = cards.Outcome(number, true)
	fmt.Println(d.Approved, d.Code, d.Message)

	_, err = cards.Parse("4242424242424242", 5, 2026, cvc, now)
	fmt.Println(err.Code, err.Param, err.Message)
	// Output:
	// visa 9995 12 2030 32
	// false card_declined insufficient_funds Your card has insufficient funds.
	// false card_declined Your card was declined. Your request was in live mode, but used a known test card.
	// invalid_expiry_month payment_method[card][exp_month] Your card's expiration date is in the past.
}
