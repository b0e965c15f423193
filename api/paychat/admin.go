package paychat

import (
	"strings"
	"sync"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	apc "ledgerd/actors/paychat"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// AdminBase is the prefix of PAYchat's sandbox routes (admin bearer
// token): the outside world PAYchat's money comes from and goes to.
const AdminBase = "/admin/paychat"

// AdminModule declares the sandbox routes; guard is the admin token check.
// They answer in PAYchat's envelope.
func AdminModule(sys *actors.System, cfg Config, guard httpx.Middleware) httpx.Module {
	a := newAPI(sys, cfg)
	return httpx.Module{Name: "admin-paychat", Base: AdminBase, Middleware: []httpx.Middleware{guard},
		RequestError: writeRequestError, NotFound: notFound, MethodNotAllowed: methodNotAllowed,
		Routes: func(r *httpx.Router) {
			r.POST(AdminBase+"/deposits", a.adminDeposit)
			r.GET(AdminBase+"/deposits/held", a.adminHeld)
			r.POST(AdminBase+"/deposits/{tx_hash}/assign", a.adminAssign)
			r.POST(AdminBase+"/payments/{link_id}/pay", a.adminPay)
			r.GET(AdminBase+"/fees", a.adminGetFees)
			r.PUT(AdminBase+"/fees", a.adminSetFees)
			r.GET(AdminBase+"/users/{telegram_id}", a.adminUser)
			r.GET(AdminBase+"/ledger", a.adminLedger)
			r.GET(AdminBase+"/openapi.json", func(ctx *fasthttp.RequestCtx) { reply(ctx, fasthttp.StatusOK, adminOpenAPIDocument) })
		}}
}

func depositJSON(d *pc.Deposit, replayed bool) []byte {
	o := newObject(nil).str("tx_hash", d.TxHash).strOrNull("memo", d.Memo).amount("amount", d.Amount).str("status", d.Status).
		strOrNull("partner_id", d.Partner).strOrNull("telegram_id", d.User).str("created_at", timestamp(d.CreatedMs))
	if d.AssignedMs != 0 {
		o = o.str("assigned_at", timestamp(d.AssignedMs))
	}
	return o.boolean("replayed", replayed).close()
}

func (a *API) adminDeposit(ctx *fasthttp.RequestCtx) {
	req, err := DecodeDeposit(ctx.PostBody())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	var p pc.Partner
	var known bool
	a.sys.ReadState(func(st *engine.State) { p, known = pc.PartnerByMemo(st, req.Memo) })
	d := pc.Deposit{TxHash: req.TxHash, Memo: req.Memo, Amount: req.Amount}
	if known {
		d.Partner = p.ID
	}
	got, st, replayed := apc.Deposit(a.sys, d)
	switch st {
	case actors.StatusOK:
		reply(ctx, fasthttp.StatusOK, envelope("deposit", depositJSON(&got, replayed)))
	case actors.StatusConflict:
		writeError(ctx, fasthttp.StatusConflict, CodeDepositConflict, msgDepositConflict)
	case actors.StatusBalanceLimit:
		writeError(ctx, fasthttp.StatusUnprocessableEntity, CodeLedgerLimit, msgLedgerLimit)
	default:
		writeStatus(ctx, st, 1)
	}
}

func (a *API) adminHeld(ctx *fasthttp.RequestCtx) {
	var held []pc.Deposit
	a.sys.ReadState(func(st *engine.State) { held = pc.HeldDeposits(st) })
	out := append(make([]byte, 0, 200*len(held)+2), '[')
	for i := range held {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, depositJSON(&held[i], false)...)
	}
	reply(ctx, fasthttp.StatusOK, envelope("deposits", append(out, ']')))
}

func (a *API) adminAssign(ctx *fasthttp.RequestCtx) {
	hash, _ := ctx.UserValue("tx_hash").(string)
	hash = strings.Clone(hash)
	partner, err := DecodeAssign(ctx.PostBody())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	var ok bool
	a.sys.ReadState(func(st *engine.State) { _, ok = pc.GetPartner(st, partner) })
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, CodePartnerNotFound, msgPartnerMissing)
		return
	}
	d, st := apc.AssignDeposit(a.sys, hash, partner)
	switch st {
	case actors.StatusOK:
		reply(ctx, fasthttp.StatusOK, envelope("deposit", depositJSON(&d, false)))
	case actors.StatusNotFound:
		writeError(ctx, fasthttp.StatusNotFound, CodeDepositNotFound, msgDepositMissing)
	case actors.StatusAlreadyRedeemed:
		writeError(ctx, fasthttp.StatusConflict, CodeDepositNotHeld, msgDepositNotHeld)
	default:
		writeStatus(ctx, st, 1)
	}
}

// pay pays link as payer (funding it first when fund), and writes the
// answer; the admin route and the pay page share it.
func (a *API) pay(link, payer string, fund bool) (pc.Payment, apc.PayOutcome) {
	return apc.Pay(a.sys, apc.PayRequest{Link: link, Payer: payer, Fund: fund, FundTx: "sandbox_fund_" + randomString(alphabet36, 24),
		Notice: func(p pc.Payment) pc.Notice {
			return pc.Notice{ID: newEventID(), Type: pc.EventPaymentCompleted, Body: paymentCompletedBody(&p)}
		}})
}

