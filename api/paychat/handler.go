package paychat

import (
	"crypto/sha256"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// Base is the API's path prefix on ledgerd (the spec's /api/partner).
const Base = "/paychat/api/partner"

// Config is what the module needs besides the ledger.
type Config struct {
	// PublicURL is the absolute base of payment_url, without a trailing
	// slash ("http://127.0.0.1:8080").
	PublicURL string
	// WebhookKey is the outbox master key: every partner's secret key
	// (sk_) derives from it.
	WebhookKey []byte
	// Development is api.Config.WebhooksInsecure (--webhooks-insecure,
	// --demo): webhook URLs may be http:// and loopback, and the pay page
	// may pay. Off, only https:// public URLs are accepted and the page
	// only shows the payment.
	Development bool
}

// API serves PAYchat on an actors.System.
type API struct {
	sys *actors.System
	cfg Config
}

// schedules caches each System's fee schedule (*atomic.Pointer[pc.FeeSchedule]),
// so that a withdrawal under the default zero schedule costs no read of
// the durable state. Only adminSetFees changes the schedule, in this
// process, and it stores the new one here once it is durable.
var schedules sync.Map

// schedule is the fee schedule in force.
func (a *API) schedule() *pc.FeeSchedule {
	v, _ := schedules.LoadOrStore(a.sys, new(atomic.Pointer[pc.FeeSchedule]))
	ptr := v.(*atomic.Pointer[pc.FeeSchedule])
	if s := ptr.Load(); s != nil {
		return s
	}
	var s pc.FeeSchedule
	a.sys.ReadState(func(st *engine.State) { s = pc.Schedule(st) })
	ptr.CompareAndSwap(nil, &s)
	return ptr.Load()
}

func (a *API) setSchedule(s pc.FeeSchedule) {
	v, _ := schedules.LoadOrStore(a.sys, new(atomic.Pointer[pc.FeeSchedule]))
	v.(*atomic.Pointer[pc.FeeSchedule]).Store(&s)
}

func newAPI(sys *actors.System, cfg Config) *API {
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	registerWebhooks()
	return &API{sys: sys, cfg: cfg}
}

// Module declares PAYchat's partner API to the shared HTTP layer.
func Module(sys *actors.System, cfg Config) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "paychat", Base: Base, RequestError: writeRequestError,
		NotFound: notFound, MethodNotAllowed: methodNotAllowed,
		Routes: func(r *httpx.Router) {
			r.GET(Base+"/plans", a.plans)
			r.GET(Base+"/me", a.me)
			r.POST(Base+"/register", a.register)
			r.POST(Base+"/payments", a.createPayment)
			r.GET(Base+"/payments/{id}", a.getPayment)
			r.POST(Base+"/withdrawals", a.createWithdrawal)
			r.GET(Base+"/balance", a.balance)
			r.GET(Base+"/transactions", a.transactions)
			r.GET(Base+"/deposit-address", a.depositAddress)
			r.PUT(Base+"/webhook", a.setWebhook)
			r.POST(Base+"/webhook-test", a.webhookTest)
			r.GET(Base+"/webhook-deliveries", a.listDeliveries)
			r.POST(Base+"/webhook-deliveries/{id}/retry", a.retryDelivery)
			r.POST(Base+"/regenerate-key", a.regenerateKey)
			r.GET(Base+"/openapi.json", serveOpenAPI)
		}}
}

// Rate limit classes: sliding one-minute windows per key. The partner's
// rate limit (the plan's 500/min, admin-configurable) is the POST
// /payments class; the others keep the spec's ratios: POST /withdrawals
// half of it (250), every GET three times (1,500), every other call 3/25
// of it (60). Public routes: PublicLimit per client address.
const (
	classPayments   uint8 = 0
	classWithdrawal uint8 = 1
	classRead       uint8 = 2
	classOther      uint8 = 3
	PublicLimit           = 60
	// PlanLimit is the Founding Member plan's rate limit, every new
	// partner's engine rate limit.
	PlanLimit = 500
)

func classLimit(planLimit int64, class uint8) int64 {
	switch class {
	case classPayments:
		return planLimit
	case classWithdrawal:
		return max(planLimit/2, 1)
	case classRead:
		return planLimit * 3
	}
	return max(planLimit*3/25, 1)
}

func (a *API) nowMs() int64 { return a.sys.Now().UnixMilli() }

