package paychat

import (
	"errors"
	"fmt"

	"ledgerd/actors"
	"ledgerd/engine"
	pc "ledgerd/engine/paychat"
)

// Auth is who calls, as the API layer resolved the key: the partner, the
// key's hash (its rate limiter) and the limit of the request's class.
type Auth struct {
	Partner   string
	KeyHash   [engine.KeyHashLen]byte
	RateLimit int64 // per minute in RateClass; 0 = no limiter hop
	RateClass uint8
}

// Result is a command's outcome. HTTP and Body are the answer the API
// rendered (or, on a replay, the first one stored with the
// idempotency_key).
type Result struct {
	Status        actors.Status
	Replayed      bool
	HTTP          int
	Body          []byte
	Balance       int64 // StatusInsufficient: the balance the refusal saw
	RetryAfterSec int64
	Rate          actors.Decision
}

// ErrLinkIDs: CreatePayment drew taken link ids maxDraws times in a row.
var ErrLinkIDs = errors.New("paychat: no free link id drawn")

const maxDraws = 8

func newOp(auth Auth, kind actors.Kind, cmd command) *actors.Op {
	op := actors.NewOp()
	op.Kind, op.Cmd, op.Partner = kind, cmd, auth.Partner
	op.KeyHash, op.RateLimit, op.RateClass = auth.KeyHash, auth.RateLimit, auth.RateClass
	return op
}

// stored is the part of an answer its event keeps: all of it with an
// idempotency_key, nothing without one.
func stored(a pc.Answer) pc.Answer {
	if a.Key == "" {
		return pc.Answer{}
	}
	return a
}

func bind(op *actors.Op, sc engine.Scope, a *pc.Answer) {
	if a.Key != "" {
		op.Scope, op.Reference, op.Fingerprint = sc, a.Key, a.Fingerprint
	}
}

func result(op *actors.Op, a *pc.Answer) Result {
	r := Result{Status: op.Status, Replayed: op.Idempotent, RetryAfterSec: op.RetryAfterSec, Rate: op.Rate, Balance: op.Balance}
	switch {
	case op.Status != actors.StatusOK:
	case op.Idempotent:
		r.HTTP, r.Body = int(op.ResponseStatus), []byte(op.Response)
	default:
		r.HTTP, r.Body = int(a.Status), a.Response
	}
	return r
}

// Throttle counts a request against auth's limiter class only (a read,
// or a call refused before it reaches an actor).
func Throttle(sys *actors.System, auth Auth) Result {
	op := newOp(auth, actors.KindNone, nil)
	defer op.Release()
	sys.Do(op)
	return Result{Status: op.Status, RetryAfterSec: op.RetryAfterSec, Rate: op.Rate}
}

// Register records a partner for its Telegram id (the id's actor decides
// it is the first). StatusConflict: the id has a partner already, whose
// id is returned.
func Register(sys *actors.System, p pc.Partner) (status actors.Status, existing string) {
	op := newOp(Auth{}, kindRegister, &register{partner: p})
	defer op.Release()
	sys.Do(op)
	if id, ok := op.Result.(string); ok {
		existing = id
	}
	return op.Status, existing
}

// CreatePayment records a pending payment link. draw returns the payment
// (with a fresh random link id each call) and its answer, rendered (Status
// and Response; Key and Fingerprint with an idempotency_key): a link id
// already taken is drawn again, up to maxDraws times.
func CreatePayment(sys *actors.System, auth Auth, draw func() (pc.Payment, pc.Answer)) (Result, error) {
	for range maxDraws {
		p, ans := draw()
		op := newOp(auth, kindCreate, &create{ev: pc.PaymentCreated{Payment: p, Answer: stored(ans)}})
		// A link id just drawn needs no actor (actors.Op.Fresh); one that
		// is taken after all is drawn again.
		op.Fresh, op.Taken = true, actors.StatusAlreadyRedeemed
		bind(op, pc.ScopePayment, &ans)
		sys.Do(op)
		r := result(op, &ans)
		op.Release()
		if r.Status != actors.StatusAlreadyRedeemed {
			return r, nil
		}
		auth.RateLimit = 0 // counted once
	}
	return Result{}, ErrLinkIDs
}

// Withdraw debits the partner w.Amount + w.Fee and credits the user, on
// the partner's actor; ans is the rendered answer (as CreatePayment's).
// StatusInsufficient (nothing changed) when its
// durable balance does not cover both; StatusUnknownUser when the partner
// has no PAYchat record.
func Withdraw(sys *actors.System, auth Auth, w pc.Withdrawal, n pc.Notice, ans pc.Answer) Result {
	w.Partner = auth.Partner
	op := newOp(auth, kindWithdraw, &withdraw{ev: pc.Withdrawn{Withdrawal: w, Notice: n, Answer: stored(ans)}})
	defer op.Release()
	bind(op, pc.ScopeWithdrawal, &ans)
	sys.Do(op)
	return result(op, &ans)
}

// SetWebhook sets the partner's webhook URL.
func SetWebhook(sys *actors.System, auth Auth, url string) Result {
	op := newOp(auth, kindWebhook, &setWebhook{ev: pc.WebhookSet{Partner: auth.Partner, URL: url}})
	defer op.Release()
	sys.Do(op)
	return Result{Status: op.Status, RetryAfterSec: op.RetryAfterSec, Rate: op.Rate}
}