func (a *API) writePayOutcome(ctx *fasthttp.RequestCtx, p *pc.Payment, out apc.PayOutcome) {
	switch out {
	case apc.PayCompleted:
		reply(ctx, fasthttp.StatusOK, envelope("payment", a.paymentJSON(p, p.LinkID, a.nowMs())))
	case apc.PayNotFound:
		writeError(ctx, fasthttp.StatusNotFound, CodePaymentNotFound, msgPaymentNotFound)
	case apc.PayExpired:
		writeError(ctx, fasthttp.StatusConflict, CodePaymentExpired, msgExpired)
	case apc.PayAlreadyPaid:
		writeError(ctx, fasthttp.StatusConflict, CodePaymentCompleted, msgCompleted)
	case apc.PayInsufficient:
		writeError(ctx, fasthttp.StatusBadRequest, CodeInsufficient, msgInsufficient)
	case apc.PayFundRefused:
		writeError(ctx, fasthttp.StatusUnprocessableEntity, CodeLedgerLimit, msgLedgerLimit)
	default:
		writeStatus(ctx, actors.StatusOverloaded, 1)
	}
}

func (a *API) adminPay(ctx *fasthttp.RequestCtx) {
	link, _ := ctx.UserValue("link_id").(string)
	link = strings.Clone(link)
	req, err := DecodePay(ctx.PostBody())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	p, out := a.pay(link, req.TelegramID, req.Fund)
	a.writePayOutcome(ctx, &p, out)
}

func ruleJSON(r pc.FeeRule) []byte {
	return newObject(nil).amount("fixed", r.Fixed).integer("bps", r.Bps).close()
}

func feesJSON(s *pc.FeeSchedule) []byte {
	tiers := []byte{'['}
	for i, t := range s.Tiers {
		if i > 0 {
			tiers = append(tiers, ',')
		}
		tiers = newObject(tiers).amount("min_holdings", t.MinHoldings).integer("discount_bps", t.DiscountBps).close()
	}
	tiers = append(tiers, ']')
	return newObject(nil).raw("withdrawal", ruleJSON(s.Withdrawal)).raw("payment", ruleJSON(s.Payment)).raw("tiers", tiers).close()
}

func (a *API) adminGetFees(ctx *fasthttp.RequestCtx) {
	var s pc.FeeSchedule
	a.sys.ReadState(func(st *engine.State) { s = pc.Schedule(st) })
	reply(ctx, fasthttp.StatusOK, envelope("fees", feesJSON(&s)))
}

// feesMu keeps the cached schedule in the order the changes commit.
var feesMu sync.Mutex

func (a *API) adminSetFees(ctx *fasthttp.RequestCtx) {
	s, err := DecodeFees(ctx.PostBody())
	if err != nil {
		a.writeDecodeError(ctx, err)
		return
	}
	feesMu.Lock()
	err = apc.SetFeeSchedule(a.sys, s)
	if err == nil {
		a.setSchedule(s)
	}
	feesMu.Unlock()
	if err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, CodeServiceUnavailable, msgOverloaded)
		return
	}
	reply(ctx, fasthttp.StatusOK, envelope("fees", feesJSON(&s)))
}

// adminUser shows a Telegram user's account and the notifications PAYchat
// would have sent by Telegram (one per withdrawal received).
func (a *API) adminUser(ctx *fasthttp.RequestCtx) {
	id, _ := ctx.UserValue("telegram_id").(string)
	if !pc.ValidTelegramID(id) {
		writeError(ctx, fasthttp.StatusBadRequest, CodeValidation, "telegram_id must be 1 to 20 digits")
		return
	}
	var u pc.User
	var ok bool
	var inbox []pc.Withdrawal
	a.sys.ReadState(func(st *engine.State) {
		u, ok = pc.GetUser(st, id)
		inbox = pc.Notifications(st, id)
	})
	if !ok {
		writeError(ctx, fasthttp.StatusNotFound, CodeNotFound, "No PAYchat account for this Telegram ID")
		return
	}
	list := []byte{'['}
	for i := range inbox {
		w := &inbox[i]
		if i > 0 {
			list = append(list, ',')
		}
		list = newObject(list).str("withdrawal_id", w.ID).str("partner_id", w.Partner).amount("amount", w.Amount).
			strOrNull("memo", w.Memo).str("created_at", timestamp(w.CreatedMs)).close()
	}
	list = append(list, ']')
	obj := newObject(nil).str("telegram_id", u.TelegramID).amount("balance", u.Balance).strOrNull("referrer", u.Referrer).
		raw("notifications", list).str("created_at", timestamp(u.CreatedMs)).close()
	reply(ctx, fasthttp.StatusOK, envelope("user", obj))
}

// adminLedger shows where all the money is: the conservation rule.
func (a *API) adminLedger(ctx *fasthttp.RequestCtx) {
	var t pc.Totals
	a.sys.ReadState(func(st *engine.State) { t = pc.TotalsOf(st) })
	obj := newObject(nil).amount("deposited", t.Deposited).amount("partners", t.Partners).amount("users", t.Users).
		amount("fee_account", t.FeeAccount).amount("held", t.Held).
		boolean("balanced", t.Partners+t.Users+t.FeeAccount+t.Held == t.Deposited).close()
	reply(ctx, fasthttp.StatusOK, envelope("ledger", obj))
}
