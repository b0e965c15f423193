package bench

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync/atomic"

	"github.com/valyala/fasthttp"
)

// Scenario names.
const (
	ScenarioDeduct      = "payshards-deduct"
	ScenarioMixed       = "payshards-mixed"
	ScenarioHotWallet   = "hot-wallet"
	ScenarioRetryStorm  = "retry-storm"
	ScenarioPayPayRedem = "paypay-redeem"
	ScenarioPaySmartPay = "paysmart-payment"
	// PAYchat: every request debits one partner (the hot account), or
	// creates a payment link.
	ScenarioPayChatWithdraw = "paychat-withdrawal"
	ScenarioPayChatPayment  = "paychat-payment"
	// ScenarioCheckoutCreate creates hosted-checkout payments, each under
	// its own Idempotency-Key (test mode).
	ScenarioCheckoutCreate = "checkout-create"
)

// Scenarios lists every scenario, in the order of the help text.
var Scenarios = []string{ScenarioDeduct, ScenarioMixed, ScenarioHotWallet, ScenarioRetryStorm, ScenarioPayPayRedem, ScenarioPaySmartPay,
	ScenarioPayChatWithdraw, ScenarioPayChatPayment, ScenarioCheckoutCreate}

// API paths below a target's base URL.
const (
	PathDeduct  = "/payshards/api/partner/deduct"
	PathRefund  = "/payshards/api/partner/refund"
	PathBalance = "/payshards/api/partner/balance"
	PathRedeem  = "/paypay/api/v1/redeem"
	PathPayment = "/paysmart/v2/payments"

	PathPayChatWithdrawal = "/paychat/api/partner/withdrawals"
	PathPayChatPayment    = "/paychat/api/partner/payments"
	PathCheckoutCreate    = "/checkout/api/v1/payments"
)

// PayChatFunds is what the benchmark's PAYchat partner is funded with by
// sandbox deposits (1,000,000 USDT, in micro-USDT): paychat-withdrawal
// sends 0.000001 USDT a request, so it never runs out.
const PayChatFunds = 1_000_000 * 1_000_000

// PaySmartPaymentBody is every paysmart-payment request's body: the
// spec's example payment with Stripe's succeeding Visa test card and an
// expiry in the future.
const PaySmartPaymentBody = `{"amount":2000,"currency":"usd","payment_method":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2034,"cvc":"123"}},"description":"ledgerbench"}`

// ValidScenario reports whether name is a known scenario.
func ValidScenario(name string) bool {
	for _, s := range Scenarios {
		if s == name {
			return true
		}
	}
	return false
}

// usesPayPay reports whether the scenario needs a PayPay.cards partner and
// codes rather than PayShards users.
func usesPayPay(scenario string) bool { return scenario == ScenarioPayPayRedem }

// usesPayChat reports whether the scenario needs a PAYchat partner.
func usesPayChat(scenario string) bool {
	return scenario == ScenarioPayChatWithdraw || scenario == ScenarioPayChatPayment
}

// usesPaySmart reports whether the scenario needs a PaySmart account.
func usesPaySmart(scenario string) bool { return scenario == ScenarioPaySmartPay }

// op is the kind of one request.
type op uint8

const (
	opDeduct op = iota
	opRefund
	opBalance
	opRedeem
	opPayment
	opPCWithdraw
	opPCPayment
	opCheckout
	numOps
)

var opNames = [numOps]string{"deduct", "refund", "balance", "redeem", "payment", "withdrawal", "paychat-payment", "checkout"}

// Endpoint is what a generator needs to address a target.
type Endpoint struct {
	Host         string // host:port, the Host header
	PathPrefix   string // prepended to every API path ("" for ledgerd)
	PayShardsKey string // x-api-key
	PayPayKey    string // Authorization: Bearer
	PaySmartKey  string // Authorization: Bearer, a secret test key (sk_test_…)
	PayChatKey   string // X-API-Key (pk_…)
	CheckoutKey  string // Authorization: Bearer (ck_test_…)
}

