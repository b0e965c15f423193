package paychat

import (
	"ledgerd/engine"
)

// Event types: wire format, never renumber (engine/doc.go lists them;
// PAYchat owns 60–79).
const (
	EvPartnerRegistered engine.EventType = 60
	EvWebhookSet        engine.EventType = 61
	EvPaymentCreated    engine.EventType = 62
	EvPaymentPaid       engine.EventType = 63
	EvWithdrawn         engine.EventType = 64
	EvDepositReceived   engine.EventType = 65
	EvDepositAssigned   engine.EventType = 66
	EvFeeScheduleSet    engine.EventType = 67
	EvWebhookTested     engine.EventType = 68
)

// Idempotency scopes of idempotency_key, per route (wire format).
const (
	ScopePayment    engine.Scope = 9
	ScopeWithdrawal engine.Scope = 10
)

// Entity kinds: one actor at a time owns each. A partner's actor is the
// only one that debits it (withdrawals); a user's actor the only one that
// debits the user (payments) and registers a partner for its Telegram id;
// a link's actor creates it; the one deposits actor (DepositsID) owns
// every deposit and the cap on Deposited.
var (
	PartnerEntity  = engine.RegisterEntityKind("partner/paychat")
	UserEntity     = engine.RegisterEntityKind("user/paychat")
	LinkEntity     = engine.RegisterEntityKind("payment/paychat")
	DepositsEntity = engine.RegisterEntityKind("deposits/paychat")
)

// DepositsID is the id of the one deposits entity.
const DepositsID = "all"

// PartnerRegistered adds a partner (POST /register); its engine.Partner
// and API key are created after it (PartnerCreated, by the directory).
type PartnerRegistered struct {
	engine.Stamp
	Partner Partner
}

// WebhookSet sets a partner's webhook URL (PUT /webhook).
type WebhookSet struct {
	engine.Stamp
	Partner string
	URL     string
}

// PaymentCreated adds a pending payment link (POST /payments).
type PaymentCreated struct {
	engine.Stamp
	Payment Payment
	Answer  Answer
}

// PaymentPaid is a payer paying a link from its balance at PaidMs,
// decided on the payer's actor (which saw the balance cover Amount). If
// the link is pending and PaidMs is before its expiry when the event is
// applied, it completes: the payer is debited Amount, the partner
// credited Amount - Fee, the fee account Fee, and Notice (payment.completed)
// is enqueued. Otherwise (another payer's PaymentPaid came first in the
// log) it is void: nothing changes but State.Void. The payer's actor reads
// the outcome from the durable state (Payment.Payer and PaidMs).
type PaymentPaid struct {
	engine.Stamp
	Link    string
	Partner string
	Payer   string
	Amount  int64
	Fee     int64
	PaidMs  int64
	Notice  Notice
}

// Withdrawn debits a partner Amount + Fee and credits the user Amount
// (created on first use; the first withdrawal to a user without a
// referrer makes the partner its referrer), decided on the partner's
// actor; Notice (withdraw.completed) is enqueued.
type Withdrawn struct {
	engine.Stamp
	Withdrawal Withdrawal
	Notice     Notice
	Answer     Answer
}

// DepositReceived records a deposit, decided on the deposits actor (tx
// hash new, Deposited + Amount within MaxAmount): credited to the partner
// or user it names, or held.
type DepositReceived struct {
	engine.Stamp
	Deposit Deposit
}

// DepositAssigned credits a held deposit to a partner (operator).
type DepositAssigned struct {
	engine.Stamp
	TxHash  string
	Partner string
}

// FeeScheduleSet replaces the fee schedule (operator).
type FeeScheduleSet struct {
	engine.Stamp
	Schedule FeeSchedule
}

// WebhookTested enqueues a test event to the partner's webhook.
type WebhookTested struct {
	engine.Stamp
	Partner string
	Notice  Notice
}

func (*PartnerRegistered) EventType() engine.EventType { return EvPartnerRegistered }
func (*WebhookSet) EventType() engine.EventType        { return EvWebhookSet }
func (*PaymentCreated) EventType() engine.EventType    { return EvPaymentCreated }
func (*PaymentPaid) EventType() engine.EventType       { return EvPaymentPaid }
func (*Withdrawn) EventType() engine.EventType         { return EvWithdrawn }
func (*DepositReceived) EventType() engine.EventType   { return EvDepositReceived }
func (*DepositAssigned) EventType() engine.EventType   { return EvDepositAssigned }
func (*FeeScheduleSet) EventType() engine.EventType    { return EvFeeScheduleSet }
func (*WebhookTested) EventType() engine.EventType     { return EvWebhookTested }