// TestWebhook enqueues a test event (n) to the partner's webhook. The
// partner must be registered (the API authenticated it).
func TestWebhook(sys *actors.System, partner string, n pc.Notice) error {
	ev := &pc.WebhookTested{Partner: partner, Notice: n}
	ev.SetTime(sys.Now().UnixMilli())
	return sys.Commit(ev)
}

// SetFeeSchedule replaces the fee schedule.
func SetFeeSchedule(sys *actors.System, s pc.FeeSchedule) error {
	if err := pc.ValidSchedule(&s); err != nil {
		return fmt.Errorf("paychat: fee schedule: %w", err)
	}
	ev := &pc.FeeScheduleSet{Schedule: s}
	ev.SetTime(sys.Now().UnixMilli())
	return sys.Commit(ev)
}

// Deposit records a deposit on the deposits actor: d.Partner (resolved
// from the memo by the caller), d.User (sandbox funding), or neither
// (held, Status DepositHeld). The same tx hash again is a replay
// (replayed, the first deposit) when memo, amount and user repeat, else
// StatusConflict (with the first deposit); StatusBalanceLimit when the
// ledger would pass MaxAmount in all.
func Deposit(sys *actors.System, d pc.Deposit) (got pc.Deposit, status actors.Status, replayed bool) {
	if d.Partner == "" && d.User == "" {
		d.Status = pc.DepositHeld
	} else {
		d.Status = pc.DepositCredited
	}
	op := newOp(Auth{}, kindDeposit, &deposit{d: d})
	defer op.Release()
	sys.Do(op)
	got, _ = op.Result.(pc.Deposit)
	return got, op.Status, op.Idempotent
}

// AssignDeposit credits a held deposit to partner (which the caller
// checked exists): StatusNotFound (no such tx hash), StatusAlreadyRedeemed
// (it is credited already: the deposit as it is).
func AssignDeposit(sys *actors.System, txHash, partner string) (pc.Deposit, actors.Status) {
	op := newOp(Auth{}, kindAssign, &assign{txHash: txHash, partner: partner})
	defer op.Release()
	sys.Do(op)
	d, _ := op.Result.(pc.Deposit)
	return d, op.Status
}

// PayOutcome is how paying a link ended.
type PayOutcome uint8

const (
	PayCompleted    PayOutcome = iota
	PayNotFound                // no such link
	PayExpired                 // past its expiry
	PayAlreadyPaid             // completed, by this payer or another
	PayInsufficient            // the payer's balance does not cover it (after funding, if asked)
	PayFundRefused             // funding would pass the ledger's cap
	PayOverloaded              // too many requests queued
)

// PayRequest is a payer paying a link. Fund first deposits the amount to
// the payer (sandbox funding) with transaction hash FundTx. Notice renders
// the payment.completed event of the payment (as completed, by this
// payer, at paidMs).
type PayRequest struct {
	Link   string
	Payer  string
	Fund   bool
	FundTx string
	Notice func(p pc.Payment) pc.Notice
}

// Pay pays a link from the payer's balance, on the payer's actor, and
// returns the payment as it is after (completed by this payer on
// PayCompleted). The fee is the schedule's, for the receiving partner's
// total holdings when the call arrives.
func Pay(sys *actors.System, req PayRequest) (pc.Payment, PayOutcome) {
	var p pc.Payment
	var ok bool
	var fee int64
	nowMs := sys.Now().UnixMilli()
	sys.ReadState(func(st *engine.State) {
		if p, ok = pc.PaymentByLink(st, req.Link); ok {
			s := pc.Schedule(st)
			fee = s.PaymentFee(p.Amount, pc.BalanceOf(st, p.Partner).Total)
		}
	})
	switch {
	case !ok:
		return p, PayNotFound
	case p.Status == pc.StatusCompleted:
		return p, PayAlreadyPaid
	case !pc.Payable(&p, nowMs):
		return p, PayExpired
	}
	if req.Fund {
		_, st, _ := Deposit(sys, pc.Deposit{TxHash: req.FundTx, Amount: p.Amount, User: req.Payer})
		switch st {
		case actors.StatusOK:
		case actors.StatusBalanceLimit:
			return p, PayFundRefused
		default:
			return p, PayOverloaded
		}
	}
	done := p
	done.Status, done.Payer, done.PaidMs, done.Fee = pc.StatusCompleted, req.Payer, nowMs, fee
	var n pc.Notice
	if req.Notice != nil {
		n = req.Notice(done)
	}
	op := newOp(Auth{}, kindPay, &pay{ev: pc.PaymentPaid{Link: p.LinkID, Partner: p.Partner, Payer: req.Payer, Amount: p.Amount,
		Fee: fee, PaidMs: nowMs, Notice: n}})
	defer op.Release()
	sys.Do(op)
	switch op.Status {
	case actors.StatusOK:
	case actors.StatusInsufficient:
		return p, PayInsufficient
	default:
		return p, PayOverloaded
	}
	sys.ReadState(func(st *engine.State) { p, _ = pc.PaymentByLink(st, req.Link) })
	switch {
	case p.Status == pc.StatusCompleted && p.Payer == req.Payer && p.PaidMs == nowMs:
		return p, PayCompleted
	case p.Status == pc.StatusCompleted:
		return p, PayAlreadyPaid // another payer was first: this one was void
	}
	return p, PayExpired
}