// codeSource hands out pre-issued redeem codes, each once; when they run
// out it wraps around, so later redeems are replays of the same
// Idempotency-Key (counted as replays).
type codeSource struct {
	codes [][]byte
	next  atomic.Uint64
}

func newCodeSource(codes []string) *codeSource {
	cs := &codeSource{codes: make([][]byte, len(codes))}
	for i, c := range codes {
		cs.codes[i] = []byte(c)
	}
	return cs
}

// take returns the index of the next code (a synthetic code when there are
// none, e.g. on the ceiling).
func (cs *codeSource) take() uint64 { return cs.next.Add(1) - 1 }

// shared is the state every worker of one run shares.
type shared struct {
	scenario string
	users    [][]byte // "u0".."uN-1"
	runID    []byte   // makes references unique per run (external servers keep state)
	pool     int      // retry-storm reference pool
	codes    *codeSource
	ep       Endpoint
}

func newShared(scenario string, users, pool int, runID string, codes []string, ep Endpoint) *shared {
	s := &shared{scenario: scenario, runID: []byte(runID), pool: pool, codes: newCodeSource(codes), ep: ep}
	if users < 1 {
		users = 1
	}
	if s.pool < 1 {
		s.pool = 1
	}
	s.users = make([][]byte, users)
	for i := range s.users {
		s.users[i] = strconv.AppendInt([]byte("u"), int64(i), 10)
	}
	return s
}

// generator builds the requests of one worker. It reuses one request per
// operation and one body buffer: after the first requests it allocates
// nothing.
type generator struct {
	sh     *shared
	rng    *rand.Rand
	worker int
	seq    uint64
	reqs   [numOps]*fasthttp.Request
	body   []byte
	uri    []byte

	// last deduct sent (payshards-mixed), and acknowledged ones awaiting a refund.
	lastUser int32
	lastSeq  uint64
	acked    []ackedDeduct
	ackHead  int
}

type ackedDeduct struct {
	user int32
	seq  uint64
}

const maxAcked = 1 << 14

func newGenerator(sh *shared, worker int, seed uint64) *generator {
	g := &generator{sh: sh, worker: worker, rng: rand.New(rand.NewPCG(seed, uint64(worker)*0x9e3779b97f4a7c15+1))}
	paths := [numOps]string{PathDeduct, PathRefund, PathBalance, PathRedeem, PathPayment, PathPayChatWithdrawal, PathPayChatPayment, PathCheckoutCreate}
	for o := range numOps {
		req := &fasthttp.Request{}
		req.SetRequestURI("http://" + sh.ep.Host + sh.ep.PathPrefix + paths[o])
		if o == opBalance {
			req.Header.SetMethod(fasthttp.MethodGet)
		} else {
			req.Header.SetMethod(fasthttp.MethodPost)
			req.Header.SetContentType("application/json")
		}
		switch {
		case o == opRedeem:
			req.Header.Set("Authorization", "Bearer "+sh.ep.PayPayKey)
		case o == opPayment:
			req.Header.Set("Authorization", "Bearer "+sh.ep.PaySmartKey)
			req.SetBodyString(PaySmartPaymentBody)
		case o == opCheckout:
			req.Header.Set("Authorization", "Bearer "+sh.ep.CheckoutKey)
			req.SetBodyRaw(checkoutBody)
		case o == opPCWithdraw || o == opPCPayment:
			req.Header.Set("X-API-Key", sh.ep.PayChatKey)
		case sh.ep.PayShardsKey != "":
			req.Header.Set("x-api-key", sh.ep.PayShardsKey)
		}
		g.reqs[o] = req
	}
	g.body = make([]byte, 0, 256)
	g.uri = make([]byte, 0, 256)
	return g
}

