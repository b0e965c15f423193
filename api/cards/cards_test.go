package cards

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var now = Month{Year: 2026, Month: 6}

// complete appends the digit that makes body pass the Luhn check.
func complete(t testing.TB, body string) string {
	t.Helper()
	for d := '0'; d <= '9'; d++ {
		if n := body + string(d); luhnValid(n) {
			return n
		}
	}
	t.Fatalf("no check digit for %q", body)
	return ""
}

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"", false},
		{"0", true},
		{"00", true},
		{"18", true},  // 1 doubled = 2, + 8 = 10
		{"59", true},  // 5 doubled = 10 -> 1, + 9 = 10
		{"91", true},  // 9 doubled = 18 -> 9, + 1 = 10
		{"19", false}, // 2 + 9
		{"4242424242424242", true},
		{"4242424242424241", false},
		{"4242424242424243", false},
		{"2424242424242424", false}, // digits swapped pairwise
		{"378282246310005", true},   // odd length
		{"378282246310006", false},
		{"5555555555554444", true},
		{"6011111111111117", true},
		{"79927398713", true},
		{"79927398710", false},
		{"0000000000000000", true},
		{"9999999999999995", true},
	} {
		if got := luhnValid(tc.in); got != tc.want {
			t.Errorf("luhnValid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	// Every single-digit change of a valid number is caught.
	base := "4242424242424242"
	for i := range base {
		for d := byte('0'); d <= '9'; d++ {
			if d == base[i] {
				continue
			}
			b := []byte(base)
			b[i] = d
			if luhnValid(string(b)) {
				t.Errorf("luhnValid(%s) = true after changing digit %d", b, i)
			}
		}
	}
}

func TestBrandOf(t *testing.T) {
	for _, tc := range []struct {
		prefix, want string
	}{
		{"4", Visa},
		{"40", Visa},
		{"49", Visa},
		{"50", Unknown},
		{"51", Mastercard},
		{"53", Mastercard},
		{"55", Mastercard},
		{"56", Unknown},
		{"2220", Unknown},
		{"2221", Mastercard},
		{"2500", Mastercard},
		{"2720", Mastercard},
		{"2721", Unknown},
		{"2200", Unknown},
		{"33", Unknown},
		{"34", Amex},
		{"35", Unknown},
		{"36", Unknown},
		{"37", Amex},
		{"38", Unknown},
		{"6010", Unknown},
		{"6011", Discover},
		{"6012", Unknown},
		{"643", Unknown},
		{"644", Discover},
		{"646", Discover},
		{"649", Discover},
		{"650", Discover},
		{"659", Discover},
		{"66", Unknown},
		{"62", Unknown},
		{"1", Unknown},
		{"3", Unknown},
		{"0", Unknown},
	} {
		n := tc.prefix + strings.Repeat("0", 16-len(tc.prefix))
		if got := BrandOf(n); got != tc.want {
			t.Errorf("BrandOf(%s) = %q, want %q", n, got, tc.want)
		}
	}
	for _, n := range []string{"", "5", "22", "x4", "5a", "60a1"} {
		if got := BrandOf(n); got != Unknown {
			t.Errorf("BrandOf(%q) = %q, want unknown", n, got)
		}
	}
	for n, want := range map[string]string{
		"4242424242424242": Visa,
		"5555555555554444": Mastercard,
		"2223003122003222": Mastercard,
		"378282246310005":  Amex,
		"371449635398431":  Amex,
		"6011111111111117": Discover,
		"6011000990139424": Discover,
		"3530111333300000": Unknown, // JCB: not a brand the sandbox names
		"30569309025904":   Unknown, // Diners Club
	} {
		if got := BrandOf(n); got != want {
			t.Errorf("BrandOf(%s) = %q, want %q", n, got, want)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range []struct {
		number      string
		cvc         string
		brand       string
		last4       string
		month, year int64
	}{
		{"4242424242424242", "123", Visa, "4242", 12, 2034},
		{"5555555555554444", "000", Mastercard, "4444", 1, 2027},
		{"378282246310005", "1234", Amex, "0005", 6, 2026}, // this month: still good
		{"6011111111111117", "999", Discover, "1117", 12, 2026},
		{"3530111333300000", "123", Unknown, "0000", 7, 2076},         // now + 50
		{complete(t, "42424242424"), "123", Visa, "", 1, 2030},        // 12 digits
		{complete(t, "424242424242424242"), "123", Visa, "", 1, 2030}, // 19 digits
		{complete(t, "222100000000000"), "123", Mastercard, "", 1, 2030},
		{complete(t, "272099999999999"), "123", Mastercard, "", 1, 2030},
		{complete(t, "644000000000000"), "123", Discover, "", 1, 2030},
		{complete(t, "34000000000000"), "0000", Amex, "", 1, 2030},
	} {
		card, err := Parse(tc.number, tc.month, tc.year, tc.cvc, now)
		if err != nil {
			t.Errorf("Parse(%s, %d/%d, %s) = %v", tc.number, tc.month, tc.year, tc.cvc, err)
			continue
		}
		last4 := tc.last4
		if last4 == "" {
			last4 = tc.number[len(tc.number)-4:]
		}
		want := Card{Brand: tc.brand, Last4: last4, ExpMonth: tc.month, ExpYear: tc.year}
		if card != want {
			t.Errorf("Parse(%s) = %+v, want %+v", tc.number, card, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	numberErr := &Error{Code: CodeIncorrectNumber, Message: MsgIncorrectNumber, Param: ParamNumber}
	badMonth := &Error{Code: CodeInvalidExpiryMonth, Message: MsgInvalidExpiryMonth, Param: ParamExpMonth}
	pastMonth := &Error{Code: CodeInvalidExpiryMonth, Message: MsgPastExpiryMonth, Param: ParamExpMonth}
	badYear := &Error{Code: CodeInvalidExpiryYear, Message: MsgInvalidExpiryYear, Param: ParamExpYear}
	pastYear := &Error{Code: CodeInvalidExpiryYear, Message: MsgPastExpiryYear, Param: ParamExpYear}
	cvcErr := &Error{Code: CodeInvalidCVC, Message: MsgInvalidCVC, Param: ParamCVC}
	const visa = "4242424242424242"
	const amex = "378282246310005"
	for _, tc := range []struct {
		name        string
		number      string
		month, year int64
		cvc         string
		want        *Error
	}{
		{"empty number", "", 12, 2030, "123", numberErr},
		{"bad luhn", "4242424242424241", 12, 2030, "123", numberErr},
		{"spaces", "4242 4242 4242 4242", 12, 2030, "123", numberErr},
		{"dashes", "4242-4242-4242-4242", 12, 2030, "123", numberErr},
		{"leading space", " 4242424242424242", 12, 2030, "123", numberErr},
		{"trailing newline", "4242424242424242\n", 12, 2030, "123", numberErr},
		{"plus sign", "+4242424242424242", 12, 2030, "123", numberErr},
		{"letters", "42424242424242AB", 12, 2030, "123", numberErr},
		{"arabic-indic digits", "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢", 12, 2030, "123", numberErr},
		{"fullwidth digits", "４２４２４２４２４２４２４２４２", 12, 2030, "123", numberErr},
		{"11 digits", complete(t, "4242424242"), 12, 2030, "123", numberErr},
		{"20 digits", complete(t, "4242424242424242424"), 12, 2030, "123", numberErr},
		{"month 0", visa, 0, 2030, "123", badMonth},
		{"month 13", visa, 13, 2030, "123", badMonth},
		{"month -1", visa, -1, 2030, "123", badMonth},
		{"month huge", visa, 1 << 62, 2030, "123", badMonth},
		{"last month", visa, 5, 2026, "123", pastMonth},
		{"january this year", visa, 1, 2026, "123", pastMonth},
		{"last year", visa, 12, 2025, "123", pastYear},
		{"two-digit year", visa, 12, 30, "123", pastYear},
		{"year 0", visa, 12, 0, "123", pastYear},
		{"negative year", visa, 12, -2030, "123", pastYear},
		{"now+51", visa, 1, 2077, "123", badYear},
		{"five-digit year", visa, 1, 20300, "123", badYear},
		{"huge year", visa, 1, 1<<63 - 1, "123", badYear},
		{"bad month beats past year", visa, 13, 2020, "123", badMonth},
		{"visa cvc 4", visa, 12, 2030, "1234", cvcErr},
		{"visa cvc 2", visa, 12, 2030, "12", cvcErr},
		{"cvc empty", visa, 12, 2030, "", cvcErr},
		{"cvc letters", visa, 12, 2030, "12a", cvcErr},
		{"cvc space", visa, 12, 2030, "12 ", cvcErr},
		{"amex cvc 3", amex, 12, 2030, "123", cvcErr},
		{"amex cvc 5", amex, 12, 2030, "12345", cvcErr},
		{"amex cvc sign", amex, 12, 2030, "-123", cvcErr},
		{"number beats everything", "1", 0, 0, "", numberErr},
		{"expiry beats cvc", visa, 5, 2026, "", pastMonth},
	} {
		t.Run(tc.name, func(t *testing.T) {
			card, err := Parse(tc.number, tc.month, tc.year, tc.cvc, now)
			if err == nil {
				t.Fatalf("accepted: %+v", card)
			}
			if *err != *tc.want {
				t.Errorf("error = %+v, want %+v", *err, *tc.want)
			}
			if card != (Card{}) {
				t.Errorf("card = %+v alongside an error", card)
			}
		})
	}
}

func TestExpiryAroundYearEnd(t *testing.T) {
	dec := Month{Year: 2026, Month: 12}
	if _, err := Parse("4242424242424242", 12, 2026, "123", dec); err != nil {
		t.Errorf("12/2026 in 12/2026: %v", err)
	}
	if _, err := Parse("4242424242424242", 11, 2026, "123", dec); err == nil || err.Code != CodeInvalidExpiryMonth {
		t.Errorf("11/2026 in 12/2026: %v, want invalid_expiry_month", err)
	}
	jan := Month{Year: 2027, Month: 1}
	if _, err := Parse("4242424242424242", 12, 2026, "123", jan); err == nil || err.Code != CodeInvalidExpiryYear {
		t.Errorf("12/2026 in 1/2027: %v, want invalid_expiry_year", err)
	}
	if _, err := Parse("4242424242424242", 1, 2027, "123", jan); err != nil {
		t.Errorf("1/2027 in 1/2027: %v", err)
	}
}

func TestMonthOf(t *testing.T) {
	got := MonthOf(time.Date(2026, time.March, 31, 23, 59, 59, 0, time.UTC))
	if got != (Month{Year: 2026, Month: 3}) {
		t.Errorf("MonthOf = %+v", got)
	}
}

func TestErrorString(t *testing.T) {
	_, err := Parse("1", 1, 2030, "123", now)
	if got, want := err.Error(), "incorrect_number: Your card number is incorrect."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestFingerprint(t *testing.T) {
	key := []byte("server-held key")
	a := Fingerprint(key, "4242424242424242")
	if len(a) != 2*FingerprintBytes {
		t.Fatalf("len = %d, want %d", len(a), 2*FingerprintBytes)
	}
	if strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("not lower-case hex: %q", a)
	}
	if a != Fingerprint(key, "4242424242424242") {
		t.Error("not stable")
	}
	if a == Fingerprint(key, "5555555555554444") {
		t.Error("two numbers, one fingerprint")
	}
	if a == Fingerprint([]byte("another key"), "4242424242424242") {
		t.Error("fingerprint does not depend on the key")
	}
	if strings.Contains(a, "4242") {
		t.Errorf("fingerprint %q shows the number", a)
	}
	// RFC 4231 test case 2 (key "Jefe"), first 16 bytes.
	if got, want := Fingerprint([]byte("Jefe"), "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c7"; got != want {
		t.Errorf("Fingerprint(Jefe) = %s, want %s", got, want)
	}
}

func TestCardHoldsNoSecret(t *testing.T) {
	const number = "4242424242424242"
	card, err := Parse(number, 12, 2030, "987", now)
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%+v %#v", card, card); strings.Contains(s, "987") {
		t.Errorf("card shows the CVC: %s", s)
	}
	card.Fingerprint = Fingerprint([]byte("k"), number)
	if s := fmt.Sprintf("%+v %#v", card, card); strings.Contains(s, number) {
		t.Errorf("card shows the number: %s", s)
	}
}

// TestKeyed: the pooled HMAC gives Fingerprint's answer and the plain
// HMAC's bytes, from many goroutines at once (run with -race), and a
// change to the caller's key slice afterwards does not change it.
func TestKeyed(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	k := NewKeyed(key)
	want := map[string]string{}
	for i := range 50 {
		n := strconv.Itoa(4242424242424242 + i)
		want[n] = Fingerprint(key, n)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("payload"))
	plain := m.Sum([]byte("prefix"))
	key[0] ^= 0xff // NewKeyed copied it
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n, fp := range want {
				if got := k.Fingerprint(n); got != fp {
					t.Errorf("Keyed.Fingerprint(%s) = %s, want %s", n, got, fp)
				}
			}
			if got := k.Sum([]byte("prefix"), "payload"); !bytes.Equal(got, plain) {
				t.Errorf("Keyed.Sum = %x, want %x", got, plain)
			}
		}()
	}
	wg.Wait()
}
