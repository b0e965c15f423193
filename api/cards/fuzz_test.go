package cards

import (
	"fmt"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []struct {
		number      string
		month, year int64
		cvc         string
	}{
		{"4242424242424242", 12, 2030, "123"},
		{"378282246310005", 6, 2026, "1234"},
		{"5555555555554444", 5, 2026, "123"},
		{"4000000000000002", 1, 2076, "000"},
		{"6011111111111117", 13, 2030, "123"},
		{"4242 4242 4242 4242", 12, 2030, "123"},
		{"", 0, 0, ""},
		{"0000000000000", 1, 2027, "000"},
		{"9999999999999999995", 12, 2076, "999"},
		{"42424242424242424242", 12, 2030, "123"},
		{"\xff\xfe4242424242424242", 12, 2030, "123"},
		{"4242424242424242", -1 << 63, 1<<63 - 1, "12a"},
	} {
		f.Add(s.number, s.month, s.year, s.cvc)
	}
	f.Fuzz(func(t *testing.T, number string, month, year int64, cvc string) {
		card, err := Parse(number, month, year, cvc, now)
		_ = BrandOf(number)
		_ = Outcome(number, false)
		_ = Outcome(number, true)
		if err != nil {
			if err.Code == "" || err.Message == "" || err.Param == "" {
				t.Fatalf("incomplete error %+v", *err)
			}
			if card != (Card{}) {
				t.Fatalf("card %+v alongside error", card)
			}
			return
		}
		if len(number) < MinDigits || len(number) > MaxDigits || !allDigits(number) {
			t.Fatalf("accepted malformed number %q", number)
		}
		if card.Last4 != number[len(number)-4:] {
			t.Fatalf("Last4 %q of %q", card.Last4, number)
		}
		if card.ExpMonth != month || card.ExpYear != year || month < 1 || month > 12 {
			t.Fatalf("expiry %d/%d became %d/%d", month, year, card.ExpMonth, card.ExpYear)
		}
		if s := fmt.Sprintf("%+v", card); strings.Contains(s, number) {
			t.Fatalf("card %s contains the number", s)
		}
		card.Fingerprint = Fingerprint([]byte("fuzz key"), number)
		if s := fmt.Sprintf("%+v", card); strings.Contains(s, number) {
			t.Fatalf("card %s contains the number", s)
		}
	})
}