// appendRef appends this worker's reference for sequence number seq:
// b<runID>-<worker>-<kind><seq>.
func (g *generator) appendRef(b []byte, kind byte, seq uint64) []byte {
	b = append(b, 'b')
	b = append(b, g.sh.runID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(g.worker), 10)
	b = append(b, '-', kind)
	return strconv.AppendUint(b, seq, 10)
}

// bodyStart begins a PayShards command body up to the reference's opening
// quote; bodyEnd closes it.
func (g *generator) bodyStart(user []byte) []byte {
	b := append(g.body[:0], `{"userId":"`...)
	b = append(b, user...)
	return append(b, `","amount":1,"reference":"`...)
}

func (g *generator) bodyEnd(b []byte) []byte {
	b = append(b, `"}`...)
	g.body = b
	return b
}

// next returns the next request to send and its kind. The request is owned
// by the generator and valid until the next call.
func (g *generator) next() (*fasthttp.Request, op) {
	switch g.sh.scenario {
	case ScenarioMixed:
		r := g.rng.IntN(10)
		switch {
		case r < 2:
			return g.balance(), opBalance
		case r < 4:
			if req := g.refund(); req != nil {
				return req, opRefund
			}
		}
		return g.deduct(int32(g.rng.IntN(len(g.sh.users)))), opDeduct
	case ScenarioHotWallet:
		return g.deduct(0), opDeduct
	case ScenarioRetryStorm:
		i := g.rng.IntN(g.sh.pool)
		user := g.sh.users[i%len(g.sh.users)]
		req := g.reqs[opDeduct]
		b := append(g.bodyStart(user), "storm-"...)
		b = append(b, g.sh.runID...)
		b = append(b, '-')
		req.SetBodyRaw(g.bodyEnd(strconv.AppendInt(b, int64(i), 10)))
		return req, opDeduct
	case ScenarioPayPayRedem:
		return g.redeem(), opRedeem
	case ScenarioPaySmartPay:
		return g.payment(), opPayment
	case ScenarioPayChatWithdraw:
		return g.payChat(opPCWithdraw), opPCWithdraw
	case ScenarioPayChatPayment:
		return g.payChat(opPCPayment), opPCPayment
	case ScenarioCheckoutCreate:
		return g.checkoutCreate(), opCheckout
	default: // payshards-deduct
		return g.deduct(int32(g.rng.IntN(len(g.sh.users)))), opDeduct
	}
}

func (g *generator) deduct(user int32) *fasthttp.Request {
	g.seq++
	g.lastUser, g.lastSeq = user, g.seq
	req := g.reqs[opDeduct]
	req.SetBodyRaw(g.bodyEnd(g.appendRef(g.bodyStart(g.sh.users[user]), 'd', g.seq)))
	return req
}

// refund refunds one unit of an earlier acknowledged deduct, or returns nil
// when there is none yet.
func (g *generator) refund() *fasthttp.Request {
	if g.ackHead >= len(g.acked) {
		return nil
	}
	a := g.acked[g.ackHead]
	g.ackHead++
	if g.ackHead > maxAcked/2 && g.ackHead*2 > len(g.acked) {
		n := copy(g.acked, g.acked[g.ackHead:])
		g.acked, g.ackHead = g.acked[:n], 0
	}
	req := g.reqs[opRefund]
	req.SetBodyRaw(g.bodyEnd(g.appendRef(g.bodyStart(g.sh.users[a.user]), 'r', a.seq)))
	return req
}

func (g *generator) balance() *fasthttp.Request {
	req := g.reqs[opBalance]
	u := append(g.uri[:0], "http://"...)
	u = append(u, g.sh.ep.Host...)
	u = append(u, g.sh.ep.PathPrefix...)
	u = append(u, PathBalance+"?userId="...)
	u = append(u, g.sh.users[g.rng.IntN(len(g.sh.users))]...)
	g.uri = u
	req.SetRequestURIBytes(u)
	return req
}

