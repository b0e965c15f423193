package checkout

import (
	"errors"
	"fmt"
	"sync"

	"ledgerd/actors"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// Auth is who asks: the shop (partner id), the mode its key gives, and the
// key's hash and rate limit for the limiter (RateLimit 0: no limiter hop).
type Auth struct {
	Shop      string
	Live      bool
	KeyHash   [engine.KeyHashLen]byte
	RateLimit int64
}

// Owner is the shop and mode of this request's payments.
func (a Auth) Owner() ck.Owner { return ck.Owner{Shop: a.Shop, Live: a.Live} }

// Result is a command's answer. Status StatusOK means HTTP and Body hold
// the answer to send (on a replay, the first answer). Any other Status
// carries no body: StatusConflict (the Idempotency-Key was used with other
// parameters), StatusRateLimited (RetryAfterSec, Rate), StatusOverloaded.
type Result struct {
	Status        actors.Status
	Replayed      bool
	HTTP          int
	Body          []byte
	RetryAfterSec int64
	Rate          actors.Decision
}

// Render makes an answer from the state the actor decided on: v is a
// *checkout.Payment (after the change) or a Refusal.
type Render func(v any) (status int64, body []byte)

// NoticeFunc renders the webhook event of type typ about payment p (after
// the change).
type NoticeFunc func(p *ck.Payment, typ string) ck.Notice

// Refusal is an answer decided against a payment's state.
type Refusal struct {
	Code string
	ID   string
}

// Refusal codes.
const (
	CodeNotFound       = "payment_not_found"      // no such payment of this shop and mode
	CodeNotRefundable  = "payment_not_refundable" // not completed (pending, failed, or fully refunded)
	CodeRefundTooLarge = "amount_too_large"       // more than is left to refund
)

// do runs cmd as an Op of kind for auth and reads its answer.
func do(sys *actors.System, auth Auth, kind actors.Kind, cmd command, ans ck.Answer) (Result, *actors.Op) {
	op := actors.NewOp()
	op.Kind, op.Cmd, op.Partner = kind, cmd, auth.Shop
	op.KeyHash, op.RateLimit = auth.KeyHash, auth.RateLimit
	// A decided command creates a payment under an id the API has just
	// drawn at random: it needs no actor (actors.Op.Fresh).
	_, op.Fresh = cmd.(*decided)
	if ans.Key != "" {
		op.Scope, op.Reference, op.Fingerprint = ck.ScopeOf(auth.Owner()), ans.Key, ans.Fingerprint
	}
	sys.Do(op)
	r := Result{Status: op.Status, Replayed: op.Idempotent, RetryAfterSec: op.RetryAfterSec, Rate: op.Rate}
	switch {
	case op.Status != actors.StatusOK:
	case op.Idempotent:
		r.HTTP, r.Body = int(op.ResponseStatus), []byte(op.Response)
	default:
		if a, ok := op.Result.(*reply); ok {
			r.HTTP, r.Body = int(a.status), a.body
		}
	}
	return r, op
}

// CreatePayment records a pending payment the API decided whole (id,
// token, times); status and body are its answer, bound to ans's key.
func CreatePayment(sys *actors.System, auth Auth, p ck.Payment, status int64, body []byte, ans ck.Answer) Result {
	p.Owner = auth.Owner()
	cp := p
	ev := &ck.PaymentCreated{Payment: p, Answer: bound(ans, status, body)}
	r, op := do(sys, auth, kindCreate, &decided{id: p.ID, ev: ev, state: &cp, reply: reply{status, body}}, ans)
	op.Release()
	return r
}

// Refund refunds amount (0: all that is left) of the owner's completed
// payment id; refused (render(Refusal)) when there is no such payment, it
// is not completed, or less is left. The answer is render(*Payment after)
// and its webhook notice(payment after, payment.refunded).
func Refund(sys *actors.System, auth Auth, id string, amount int64, notice NoticeFunc, ans ck.Answer, render Render) Result {
	r, op := do(sys, auth, kindRefund, &refund{base: base{id: id, owner: auth.Owner(), ans: ans, render: render},
		amount: amount, notice: notice}, ans)
	op.Release()
	return r
}

// Card is the card sandbox's answer for a submitted card: approved with
// the card's brand and last four digits, or declined with its code.
type Card struct {
	Approved    bool
	Brand       string
	Last4       string
	DeclineCode string // the decline (or error) code when not approved
}

// Outcome is what a submission did.
type Outcome uint8

const (
	OutcomeCompleted Outcome = iota + 1 // the card paid it
	OutcomeDeclined                     // the card was declined; the payment is pending or, at the fifth, failed
	OutcomeClosed                       // the payment was not pending: nothing changed
	OutcomeExpired                      // its time was up: it failed (expired) instead
	OutcomeMissing                      // no such payment
)

// Submission is a submission's outcome and the payment after it.
type Submission struct {
	Outcome Outcome
	Payment ck.Payment
}

// ErrOverloaded: the payment's actor has too much queued, or an answer
// could not be stored; nothing changed.
var ErrOverloaded = errors.New("checkout: overloaded")

// Submit decides a card submitted on the checkout page of payment id,
// against the payment's state at its actor: completed when approved,
// a declined attempt otherwise (the fifth fails it), expired when its
// time is up, nothing when it is no longer pending.
func Submit(sys *actors.System, id string, card Card, notice NoticeFunc) (Submission, error) {
	return ask(sys, kindSubmit, &submit{id: id, card: card, notice: notice})
}

// Expire fails payment id if it is pending and its expiry has passed (an
// OutcomeExpired); otherwise nothing changes (OutcomeClosed, or
// OutcomeDeclined with the payment still pending and not due).
func Expire(sys *actors.System, id string, notice NoticeFunc) (Submission, error) {
	return ask(sys, kindExpire, &expire{id: id, notice: notice})
}

func ask(sys *actors.System, kind actors.Kind, cmd command) (Submission, error) {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Cmd = kind, cmd
	sys.Do(op)
	if op.Status != actors.StatusOK {
		return Submission{}, ErrOverloaded
	}
	s, _ := op.Result.(*Submission)
	if s == nil {
		return Submission{}, ErrOverloaded
	}
	return *s, nil
}

// Shop errors.
var (
	ErrShopNotFound = errors.New("checkout: no such shop")
	ErrShopExists   = errors.New("checkout: shop id already exists")
)

// shopMu serializes shop changes: each is decided against the durable
// state and committed before the next is decided.
var shopMu sync.Mutex

// CreateShop records a shop, then its partner (API "checkout", the test
// key first) and the live key. The shop is committed first, so a partner
// never exists without its shop; a crash between leaves a shop no key
// reaches.
func CreateShop(sys *actors.System, sh ck.Shop, rateLimit int64, testKey, liveKey actors.NewKey) (ck.Shop, error) {
	shopMu.Lock()
	defer shopMu.Unlock()
	var exists bool
	sys.ReadState(func(st *engine.State) { _, exists = ck.GetShop(st, sh.ID) })
	if _, ok := sys.PartnerByID(sh.ID); ok || exists {
		return ck.Shop{}, ErrShopExists
	}
	ev := &ck.ShopCreated{Shop: sh}
	ev.TimeMs = sys.Now().UnixMilli()
	ev.Shop.CreatedMs = ev.TimeMs
	if err := sys.Commit(ev); err != nil {
		return ck.Shop{}, fmt.Errorf("checkout: create shop: %w", err)
	}
	if _, err := sys.CreatePartner(sh.ID, ck.API, sh.Name, rateLimit, testKey); err != nil {
		return ck.Shop{}, fmt.Errorf("checkout: create shop's partner: %w", err)
	}
	if _, err := sys.AddKey(sh.ID, liveKey); err != nil {
		return ck.Shop{}, fmt.Errorf("checkout: add shop's live key: %w", err)
	}
	return ev.Shop, nil
}

// ShopPatch changes a shop's branding or webhook settings: nil leaves a
// field as it is. Logo with a LogoType "" removes the logo.
type ShopPatch struct {
	Name        *string
	AccentColor *string
	Logo        *[]byte
	LogoType    string
	WebhookURL  *string
	// RotateSecret gives the shop a new webhook secret (the old one stops
	// signing at once).
	RotateSecret bool
}

// UpdateShop applies a patch to shop id and returns the shop after it.
func UpdateShop(sys *actors.System, id string, patch ShopPatch) (ck.Shop, error) {
	shopMu.Lock()
	defer shopMu.Unlock()
	var sh ck.Shop
	var ok bool
	sys.ReadState(func(st *engine.State) { sh, ok = ck.GetShop(st, id) })
	if !ok {
		return ck.Shop{}, ErrShopNotFound
	}
	if patch.Name != nil {
		sh.Name = *patch.Name
	}
	if patch.AccentColor != nil {
		sh.AccentColor = *patch.AccentColor
	}
	if patch.Logo != nil {
		sh.Logo, sh.LogoType = *patch.Logo, patch.LogoType
		if len(sh.Logo) == 0 {
			sh.Logo, sh.LogoType = nil, ""
		}
	}
	if patch.WebhookURL != nil {
		sh.WebhookURL = *patch.WebhookURL
	}
	if patch.RotateSecret {
		sh.WebhookRotation++
	}
	ev := &ck.ShopUpdated{Shop: sh}
	ev.TimeMs = sys.Now().UnixMilli()
	if err := sys.Commit(ev); err != nil {
		return ck.Shop{}, fmt.Errorf("checkout: update shop: %w", err)
	}
	return sh, nil
}