// caller is an authenticated request.
type caller struct {
	auth    apc.Auth
	partner *engine.Partner
}

// authorize resolves X-API-Key to an active PAYchat partner, or answers
// 401/403 (counted against the client address's public window, whose
// headers it carries).
func (a *API) authorize(ctx *fasthttp.RequestCtx, class uint8) (caller, bool) {
	p, hash, res := a.sys.Authenticate(httpx.KeyOf(ctx, httpx.KeyXAPIKey), pc.API)
	if res == actors.AuthOK {
		return caller{auth: apc.Auth{Partner: p.ID, KeyHash: hash, RateLimit: classLimit(p.RateLimit, class), RateClass: class}, partner: p}, true
	}
	if !a.public(ctx) {
		return caller{}, false
	}
	switch res {
	case actors.AuthMissing:
		writeError(ctx, fasthttp.StatusUnauthorized, CodeInvalidAPIKey, msgKeyRequired)
	case actors.AuthInactive:
		writeError(ctx, fasthttp.StatusForbidden, CodePartnerInactive, msgInactive)
	default:
		writeError(ctx, fasthttp.StatusUnauthorized, CodeInvalidAPIKey, msgKeyInvalid)
	}
	return caller{}, false
}

// throttle counts the request in its class; false when it answered 429
// or 503.
func (a *API) throttle(ctx *fasthttp.RequestCtx, c caller) bool {
	r := apc.Throttle(a.sys, c.auth)
	writeRate(ctx, r.Rate, a.sys.Now().Unix())
	return !writeStatus(ctx, r.Status, r.RetryAfterSec)
}

// public counts a public request against its client address's window.
func (a *API) public(ctx *fasthttp.RequestCtx) bool {
	h := sha256.Sum256([]byte("paychat/public/" + ctx.RemoteIP().String()))
	r := apc.Throttle(a.sys, apc.Auth{KeyHash: h, RateLimit: PublicLimit})
	writeRate(ctx, r.Rate, a.sys.Now().Unix())
	return !writeStatus(ctx, r.Status, r.RetryAfterSec)
}

// record is the caller's PAYchat partner record; false (answered 403)
// when the key's partner has none (a "paychat" partner an operator
// created by hand, without POST /register).
func (a *API) record(ctx *fasthttp.RequestCtx, c caller) (pc.Partner, bool) {
	var p pc.Partner
	var ok bool
	a.sys.ReadState(func(st *engine.State) { p, ok = pc.GetPartner(st, c.auth.Partner) })
	if !ok {
		writeError(ctx, fasthttp.StatusForbidden, CodePartnerInactive, msgNotRegistered)
	}
	return p, ok
}

func (a *API) plans(ctx *fasthttp.RequestCtx) {
	if !a.public(ctx) {
		return
	}
	plan := newObject(nil).str("id", pc.Plan).str("name", "Founding Member").integer("rate_limit", PlanLimit).
		str("rate_limit_window", "1m").str("payment", "one-time").str("access", "lifetime").
		str("description", "One-time payment. Lifetime access.").close()
	reply(ctx, fasthttp.StatusOK, newObject(nil).boolean("success", true).raw("plans", append(append([]byte{'['}, plan...), ']')).close())
}

// partnerJSON is a partner as /register and /me show it; keys only at
// registration.
func partnerJSON(p *pc.Partner, status string, apiKey, secretKey string) []byte {
	o := newObject(make([]byte, 0, 256)).str("id", p.ID).str("telegram_id", p.TelegramID).strOrNull("name", p.Name).
		str("plan", p.Plan).str("status", status)
	if apiKey != "" {
		o = o.str("api_key", apiKey).str("secret_key", secretKey)
	}
	return o.str("created_at", timestamp(p.CreatedMs)).close()
}

func (a *API) me(ctx *fasthttp.RequestCtx) {
	if !a.public(ctx) {
		return
	}
	id := string(ctx.QueryArgs().Peek("telegram_id"))
	if !pc.ValidTelegramID(id) {
		writeError(ctx, fasthttp.StatusBadRequest, CodeValidation, "telegram_id must be 1 to 20 digits")
		return
	}
	var p pc.Partner
	var ok bool
	a.sys.ReadState(func(st *engine.State) { p, ok = pc.PartnerByTelegram(st, id) })
	ep, live := a.sys.PartnerByID(p.ID)
	if !ok || !live {
		writeError(ctx, fasthttp.StatusNotFound, CodePartnerNotFound, msgPartnerNotFound)
		return
	}
	reply(ctx, fasthttp.StatusOK, envelope("partner", partnerJSON(&p, ep.Status, "", "")))
}