func (g *generator) redeem() *fasthttp.Request {
	i := g.sh.codes.take()
	req := g.reqs[opRedeem]
	b := append(g.body[:0], `{"code":"`...)
	var key []byte
	if n := uint64(len(g.sh.codes.codes)); n > 0 {
		b = append(b, g.sh.codes.codes[i%n]...)
		i %= n
	} else {
		b = append(b, "PP-BNCH-"...)
		b = strconv.AppendUint(b, i, 10)
	}
	b = append(b, `"}`...)
	key = append(g.uri[:0], 'k')
	key = append(key, g.sh.runID...)
	key = append(key, '-')
	key = strconv.AppendUint(key, i, 10)
	g.body, g.uri = b, key
	req.SetBodyRaw(b)
	req.Header.SetBytesV("Idempotency-Key", key)
	return req
}

// payment sets a fresh Idempotency-Key on the payment request (its body
// never changes): k<runID>-<worker>-<seq>.
func (g *generator) payment() *fasthttp.Request {
	g.seq++
	req := g.reqs[opPayment]
	key := append(g.uri[:0], 'k')
	key = append(key, g.sh.runID...)
	key = append(key, '-')
	key = strconv.AppendInt(key, int64(g.worker), 10)
	key = append(key, '-')
	key = strconv.AppendUint(key, g.seq, 10)
	g.uri = key
	req.Header.SetBytesV("Idempotency-Key", key)
	return req
}

// checkoutBody is the body of every checkout-create request.
var checkoutBody = []byte(`{"amount":2000,"currency":"usd","return_url":"https://shop.example/done?order=1","metadata":{"order":"1"}}`)

// checkoutCreate sets a fresh Idempotency-Key on the checkout request
// (its body never changes): b<runID>-<worker>-c<seq>.
func (g *generator) checkoutCreate() *fasthttp.Request {
	g.seq++
	req := g.reqs[opCheckout]
	g.uri = g.appendRef(g.uri[:0], 'c', g.seq)
	req.Header.SetBytesV("Idempotency-Key", g.uri)
	return req
}

// payChat builds a PAYchat withdrawal (0.000001 USDT to one of 1,000
// Telegram users, from the one partner) or payment link (10 USDT), with a
// fresh idempotency_key: k<runID>-<worker>-<seq>.
func (g *generator) payChat(o op) *fasthttp.Request {
	g.seq++
	b := g.body[:0]
	if o == opPCWithdraw {
		b = append(b, `{"telegram_id":"`...)
		b = strconv.AppendInt(b, int64(100_000+(g.worker*7919+int(g.seq))%1000), 10)
		b = append(b, `","amount":0.000001,"memo":"ledgerbench","idempotency_key":"k`...)
	} else {
		b = append(b, `{"amount":10,"description":"ledgerbench","idempotency_key":"k`...)
	}
	b = append(b, g.sh.runID...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(g.worker), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, g.seq, 10)
	b = append(b, `"}`...)
	g.body = b
	req := g.reqs[o]
	req.SetBodyRaw(b)
	return req
}

var (
	idempotentTrue = []byte(`"idempotent":true`)
	replayedHeader = []byte("Idempotent-Replayed")
)

// done tells the generator how a request it built was answered (status 0:
// transport error) and reports whether the answer was a replay of an earlier
// outcome (idempotent:true, Idempotent-Replayed).
func (g *generator) done(o op, status int, resp *fasthttp.Response) (replay bool) {
	if status/100 != 2 {
		return false
	}
	switch o {
	case opDeduct, opRefund:
		replay = bytes.Contains(resp.Body(), idempotentTrue)
		if o == opDeduct && g.sh.scenario == ScenarioMixed && !replay && len(g.acked) < maxAcked {
			g.acked = append(g.acked, ackedDeduct{g.lastUser, g.lastSeq})
		}
	case opRedeem, opPayment, opCheckout:
		replay = len(resp.Header.PeekBytes(replayedHeader)) > 0
	}
	return replay
}

// describe is for tests and errors.
func (o op) String() string {
	if o < numOps {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}
