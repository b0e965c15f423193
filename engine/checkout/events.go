package checkout

import (
	"ledgerd/engine"
)

// Event types: wire format, never renumber (engine/doc.go lists them).
const (
	EvShopCreated      engine.EventType = 50
	EvShopUpdated      engine.EventType = 51
	EvPaymentCreated   engine.EventType = 52
	EvPaymentDeclined  engine.EventType = 53
	EvPaymentCompleted engine.EventType = 54
	EvPaymentExpired   engine.EventType = 55
	EvPaymentRefunded  engine.EventType = 56
	EvRefused          engine.EventType = 57
)

// Idempotency-Key scopes, one per mode: a key is the shop's and the
// mode's, across its POST routes (a reuse on another route has another
// fingerprint: a conflict). Wire format.
const (
	ScopeTest engine.Scope = 7
	ScopeLive engine.Scope = 8
)

// ScopeOf is the Idempotency-Key scope of an owner's mode.
func ScopeOf(o Owner) engine.Scope {
	if o.Live {
		return ScopeLive
	}
	return ScopeTest
}

// PaymentEntity is the kind of a payment's actor: one at a time owns it.
var PaymentEntity = engine.RegisterEntityKind("payment/checkout")

// ShopCreated adds a shop (its partner is created by the directory).
type ShopCreated struct {
	engine.Stamp
	Shop Shop
}

// ShopUpdated replaces a shop's branding and webhook settings with their
// whole new value (CreatedMs is kept).
type ShopUpdated struct {
	engine.Stamp
	Shop Shop
}

// PaymentCreated adds a pending payment.
type PaymentCreated struct {
	engine.Stamp
	Payment Payment
	Answer  Answer
}

// PaymentDeclined records a declined card on a pending payment: Attempt is
// the payment's declined attempts with it. The MaxAttempts-th fails the
// payment (too_many_attempts) and carries its payment.failed Notice.
type PaymentDeclined struct {
	engine.Stamp
	Owner       Owner
	ID          string
	Attempt     int64
	DeclineCode string
	Notice      Notice
}

// PaymentCompleted records the card that paid a pending payment.
type PaymentCompleted struct {
	engine.Stamp
	Owner     Owner
	ID        string
	CardBrand string
	CardLast4 string
	Notice    Notice
}

// PaymentExpired fails a pending payment whose expiry has passed.
type PaymentExpired struct {
	engine.Stamp
	Owner  Owner
	ID     string
	Notice Notice
}

// PaymentRefunded refunds Amount of a completed payment;
// AmountRefundedAfter is the payment's AmountRefunded with it (the whole
// amount: the payment is refunded).
type PaymentRefunded struct {
	engine.Stamp
	Owner               Owner
	ID                  string
	Amount              int64
	AmountRefundedAfter int64
	Notice              Notice
	Answer              Answer
}

// Refused is a refusal decided against state (a refund of a payment that
// is not completed, or of more than is left): it changes nothing but binds
// its Idempotency-Key, so a retry gets the same answer.
type Refused struct {
	engine.Stamp
	Owner  Owner
	Answer Answer
}

func (*ShopCreated) EventType() engine.EventType      { return EvShopCreated }
func (*ShopUpdated) EventType() engine.EventType      { return EvShopUpdated }
func (*PaymentCreated) EventType() engine.EventType   { return EvPaymentCreated }
func (*PaymentDeclined) EventType() engine.EventType  { return EvPaymentDeclined }
func (*PaymentCompleted) EventType() engine.EventType { return EvPaymentCompleted }
func (*PaymentExpired) EventType() engine.EventType   { return EvPaymentExpired }
func (*PaymentRefunded) EventType() engine.EventType  { return EvPaymentRefunded }
func (*Refused) EventType() engine.EventType          { return EvRefused }

// idem is the record an event with answer a of owner o leaves: only when
// it answered an Idempotency-Key.
func idem(o Owner, a *Answer, timeMs int64) (engine.IdemKey, engine.IdemRecord, bool) {
	if a.Key == "" {
		return engine.IdemKey{}, engine.IdemRecord{}, false
	}
	return engine.IdemKey{Partner: o.Shop, Scope: ScopeOf(o), Reference: a.Key},
		engine.IdemRecord{Fingerprint: a.Fingerprint, TimeMs: timeMs, Status: uint16(a.Status), Response: string(a.Response)}, true
}

func payment(id string) (engine.Entity, bool) {
	return engine.Entity{Kind: PaymentEntity, ID: id}, true
}