func (a *API) register(ctx *fasthttp.RequestCtx) {
	if !a.public(ctx) {
		return
	}
	req, err := DecodeRegister(ctx.PostBody())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	suffix := newPartnerSuffix()
	p := pc.Partner{ID: pc.PrefixPartner + suffix, TelegramID: req.TelegramID, Name: req.Name, Plan: pc.Plan,
		Memo: pc.PrefixMemo + suffix, CreatedMs: a.nowMs()}
	sk := SecretKey(a.cfg.WebhookKey, p.ID, 0)
	h := sha256.Sum256([]byte(sk))
	p.SecretHash = h[:]
	switch st, existing := apc.Register(a.sys, p); st {
	case actors.StatusOK:
	case actors.StatusConflict:
		// Registered already, or a registration cut short between its two
		// events (the record, then the key): finish that one.
		if _, live := a.sys.PartnerByID(existing); live {
			writeError(ctx, fasthttp.StatusConflict, CodeAlreadyRegistered, msgRegistered)
			return
		}
		a.sys.ReadState(func(st *engine.State) { p, _ = pc.GetPartner(st, existing) })
		sk = SecretKey(a.cfg.WebhookKey, p.ID, p.SecretRotation)
	default:
		writeStatus(ctx, st, 1)
		return
	}
	key := newAPIKey()
	name := p.Name
	if name == "" {
		name = "Telegram " + p.TelegramID
	}
	_, err = a.sys.CreatePartner(p.ID, pc.API, name, PlanLimit, newKeyRecord(key))
	switch {
	case errors.Is(err, actors.ErrPartnerExists):
		writeError(ctx, fasthttp.StatusConflict, CodeAlreadyRegistered, msgRegistered)
		return
	case err != nil:
		writeError(ctx, fasthttp.StatusInternalServerError, CodeServerError, msgServerError)
		return
	}
	reply(ctx, fasthttp.StatusOK, envelope("partner", partnerJSON(&p, engine.StatusActive, key, sk)))
}

func newKeyRecord(key string) actors.NewKey {
	return actors.NewKey{ID: "key_" + randomString(alphabet36, 12), Hash: engine.HashKey([]byte(key)), Hint: key[len(key)-4:]}
}

func (a *API) regenerateKey(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classOther)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	if _, ok := a.record(ctx, c); !ok {
		return
	}
	var old string
	for _, k := range c.partner.Keys {
		if [engine.KeyHashLen]byte(k.Hash) == c.auth.KeyHash {
			old = k.ID
		}
	}
	key := newAPIKey()
	if _, err := a.sys.AddKey(c.auth.Partner, newKeyRecord(key)); err != nil {
		writeError(ctx, fasthttp.StatusInternalServerError, CodeServerError, msgServerError)
		return
	}
	if _, err := a.sys.RevokeKey(c.auth.Partner, old); err != nil && !errors.Is(err, actors.ErrKeyRevoked) {
		writeError(ctx, fasthttp.StatusInternalServerError, CodeServerError, msgServerError)
		return
	}
	body := newObject(nil).boolean("success", true).str("api_key", key).
		str("message", "Your previous API key no longer works").close()
	reply(ctx, fasthttp.StatusOK, body)
}

// writeDecodeError answers a body or query the decoder refused.
func (a *API) writeDecodeError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, ErrAmount):
		writeError(ctx, fasthttp.StatusBadRequest, CodeInvalidAmount, msgAmount)
	case errors.Is(err, ErrWebhookURL):
		writeError(ctx, fasthttp.StatusBadRequest, CodeInvalidWebhookURL, msgWebhookURL)
	default:
		msg := strings.ReplaceAll(strings.TrimPrefix(err.Error(), ErrValidation.Error()+": "), "httpx: ", "")
		writeError(ctx, fasthttp.StatusBadRequest, CodeValidation, msg)
	}
}

func (a *API) paymentURL(link string) string { return a.cfg.PublicURL + PagePath + "/" + link }

// fingerprint is what a retry with the same idempotency_key must repeat.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}

