package bench

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"ledgerd/api/paypay"
	"ledgerd/api/payshards"
)

func testGenerator(scenario string, codes []string) *generator {
	sh := newShared(scenario, 50, 10, "run1", codes, Endpoint{Host: "127.0.0.1:1", PayShardsKey: "pk_ps", PayPayKey: "pk_pp"})
	return newGenerator(sh, 3, 42)
}

// ack answers a request the way ledgerd does on success.
func ack(g *generator, o op, idempotent bool) {
	resp := &fasthttp.Response{}
	resp.SetStatusCode(200)
	if idempotent {
		resp.SetBodyString(`{"success":true,"newBalance":1,"idempotent":true}`)
	} else {
		resp.SetBodyString(`{"success":true,"newBalance":1,"idempotent":false}`)
	}
	g.done(o, 200, resp)
}

func TestPayShardsBodiesDecode(t *testing.T) {
	for _, sc := range []string{ScenarioDeduct, ScenarioMixed, ScenarioHotWallet, ScenarioRetryStorm} {
		t.Run(sc, func(t *testing.T) {
			g := testGenerator(sc, nil)
			refs := map[string]bool{}
			ops := map[op]int{}
			for range 2000 {
				req, o := g.next()
				ops[o]++
				if got := string(req.Header.Peek("x-api-key")); got != "pk_ps" {
					t.Fatalf("x-api-key = %q", got)
				}
				if o == opBalance {
					if string(req.Header.Method()) != "GET" || !strings.HasPrefix(string(req.URI().Path()), PathBalance) {
						t.Fatalf("balance request %s %s", req.Header.Method(), req.URI())
					}
					if _, err := payshards.DecodeUserID(req.URI().QueryArgs().Peek("userId")); err != nil {
						t.Fatalf("balance userId: %v", err)
					}
					continue
				}
				if string(req.Header.Method()) != "POST" {
					t.Fatalf("method %s", req.Header.Method())
				}
				cmd, err := payshards.DecodeCommand(req.Body())
				if err != nil {
					t.Fatalf("%s body %s: %v", o, req.Body(), err)
				}
				if !json.Valid(req.Body()) || cmd.Amount != 1 {
					t.Fatalf("body %s", req.Body())
				}
				switch sc {
				case ScenarioHotWallet:
					if cmd.UserID != "u0" {
						t.Fatalf("hot-wallet user %s", cmd.UserID)
					}
				case ScenarioRetryStorm:
					if !strings.HasPrefix(cmd.Reference, "storm-run1-") {
						t.Fatalf("storm reference %s", cmd.Reference)
					}
				default:
					key := o.String() + "/" + cmd.Reference
					if o == opDeduct && refs[key] {
						t.Fatalf("reference %s sent twice", key)
					}
					refs[key] = true
				}
				if o == opRefund && !refs["deduct/"+strings.Replace(cmd.Reference, "-r", "-d", 1)] {
					t.Fatalf("refund %s of a deduct never sent", cmd.Reference)
				}
				ack(g, o, false)
			}
			if sc == ScenarioRetryStorm && len(refs) > 0 {
				t.Fatal("unexpected")
			}
			if sc == ScenarioMixed {
				for _, o := range []op{opDeduct, opBalance, opRefund} {
					if share := float64(ops[o]) / 2000; o == opDeduct && (share < 0.5 || share > 0.7) || o != opDeduct && (share < 0.12 || share > 0.28) {
						t.Errorf("%s share %.2f (%v)", o, share, ops)
					}
				}
			}
		})
	}
}

func TestRetryStormPool(t *testing.T) {
	g := testGenerator(ScenarioRetryStorm, nil)
	refs := map[string]string{}
	for range 500 {
		req, _ := g.next()
		cmd, err := payshards.DecodeCommand(req.Body())
		if err != nil {
			t.Fatal(err)
		}
		if u, ok := refs[cmd.Reference]; ok && u != cmd.UserID {
			t.Fatalf("reference %s with users %s and %s: would be idempotency_conflict", cmd.Reference, u, cmd.UserID)
		}
		refs[cmd.Reference] = cmd.UserID
	}
	if len(refs) != 10 {
		t.Fatalf("%d distinct references, want the pool of 10", len(refs))
	}
	resp := &fasthttp.Response{}
	resp.SetBodyString(`{"success":true,"newBalance":1,"idempotent":true}`)
	if !g.done(opDeduct, 200, resp) {
		t.Fatal("idempotent:true not counted as a replay")
	}
}

func TestMixedRefundsOnlyAcknowledged(t *testing.T) {
	g := testGenerator(ScenarioMixed, nil)
	for range 200 { // nothing acknowledged: no refund
		if _, o := g.next(); o == opRefund {
			t.Fatal("refund before any acknowledged deduct")
		}
	}
}