func init() {
	engine.RegisterScope(ScopeTest, "checkout.key_test", engine.RetainKeys)
	engine.RegisterScope(ScopeLive, "checkout.key_live", engine.RetainKeys)
	engine.Register(engine.EventDef[*ShopCreated]{Type: EvShopCreated, Name: "checkout.shop_created", Fields: 1,
		Encode: func(w *engine.Writer, ev *ShopCreated) { writeShop(w, &ev.Shop) },
		Decode: func(r *engine.Reader, t int64) *ShopCreated {
			return &ShopCreated{Stamp: engine.Stamp{TimeMs: t}, Shop: readShop(r)}
		},
		Validate: func(ev *ShopCreated) error { return validShop(&ev.Shop) },
		Apply:    applyShopCreated,
	})
	engine.Register(engine.EventDef[*ShopUpdated]{Type: EvShopUpdated, Name: "checkout.shop_updated", Fields: 1,
		Encode: func(w *engine.Writer, ev *ShopUpdated) { writeShop(w, &ev.Shop) },
		Decode: func(r *engine.Reader, t int64) *ShopUpdated {
			return &ShopUpdated{Stamp: engine.Stamp{TimeMs: t}, Shop: readShop(r)}
		},
		Validate: func(ev *ShopUpdated) error { return validShop(&ev.Shop) },
		Apply:    applyShopUpdated,
	})
	engine.Register(engine.EventDef[*PaymentCreated]{Type: EvPaymentCreated, Name: "checkout.payment_created", Fields: 2,
		Encode: func(w *engine.Writer, ev *PaymentCreated) {
			writePayment(w, &ev.Payment)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentCreated {
			ev := &PaymentCreated{Stamp: engine.Stamp{TimeMs: t}}
			readPayment(r, &ev.Payment)
			ev.Answer = r.Answer()
			return ev
		},
		Validate: func(ev *PaymentCreated) error {
			return first(validNewPayment(&ev.Payment), validAnswer(&ev.Answer))
		},
		Apply:  applyPaymentCreated,
		Entity: func(ev *PaymentCreated) (engine.Entity, bool) { return payment(ev.Payment.ID) },
		Idem: func(ev *PaymentCreated) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Payment.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*PaymentDeclined]{Type: EvPaymentDeclined, Name: "checkout.payment_declined", Fields: 5,
		Encode: func(w *engine.Writer, ev *PaymentDeclined) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Int(ev.Attempt)
			w.Str(ev.DeclineCode)
			w.Notice(&ev.Notice)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentDeclined {
			return &PaymentDeclined{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Attempt: r.Int(),
				DeclineCode: r.Str(), Notice: r.Notice()}
		},
		Validate: validDeclined,
		Apply:    applyDeclined,
		Entity:   func(ev *PaymentDeclined) (engine.Entity, bool) { return payment(ev.ID) },
	})
	engine.Register(engine.EventDef[*PaymentCompleted]{Type: EvPaymentCompleted, Name: "checkout.payment_completed", Fields: 5,
		Encode: func(w *engine.Writer, ev *PaymentCompleted) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Str(ev.CardBrand)
			w.Str(ev.CardLast4)
			w.Notice(&ev.Notice)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentCompleted {
			return &PaymentCompleted{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), CardBrand: r.Str(),
				CardLast4: r.Str(), Notice: r.Notice()}
		},
		Validate: func(ev *PaymentCompleted) error {
			return first(validOwner(ev.Owner), validID(ev.ID, PrefixPayment), validCard(ev.CardBrand, ev.CardLast4),
				validNotice(&ev.Notice, EventPaymentCompleted, true))
		},
		Apply:  applyCompleted,
		Entity: func(ev *PaymentCompleted) (engine.Entity, bool) { return payment(ev.ID) },
	})
	engine.Register(engine.EventDef[*PaymentExpired]{Type: EvPaymentExpired, Name: "checkout.payment_expired", Fields: 3,
		Encode: func(w *engine.Writer, ev *PaymentExpired) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Notice(&ev.Notice)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentExpired {
			return &PaymentExpired{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Notice: r.Notice()}
		},
		Validate: func(ev *PaymentExpired) error {
			return first(validOwner(ev.Owner), validID(ev.ID, PrefixPayment), validNotice(&ev.Notice, EventPaymentFailed, true))
		},
		Apply:  applyExpired,
		Entity: func(ev *PaymentExpired) (engine.Entity, bool) { return payment(ev.ID) },
	})
	engine.Register(engine.EventDef[*PaymentRefunded]{Type: EvPaymentRefunded, Name: "checkout.payment_refunded", Fields: 6,
		Encode: func(w *engine.Writer, ev *PaymentRefunded) {
			writeOwner(w, ev.Owner)
			w.Str(ev.ID)
			w.Int(ev.Amount)
			w.Int(ev.AmountRefundedAfter)
			w.Notice(&ev.Notice)
			w.Answer(&ev.Answer)
		},
		Decode: func(r *engine.Reader, t int64) *PaymentRefunded {
			return &PaymentRefunded{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), ID: r.Str(), Amount: r.Int(),
				AmountRefundedAfter: r.Int(), Notice: r.Notice(), Answer: r.Answer()}
		},
		Validate: validRefunded,
		Apply:    applyRefunded,
		Entity:   func(ev *PaymentRefunded) (engine.Entity, bool) { return payment(ev.ID) },
		Idem: func(ev *PaymentRefunded) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
	engine.Register(engine.EventDef[*Refused]{Type: EvRefused, Name: "checkout.refused", Fields: 2,
		Encode: func(w *engine.Writer, ev *Refused) { writeOwner(w, ev.Owner); w.Answer(&ev.Answer) },
		Decode: func(r *engine.Reader, t int64) *Refused {
			return &Refused{Stamp: engine.Stamp{TimeMs: t}, Owner: readOwner(r), Answer: r.Answer()}
		},
		Validate: func(ev *Refused) error {
			err := first(validOwner(ev.Owner), validAnswer(&ev.Answer))
			if err == nil && ev.Answer.Key == "" {
				err = errorf("%w: a refusal without an Idempotency-Key", ErrInvalid)
			}
			return err
		},
		Apply: func(*engine.State, *Refused) {}, // only its idempotency record
		Idem: func(ev *Refused) (engine.IdemKey, engine.IdemRecord, bool) {
			return idem(ev.Owner, &ev.Answer, ev.TimeMs)
		},
	})
}