func (a *API) createPayment(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classPayments)
	if !ok {
		return
	}
	req, err := DecodePayment(ctx.PostBody())
	if err != nil {
		if a.throttle(ctx, c) {
			a.writeDecodeError(ctx, err)
		}
		return
	}
	fp := fingerprint("payment", FormatAmount(req.Amount), req.Description, string(req.Metadata))
	r, err := apc.CreatePayment(a.sys, c.auth, func() (pc.Payment, pc.Answer) {
		now := a.nowMs()
		p := pc.Payment{ID: newPaymentID(), LinkID: newLinkID(), Partner: c.auth.Partner, Amount: req.Amount, Description: req.Description,
			Metadata: req.Metadata, Status: pc.StatusPending, CreatedMs: now, ExpiresMs: now + pc.PaymentLifetime}
		body := envelope("payment", a.paymentJSON(&p, p.ID, now))
		return p, pc.Answer{Key: req.IdempotencyKey, Fingerprint: fp, Status: fasthttp.StatusOK, Response: body}
	})
	a.answer(ctx, r, err)
}

// answer writes a command's result: its rendered (or replayed) answer, or
// the refusal.
func (a *API) answer(ctx *fasthttp.RequestCtx, r apc.Result, err error) {
	writeRate(ctx, r.Rate, a.sys.Now().Unix())
	switch {
	case err != nil:
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeServiceUnavailable, msgOverloaded)
	case r.Status == actors.StatusOK:
		reply(ctx, r.HTTP, r.Body)
	case r.Status == actors.StatusConflict:
		writeError(ctx, fasthttp.StatusConflict, CodeIdempotency, msgIdempotency)
	case r.Status == actors.StatusInsufficient:
		writeError(ctx, fasthttp.StatusBadRequest, CodeInsufficient, msgInsufficient)
	case r.Status == actors.StatusUnknownUser:
		writeError(ctx, fasthttp.StatusForbidden, CodePartnerInactive, msgNotRegistered)
	default:
		writeStatus(ctx, r.Status, r.RetryAfterSec)
	}
}

func (a *API) getPayment(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classRead)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	id, _ := ctx.UserValue("id").(string)
	id = strings.Clone(id)
	var p pc.Payment
	a.sys.ReadState(func(st *engine.State) { p, ok = pc.GetPayment(st, c.auth.Partner, id) })
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, CodePaymentNotFound, msgPaymentNotFound)
		return
	}
	reply(ctx, fasthttp.StatusOK, envelope("payment", a.paymentJSON(&p, id, a.nowMs())))
}

func (a *API) createWithdrawal(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classWithdrawal)
	if !ok {
		return
	}
	req, err := DecodeWithdrawal(ctx.PostBody())
	if err != nil {
		if a.throttle(ctx, c) {
			a.writeDecodeError(ctx, err)
		}
		return
	}
	var fee int64
	if s := a.schedule(); !s.Zero() { // the holdings discount needs the durable balances
		a.sys.ReadState(func(st *engine.State) { fee = s.WithdrawalFee(req.Amount, pc.BalanceOf(st, c.auth.Partner).Total) })
	}
	w := pc.Withdrawal{ID: newWithdrawalID(), Partner: c.auth.Partner, User: req.TelegramID, Amount: req.Amount, Fee: fee,
		Memo: req.Memo, CreatedMs: a.nowMs()}
	fp := fingerprint("withdrawal", req.TelegramID, FormatAmount(req.Amount), req.Memo)
	ans := pc.Answer{Key: req.IdempotencyKey, Fingerprint: fp, Status: fasthttp.StatusOK, Response: envelope("withdrawal", withdrawalJSON(&w))}
	n := pc.Notice{ID: newEventID(), Type: pc.EventWithdrawCompleted, Body: withdrawCompletedBody(&w)}
	a.answer(ctx, apc.Withdraw(a.sys, c.auth, w, n, ans), nil)
}

func (a *API) balance(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classRead)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	if _, ok := a.record(ctx, c); !ok {
		return
	}
	var b pc.Balance
	a.sys.ReadState(func(st *engine.State) { b = pc.BalanceOf(st, c.auth.Partner) })
	obj := newObject(nil).amount("available", b.Available).str("currency", pc.Currency).amount("total_holdings", b.Total).
		amount("referral_holdings", b.Referral).close()
	reply(ctx, fasthttp.StatusOK, envelope("balance", obj))
}