func TestPayPayRedeemBodies(t *testing.T) {
	codes := []string{"PP-2345-6789-ABCD", "PP-BCDE-FGHJ-KMNP"}
	g := testGenerator(ScenarioPayPayRedem, codes)
	keys := map[string]bool{}
	for i := range 4 {
		req, o := g.next()
		if o != opRedeem || string(req.URI().Path()) != PathRedeem {
			t.Fatalf("op %s path %s", o, req.URI().Path())
		}
		if got := string(req.Header.Peek("Authorization")); got != "Bearer pk_pp" {
			t.Fatalf("Authorization %q", got)
		}
		code, err := paypay.DecodeCode(req.Body())
		if err != nil {
			t.Fatalf("body %s: %v", req.Body(), err)
		}
		if code != codes[i%2] {
			t.Fatalf("code %s, want %s", code, codes[i%2])
		}
		key := string(req.Header.Peek("Idempotency-Key"))
		if _, _, err := paypay.DecodeIdempotencyKey([]byte(key)); err != nil || key == "" {
			t.Fatalf("Idempotency-Key %q: %v", key, err)
		}
		if i < 2 && keys[key] {
			t.Fatalf("key %s reused for a fresh code", key)
		}
		keys[key] = true
	}
	// Without codes (the ceiling), bodies still have the same shape.
	g = testGenerator(ScenarioPayPayRedem, nil)
	req, _ := g.next()
	if !json.Valid(req.Body()) || !strings.Contains(string(req.Body()), `"code":"PP-`) {
		t.Fatalf("synthetic body %s", req.Body())
	}
}

func TestGeneratorAllocations(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is not meaningful under -short")
	}
	g := testGenerator(ScenarioMixed, nil)
	resp := &fasthttp.Response{}
	resp.SetBodyString(`{"success":true,"newBalance":1,"idempotent":false}`)
	for range 100 {
		_, o := g.next()
		g.done(o, 200, resp)
	}
	avg := testing.AllocsPerRun(1000, func() {
		_, o := g.next()
		g.done(o, 200, resp)
	})
	if avg > 0.1 {
		t.Fatalf("%.2f allocations per request", avg)
	}
}

// TestPaySmartPaymentRequests: paysmart-payment sends the same payment
// body, which PaySmart's own decoder would take, with the secret key and
// a new Idempotency-Key each time; a replay is told by the header.
func TestPaySmartPaymentRequests(t *testing.T) {
	sh := newShared(ScenarioPaySmartPay, 1, 1, "run1", nil, Endpoint{Host: "127.0.0.1:1", PaySmartKey: "sk_test_abc"})
	g := newGenerator(sh, 3, 42)
	keys := map[string]bool{}
	for range 1000 {
		req, o := g.next()
		if o != opPayment || string(req.Header.Method()) != "POST" || string(req.URI().Path()) != PathPayment {
			t.Fatalf("%s %s %s", o, req.Header.Method(), req.URI().Path())
		}
		if got := string(req.Header.Peek("Authorization")); got != "Bearer sk_test_abc" {
			t.Fatalf("Authorization %q", got)
		}
		if string(req.Body()) != PaySmartPaymentBody {
			t.Fatalf("body %s", req.Body())
		}
		k := string(req.Header.Peek("Idempotency-Key"))
		if !strings.HasPrefix(k, "krun1-3-") || keys[k] {
			t.Fatalf("Idempotency-Key %q (seen before: %v)", k, keys[k])
		}
		keys[k] = true
	}
	var body struct {
		Amount        int64  `json:"amount"`
		Currency      string `json:"currency"`
		PaymentMethod struct {
			Type string `json:"type"`
			Card struct {
				Number  string `json:"number"`
				ExpYear int    `json:"exp_year"`
				CVC     string `json:"cvc"`
			} `json:"card"`
		} `json:"payment_method"`
	}
	if err := json.Unmarshal([]byte(PaySmartPaymentBody), &body); err != nil || body.Amount != 2000 || body.Currency != "usd" ||
		body.PaymentMethod.Card.Number != "4242424242424242" || body.PaymentMethod.Card.ExpYear < 2030 {
		t.Fatalf("body %+v %v", body, err)
	}
	resp := &fasthttp.Response{}
	resp.SetStatusCode(200)
	if g.done(opPayment, 200, resp) {
		t.Fatal("a first answer counted as a replay")
	}
	resp.Header.Set("Idempotent-Replayed", "true")
	if !g.done(opPayment, 200, resp) {
		t.Fatal("a replay not counted")
	}
}

// TestPayChatRequests: paychat-withdrawal and paychat-payment send bodies
// PAYchat's own decoders take, with the partner's X-API-Key and a new
// idempotency_key each time.
func TestPayChatRequests(t *testing.T) {
	for _, c := range []struct {
		scenario, path string
		o              op
	}{{ScenarioPayChatWithdraw, PathPayChatWithdrawal, opPCWithdraw}, {ScenarioPayChatPayment, PathPayChatPayment, opPCPayment}} {
		sh := newShared(c.scenario, 1, 1, "run1", nil, Endpoint{Host: "127.0.0.1:1", PayChatKey: "pk_abc"})
		g := newGenerator(sh, 3, 42)
		keys := map[string]bool{}
		for range 1000 {
			req, o := g.next()
			if o != c.o || string(req.Header.Method()) != "POST" || string(req.URI().Path()) != c.path || string(req.Header.Peek("X-API-Key")) != "pk_abc" {
				t.Fatalf("%s: %s %s %s", c.scenario, o, req.Header.Method(), req.URI().Path())
			}
			var body struct {
				TelegramID     string      `json:"telegram_id"`
				Amount         json.Number `json:"amount"`
				IdempotencyKey string      `json:"idempotency_key"`
			}
			if err := json.Unmarshal(req.Body(), &body); err != nil || keys[body.IdempotencyKey] || !strings.HasPrefix(body.IdempotencyKey, "krun1-3-") {
				t.Fatalf("%s: body %s (%v)", c.scenario, req.Body(), err)
			}
			keys[body.IdempotencyKey] = true
			if c.o == opPCWithdraw && (body.Amount != "0.000001" || len(body.TelegramID) != 6) || c.o == opPCPayment && body.Amount != "10" {
				t.Fatalf("%s: body %s", c.scenario, req.Body())
			}
		}
	}
}
