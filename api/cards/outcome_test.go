package cards

import "testing"

func TestOutcomeTestMode(t *testing.T) {
	ok := Decision{Approved: true}
	for _, tc := range []struct {
		number string
		want   Decision
	}{
		{"4242424242424242", ok},
		{"5555555555554444", ok},
		{"378282246310005", ok},
		{"4000000000000002", Decision{Code: "card_declined", DeclineCode: "generic_decline", Message: "Your card was declined."}},
		{"4000000000009995", Decision{Code: "card_declined", DeclineCode: "insufficient_funds", Message: "Your card has insufficient funds."}},
		{"4000000000009987", Decision{Code: "card_declined", DeclineCode: "lost_card", Message: "Your card was declined."}},
		{"4000000000009979", Decision{Code: "card_declined", DeclineCode: "stolen_card", Message: "Your card was declined."}},
		{"4000000000000069", Decision{Code: "expired_card", Message: "Your card has expired."}},
		{"4000000000000127", Decision{Code: "incorrect_cvc", Message: "Your card's security code is incorrect."}},
		{"4000000000000119", Decision{Code: "processing_error", Message: "An error occurred while processing your card. Try again in a little bit."}},
		{"6011111111111117", ok},
		{"4012888888881881", ok},
		{"3530111333300000", ok},
	} {
		if got := Outcome(tc.number, false); got != tc.want {
			t.Errorf("Outcome(%s, test) = %+v, want %+v", tc.number, got, tc.want)
		}
	}
}

func TestOutcomeLiveMode(t *testing.T) {
	liveDecline := Decision{
		Code:        "card_declined",
		DeclineCode: "test_mode_decline",
		Message:     "Your card was declined. Your request was in live mode, but used a known test card.",
	}
	for _, n := range []string{
		"4242424242424242", "5555555555554444", "378282246310005",
		"4000000000000002", "4000000000009995", "4000000000009987", "4000000000009979",
		"4000000000000069", "4000000000000127", "4000000000000119",
	} {
		if !IsTestCard(n) {
			t.Errorf("IsTestCard(%s) = false", n)
		}
		if got := Outcome(n, true); got != liveDecline {
			t.Errorf("Outcome(%s, live) = %+v, want %+v", n, got, liveDecline)
		}
	}
	for _, n := range []string{"6011111111111117", "4012888888881881", "5105105105105100", "371449635398431"} {
		if IsTestCard(n) {
			t.Errorf("IsTestCard(%s) = true", n)
		}
		if got := Outcome(n, true); got != (Decision{Approved: true}) {
			t.Errorf("Outcome(%s, live) = %+v, want approved", n, got)
		}
	}
}

// Every test card passes Parse, so the table is reachable through the API.
func TestTestCardsAreValid(t *testing.T) {
	for n := range testCards {
		cvc := "123"
		if BrandOf(n) == Amex {
			cvc = "1234"
		}
		if _, err := Parse(n, 12, 2034, cvc, now); err != nil {
			t.Errorf("Parse(%s) = %v", n, err)
		}
	}
	if len(testCards) != 10 {
		t.Errorf("%d test cards, want 10", len(testCards))
	}
}

// An approval carries no code or message; a refusal always has a code and a
// message, and a decline code exactly when the code is card_declined.
func TestDecisionShape(t *testing.T) {
	for n := range testCards {
		for _, live := range []bool{false, true} {
			d := Outcome(n, live)
			if d.Approved {
				if d != (Decision{Approved: true}) {
					t.Errorf("Outcome(%s, %v) = %+v: approval with details", n, live, d)
				}
				continue
			}
			if d.Code == "" || d.Message == "" || (d.DeclineCode != "") != (d.Code == CodeCardDeclined) {
				t.Errorf("Outcome(%s, %v) = %+v: malformed refusal", n, live, d)
			}
		}
	}
}