// DepositAddress is the sandbox's deposit address: there is no TRON
// network here; deposits are reported through the admin route.
const DepositAddress = "TLedgerdPAYchatSandboxDepositAddr1"

func (a *API) depositAddress(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classRead)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	p, ok := a.record(ctx, c)
	if !ok {
		return
	}
	obj := newObject(nil).str("address", DepositAddress).str("network", "TRON (TRC20)").str("currency", pc.Currency).
		str("memo", p.Memo).str("note", "Include the memo when sending to identify your deposit").close()
	reply(ctx, fasthttp.StatusOK, envelope("deposit", obj))
}

// parseISO reads an ISO 8601 time: a date (midnight UTC; as a "to" bound,
// the end of that day) or a date-time with Z or an offset.
func parseISO(s string, end bool) (int64, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			return t.Add(24*time.Hour).UnixMilli() - 1, true
		}
		return t.UnixMilli(), true
	}
	return 0, false
}

// decodeTxQuery reads GET /transactions' query.
func decodeTxQuery(args *fasthttp.Args, nowMs int64) (pc.TxQuery, error) {
	q := pc.TxQuery{NowMs: nowMs, Limit: pc.DefaultLimit}
	var err error
	args.VisitAll(func(k, v []byte) {
		if err != nil {
			return
		}
		val := string(v)
		switch string(k) {
		case "type":
			switch val {
			case pc.TxPayment, pc.TxWithdraw, pc.TxFee:
				q.Type = val
			case "all", "":
			default:
				err = invalid("type must be payment, withdraw, fee or all")
			}
		case "status":
			switch val {
			case pc.StatusPending, pc.StatusCompleted, pc.StatusExpired:
				q.Status = val
			case "all", "":
			default:
				err = invalid("status must be pending, completed, expired or all")
			}
		case "from":
			if q.FromMs, q.HasFrom = parseISO(val, false); !q.HasFrom {
				err = invalid("from must be an ISO 8601 date or time")
			}
		case "to":
			if q.ToMs, q.HasTo = parseISO(val, true); !q.HasTo {
				err = invalid("to must be an ISO 8601 date or time")
			}
		case "limit":
			n, e := httpx.Integer(httpx.Value{Kind: httpx.KindNumber, Raw: v}, 1, pc.MaxLimit)
			if e != nil {
				err = invalid("limit must be an integer from 1 to %d", pc.MaxLimit)
			}
			q.Limit = int(n)
		case "offset":
			n, e := httpx.Integer(httpx.Value{Kind: httpx.KindNumber, Raw: v}, 0, 1<<31-1)
			if e != nil {
				err = invalid("offset must be a non-negative integer")
			}
			q.Offset = int(n)
		default:
			err = invalid("unknown query parameter %q", k)
		}
	})
	if err == nil && q.HasFrom && q.HasTo && q.FromMs > q.ToMs {
		err = invalid("from must not be after to")
	}
	return q, err
}

func (a *API) transactions(ctx *fasthttp.RequestCtx) {
	c, ok := a.authorize(ctx, classRead)
	if !ok || !a.throttle(ctx, c) {
		return
	}
	q, err := decodeTxQuery(ctx.QueryArgs(), a.nowMs())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	var page []pc.TxView
	var total int
	a.sys.ReadState(func(st *engine.State) { page, total, err = pc.Transactions(st, c.auth.Partner, q) })
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, CodeValidation, "limit or offset out of range")
		return
	}
	list := make([]byte, 0, 128*len(page)+2)
	list = append(list, '[')
	for i, t := range page {
		if i > 0 {
			list = append(list, ',')
		}
		list = newObject(list).integer("id", int64(t.ID)).str("type", t.Type).str("reference", t.Ref).
			strOrNull("telegram_id", t.TelegramID).amount("amount", t.Amount).str("status", t.Status).
			str("created_at", timestamp(t.CreatedMs)).close()
	}
	list = append(list, ']')
	pag := newObject(nil).integer("total", int64(total)).integer("limit", int64(q.Limit)).integer("offset", int64(q.Offset)).close()
	reply(ctx, fasthttp.StatusOK, newObject(make([]byte, 0, len(list)+96)).boolean("success", true).raw("transactions", list).
		raw("pagination", pag).close())
}
