package paychat_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"ledgerd/api/httpx"
	"ledgerd/api/paychat"
	pc "ledgerd/engine/paychat"
)

func amountSamples() []int64 {
	out := []int64{1, 9, 10, 100_000, 1_000_000, 10_000_000, 29_990_000, 1_250_500_000, 999_999, 123_456_789_012_345,
		pc.MaxAmount, pc.MaxAmount - 1, 100_000_000_000_000, 999_999_999_000_000, 1_000_001, 500_000_000_000_001}
	r := rand.New(rand.NewPCG(1, 2))
	for range 500 {
		out = append(out, 1+r.Int64N(pc.MaxAmount))
		out = append(out, 1+r.Int64N(1_000_000_000))
	}
	return out
}

func TestFormatAmount(t *testing.T) {
	for micro, want := range map[int64]string{1: "0.000001", 10_000_000: "10", 29_990_000: "29.99", 1_250_500_000: "1250.5",
		pc.MaxAmount: "999999999.999999", 100_000: "0.1", 0: "0", 1_000_010: "1.00001"} {
		if got := paychat.FormatAmount(micro); got != want {
			t.Errorf("%d: %s, want %s", micro, got, want)
		}
	}
	// Go's shortest float formatting agrees (JavaScript's algorithm is
	// the same shortest round-trip): the decimal is the double's own.
	for _, micro := range amountSamples() {
		f, _ := strconv.ParseFloat(paychat.FormatAmount(micro), 64)
		if got := string(paychat.AppendJSNumber(nil, f)); got != paychat.FormatAmount(micro) {
			t.Errorf("%d: written %s, the double prints %s", micro, paychat.FormatAmount(micro), got)
		}
	}
}

func TestParseAmount(t *testing.T) {
	for text, want := range map[string]int64{"0.000001": 1, "10": 10_000_000, "10.00": 10_000_000, "29.99": 29_990_000,
		"999999999.999999": pc.MaxAmount, "1.100000": 1_100_000, "0.5": 500_000} {
		if got, err := paychat.ParseAmountText([]byte(text)); err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", text, got, err, want)
		}
	}
	for _, text := range []string{"0", "0.0", "-1", "1.0000000", "0.0000001", "1e2", "1E-6", "1000000000", "01", ".5", "5.", "", "+1", "1.2.3", " 1", "0x10"} {
		if _, err := paychat.ParseAmountText([]byte(text)); err == nil {
			t.Errorf("%q accepted", text)
		}
	}
	if _, err := paychat.ParseAmount(httpx.Value{Kind: httpx.KindString, Str: []byte("10")}); err == nil {
		t.Error("a string amount is accepted")
	}
}

func TestAppendJSNumber(t *testing.T) {
	for f, want := range map[float64]string{0: "0", math.Copysign(0, -1): "0", 1: "1", 100: "100", 1e21: "1e+21", 1e20: "100000000000000000000",
		0.1: "0.1", 1.5e-7: "1.5e-7", 1e-7: "1e-7", 0.000001: "0.000001", 123.456: "123.456", -2.5: "-2.5", 12345678901234567890: "12345678901234567000",
		1.7976931348623157e308: "1.7976931348623157e+308", 5e-324: "5e-324", 0.30000000000000004: "0.30000000000000004"} {
		if got := string(paychat.AppendJSNumber(nil, f)); got != want {
			t.Errorf("%v: %s, want %s", f, got, want)
		}
	}
}
