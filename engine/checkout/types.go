// Package checkout is the hosted-checkout module of the engine: shops
// (a partner of API "checkout" with its branding and webhook URL), their
// payments in test and live mode, the customer's declined attempts, the
// expiry of pending payments, refunds, and the webhook deliveries each
// change enqueues in the shared outbox.
//
// There is no card network: the API layer (api/cards) decides a card's
// outcome before the command reaches a payment's actor, so every event
// here is a fact with its result in it. No card number or CVC reaches this
// package: a completed payment keeps the card's brand and last four digits.
package checkout

import "ledgerd/engine"

// API is the partner API name shops are created under.
const API = "checkout"

// Payment statuses: pending -> completed | failed; completed -> refunded.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusRefunded  = "refunded"
)

// Failure reasons of a failed payment.
const (
	ReasonTooManyAttempts = "too_many_attempts"
	ReasonExpired         = "expired"
)

// Webhook event types.
const (
	EventPaymentCompleted = "payment.completed"
	EventPaymentFailed    = "payment.failed"
	EventPaymentRefunded  = "payment.refunded"
)

// Limits the events' validation enforces (the API layer refuses larger
// input first, with its own messages).
const (
	MinAmount        = 50
	MaxAmount        = 99_999_999
	MaxAttempts      = 5         // declined attempts before a payment fails
	MaxLogo          = 100 << 10 // bytes of a shop's logo
	MaxName          = 200       // characters of a shop's or customer's name (bytes: 4 per character)
	MaxText          = 800       // bytes of a customer name or e-mail
	MaxURL           = 2048
	MaxID            = 255
	MaxMetadataBytes = 5 << 10 // UTF-8 bytes of the compact JSON of a payment's metadata
	MaxMetadataKeys  = 50
	MaxBody          = 64 << 10 // a stored answer or webhook body
	TokenMinLen      = 32       // characters of a checkout token
)

// Currency is the only one accepted, as answered.
const Currency = "usd"

// Logo media types.
const (
	LogoPNG  = "image/png"
	LogoJPEG = "image/jpeg"
)

// Id prefixes.
const (
	PrefixShop    = "shop_"
	PrefixPayment = "pay_"
	PrefixEvent   = "evt_"
)

// Owner places a payment: the shop (its partner id) and the mode.
type Owner struct {
	Shop string
	Live bool
}

// Shop is a shop's branding and webhook settings. Its status (active or
// inactive) and its keys are the engine's partner of the same id. The
// webhook signing secret is never stored: it is derived from the master
// key, the shop id and WebhookRotation.
type Shop struct {
	ID              string
	Name            string
	AccentColor     string // "#rrggbb"
	Logo            []byte // PNG or JPEG, at most MaxLogo bytes; nil: none
	LogoType        string // LogoPNG, LogoJPEG or "" (no logo)
	WebhookURL      string // "" = no webhooks
	WebhookRotation int64
	CreatedMs       int64
}

// Payment is a checkout payment. Optional request fields are "" (or
// Metadata "") when not sent.
type Payment struct {
	Owner
	ID             string
	Amount         int64
	Currency       string
	ReturnURL      string
	CustomerEmail  string
	CustomerName   string
	Metadata       string // the compact JSON object as sent (numbers exact), "" = none
	Token          string // the unguessable part of checkout_url and receipt_url
	Status         string
	FailureReason  string // of a failed payment
	Attempts       int64  // declined attempts
	LastDecline    string // decline code of the last declined attempt
	AmountRefunded int64
	CardBrand      string // of the card that completed it
	CardLast4      string
	CreatedMs      int64
	ExpiresMs      int64
	CompletedMs    int64 // 0 until completed
	FailedMs       int64 // 0 unless failed
}

// Open reports whether the payment still takes a card.
func (p *Payment) Open() bool { return p.Status == StatusPending }

// Notice is a webhook event a change carries: its id, type and the whole
// JSON body, rendered by the API layer when it decided the change.
type Notice = engine.Notice

// Answer is the idempotency half of an event: the Idempotency-Key it
// answered ("" = none), what a retry must repeat, and the first answer a
// replay gets byte for byte.
type Answer = engine.Answer