// idem is the record an event with answer a of partner leaves: only when
// it answered an idempotency_key.
func idem(partner string, sc engine.Scope, a *Answer, timeMs int64) (engine.IdemKey, engine.IdemRecord, bool) {
	if a.Key == "" {
		return engine.IdemKey{}, engine.IdemRecord{}, false
	}
	return engine.IdemKey{Partner: partner, Scope: sc, Reference: a.Key},
		engine.IdemRecord{Fingerprint: a.Fingerprint, TimeMs: timeMs, Status: uint16(a.Status), Response: string(a.Response)}, true
}

func entity(k engine.EntityKind, id string) (engine.Entity, bool) {
	return engine.Entity{Kind: k, ID: id}, true
}

func init() {
	engine.RegisterScope(ScopePayment, "paychat.payment_key", engine.RetainKeys)
	engine.RegisterScope(ScopeWithdrawal, "paychat.withdrawal_key", engine.RetainKeys)
	engine.Register(engine.EventDef[*PartnerRegistered]{Type: EvPartnerRegistered, Name: "paychat.partner_registered", Fields: 1,
		Encode: func(w *engine.Writer, ev *PartnerRegistered) { writePartner(w, &ev.Partner) },
		Decode: func(r *engine.Reader, t int64) *PartnerRegistered {
			ev := &PartnerRegistered{Stamp: engine.Stamp{TimeMs: t}}
			readPartner(r, &ev.Partner)
			return ev
		},
		Validate: func(ev *PartnerRegistered) error {
			if err := validPartner(&ev.Partner); err != nil {
				return err
			}
			if ev.Partner.WebhookURL != "" || ev.Partner.SecretRotation != 0 {
				return fieldErr("new partner's webhook or rotation", ev.Partner.WebhookURL)
			}
			return nil
		},
		Apply:  applyPartnerRegistered,
		Entity: func(ev *PartnerRegistered) (engine.Entity, bool) { return entity(UserEntity, ev.Partner.TelegramID) },
	})
	engine.Register(engine.EventDef[*WebhookSet]{Type: EvWebhookSet, Name: "paychat.webhook_set", Fields: 2,
		Encode: func(w *engine.Writer, ev *WebhookSet) { w.Str(ev.Partner); w.Str(ev.URL) },
		Decode: func(r *engine.Reader, t int64) *WebhookSet {
			return &WebhookSet{Stamp: engine.Stamp{TimeMs: t}, Partner: r.Str(), URL: r.Str()}
		},
		Validate: func(ev *WebhookSet) error { return first(validID(ev.Partner, PrefixPartner), validURL(ev.URL, false)) },
		Apply:    applyWebhookSet,
		Entity:   func(ev *WebhookSet) (engine.Entity, bool) { return entity(PartnerEntity, ev.Partner) },
	})
	engine.Register(engine.EventDef[*PaymentCreated]{Type: EvPaymentCreated, Name: "paychat.payment_created", Fields: 2,
		Encode: func(w *engine.Writer, ev *PaymentCreated) { writePayment(w, &ev.Payment); w.Answer(&ev.Answer) },
		Decode: func(r *engine.Reader, t int64) *PaymentCreated {
			ev := &PaymentCreated{Stamp: engine.Stamp{TimeMs: t}}
			readPayment(r, &ev.Payment)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *PaymentCreated) error {
			return first(validPayment(&ev.Payment, false), validAnswer(&ev.Answer))
		},
		Apply:  applyPaymentCreated,
		Entity: func(ev *PaymentCreated) (engine.Entity, bool) { return entity(LinkEntity, ev.Payment.LinkID) },
		Idem: func(ev *PaymentCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Payment.Partner, ScopePayment, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*PaymentPaid]{Type: EvPaymentPaid, Name: "paychat.payment_paid", Fields: 7,
		Encode: func(w *engine.Writer, ev *PaymentPaid) {
			w.Str(ev.Link)
			w.Str(ev.Partner)
			w.Str(ev.Payer)
			w.Int(ev.Amount)
			w.Int(ev.Fee)
			w.Int(ev.PaidMs)
			w.Notice(&ev.Notice)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentPaid {
			return &PaymentPaid{Stamp: engine.Stamp{TimeMs: t}, Link: r.Str(), Partner: r.Str(), Payer: r.Str(),
				Amount: r.Int(), Fee: r.Int(), PaidMs: r.Int(), Notice: r.Notice()}
		},
		Validate: func(ev *PaymentPaid) error {
			err := first(validID(ev.Partner, PrefixPartner), validTelegram(ev.Payer), validAmount("amount", ev.Amount),
				validFee(ev.Fee), validTime("paid", ev.PaidMs), validNotice(&ev.Notice, EventPaymentCompleted))
			switch {
			case err != nil:
				return err
			case !ValidLinkID(ev.Link):
				return fieldErr("link id", ev.Link)
			case ev.Fee > ev.Amount:
				return fieldErr("fee above the amount", ev.Fee)
			}
			return nil
		},
		Apply:  applyPaymentPaid,
		Entity: func(ev *PaymentPaid) (engine.Entity, bool) { return entity(UserEntity, ev.Payer) },
	})
	engine.Register(engine.EventDef[*Withdrawn]{Type: EvWithdrawn, Name: "paychat.withdrawn", Fields: 3,
		Encode: func(w *engine.Writer, ev *Withdrawn) {
			writeWithdrawal(w, &ev.Withdrawal)
			w.Notice(&ev.Notice)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *Withdrawn {
			ev := &Withdrawn{Stamp: engine.Stamp{TimeMs: t}}
			readWithdrawal(r, &ev.Withdrawal)
			ev.Notice, ev.Answer = r.Notice(), r.Answer()
			return ev
		},
		Validate: func(ev *Withdrawn) error {
			err := first(validWithdrawal(&ev.Withdrawal), validNotice(&ev.Notice, EventWithdrawCompleted), validAnswer(&ev.Answer))
			if err == nil && ev.Withdrawal.Amount+ev.Withdrawal.Fee > MaxAmount {
				err = fieldErr("amount and fee", ev.Withdrawal.Amount+ev.Withdrawal.Fee)
			}
			return err
		},
		Apply:  applyWithdrawn,
		Entity: func(ev *Withdrawn) (engine.Entity, bool) { return entity(PartnerEntity, ev.Withdrawal.Partner) },
		Idem: func(ev *Withdrawn) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Withdrawal.Partner, ScopeWithdrawal, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*DepositReceived]{Type: EvDepositReceived, Name: "paychat.deposit_received", Fields: 1,
		Encode: func(w *engine.Writer, ev *DepositReceived) { writeDeposit(w, &ev.Deposit) },
		Decode: func(r *engine.Reader, t int64) *DepositReceived {
			ev := &DepositReceived{Stamp: engine.Stamp{TimeMs: t}}
			readDeposit(r, &ev.Deposit)
			return ev
		},
		Validate: func(ev *DepositReceived) error { return validDeposit(&ev.Deposit, false) },
		Apply:    applyDepositReceived,
		Entity:   func(*DepositReceived) (engine.Entity, bool) { return entity(DepositsEntity, DepositsID) },
	})
	engine.Register(engine.EventDef[*DepositAssigned]{Type: EvDepositAssigned, Name: "paychat.deposit_assigned", Fields: 2,
		Encode: func(w *engine.Writer, ev *DepositAssigned) { w.Str(ev.TxHash); w.Str(ev.Partner) },
		Decode: func(r *engine.Reader, t int64) *DepositAssigned {
			return &DepositAssigned{Stamp: engine.Stamp{TimeMs: t}, TxHash: r.Str(), Partner: r.Str()}
		},
		Validate: func(ev *DepositAssigned) error {
			if !ValidTxHash(ev.TxHash) {
				return fieldErr("tx hash", ev.TxHash)
			}
			return validID(ev.Partner, PrefixPartner)
		},
		Apply:  applyDepositAssigned,
		Entity: func(*DepositAssigned) (engine.Entity, bool) { return entity(DepositsEntity, DepositsID) },
	})
	engine.Register(engine.EventDef[*FeeScheduleSet]{Type: EvFeeScheduleSet, Name: "paychat.fee_schedule_set", Fields: 1,
		Encode: func(w *engine.Writer, ev *FeeScheduleSet) { writeSchedule(w, &ev.Schedule) },
		Decode: func(r *engine.Reader, t int64) *FeeScheduleSet {
			return &FeeScheduleSet{Stamp: engine.Stamp{TimeMs: t}, Schedule: readSchedule(r)}
		},
		Validate: func(ev *FeeScheduleSet) error { return ValidSchedule(&ev.Schedule) },
		Apply:    func(st *engine.State, ev *FeeScheduleSet) { Of(st).Schedule = ev.Schedule },
	})
	engine.Register(engine.EventDef[*WebhookTested]{Type: EvWebhookTested, Name: "paychat.webhook_tested", Fields: 2,
		Encode: func(w *engine.Writer, ev *WebhookTested) { w.Str(ev.Partner); w.Notice(&ev.Notice) },
		Decode: func(r *engine.Reader, t int64) *WebhookTested {
			return &WebhookTested{Stamp: engine.Stamp{TimeMs: t}, Partner: r.Str(), Notice: r.Notice()}
		},
		Validate: func(ev *WebhookTested) error {
			err := first(validID(ev.Partner, PrefixPartner), validNotice(&ev.Notice, EventTest))
			if err == nil && ev.Notice.ID == "" {
				err = fieldErr("test without a notice", "")
			}
			return err
		},
		Apply: applyWebhookTested,
	})
}
