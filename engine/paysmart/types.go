// Package paysmart is the PaySmart module of the engine: card payments,
// payment methods, customers, refunds, webhook endpoints and the events
// (evt_) a partner reconciles with, per account (a partner of API
// "paysmart") and mode (test or live, never visible to each other).
//
// There is no card network: the API layer (api/cards) decides a card's
// outcome before the command reaches an actor, so every event here is a
// fact with its result already in it. The full card number and CVC never
// reach this package: a card is its brand, last4, expiry and a keyed
// fingerprint.
package paysmart

import "ledgerd/engine"

// API is the partner API name accounts are created under.
const API = "paysmart"

// Payment statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Webhook event types (Event.Type, Endpoint.Events).
const (
	EventPaymentSucceeded = "payment.succeeded"
	EventPaymentFailed    = "payment.failed"
	EventRefundCreated    = "refund.created"
	EventCustomerCreated  = "customer.created"
	AllEvents             = "*"
)

// Limits the events' validation enforces (the API layer refuses larger
// input first, with Stripe's messages).
const (
	MinAmount        = 50
	MaxAmount        = 99_999_999
	MaxMetadataKeys  = 50
	MaxMetadataKey   = 40
	MaxMetadataValue = 500
	MaxText          = 500 // description, name, email, phone, address lines
	MaxURL           = 2048
	MaxBody          = 64 << 10 // a stored response or event body
)

// Currencies accepted, lower-case ISO 4217.
var Currencies = []string{"eur", "gbp", "usd"}

// KV is one metadata entry; metadata is kept sorted by key.
type KV struct{ Key, Value string }

// Card is what is kept of a card.
type Card struct {
	Brand       string
	Last4       string
	ExpMonth    int64
	ExpYear     int64
	Fingerprint string // keyed HMAC of the number (api/cards.Fingerprint)
}

// Owner places every object: the account (partner id) and the mode.
type Owner struct {
	Account string
	Live    bool
}

// PaymentMethod is a tokenized card (pm_...). Immutable once created.
type PaymentMethod struct {
	Owner
	ID        string
	Card      Card
	CreatedMs int64
}

// Address is a customer's postal address; all fields optional.
type Address struct {
	Line1, Line2, City, State, PostalCode, Country string
}

// Customer (cus_...). A deleted customer keeps its id and Deleted; its
// other fields are cleared.
type Customer struct {
	Owner
	ID          string
	Email       string
	Name        string
	Phone       string
	Description string
	Address     *Address // nil = null
	Metadata    []KV
	CreatedMs   int64
	Deleted     bool
}

// Payment (pay_...). Status is decided at creation; refunds raise
// AmountRefunded up to Amount.
type Payment struct {
	Owner
	ID             string
	Amount         int64
	Currency       string
	Status         string // StatusSucceeded or StatusFailed
	PaymentMethod  string // pm_ id
	Customer       string // cus_ id or ""
	Description    string
	Metadata       []KV
	FailureCode    string // code of a failed payment (card_declined, ...)
	DeclineCode    string // decline_code, "" when none
	FailureMessage string
	AmountRefunded int64
	ReceiptToken   string // the unguessable part of receipt_url
	CreatedMs      int64
}

// Refund (re_...).
type Refund struct {
	Owner
	ID        string
	Payment   string
	Amount    int64
	Currency  string
	Reason    string // "", duplicate, fraudulent, requested_by_customer
	CreatedMs int64
}

// Endpoint is a webhook endpoint (we_...). Its signing secret is never
// stored: it is derived from the data dir's master key, the endpoint id and
// Rotation (DESIGN "Effects outside the ledger").
type Endpoint struct {
	Owner
	ID          string
	URL         string
	Events      []string // sorted; ["*"] = all
	Description string
	Disabled    bool
	Rotation    int64
	CreatedMs   int64
	Deleted     bool
}

// Event is an evt_ object as partners read it from GET /events and receive
// it by webhook: Body is its whole JSON, fixed when it happened.
type Event struct {
	Owner
	ID        string
	Type      string
	Object    string // the id of the object it is about
	CreatedMs int64
	Body      []byte
}

// Notice is what an event of this module carries to create an Event (and
// its deliveries): the id, type and the JSON body rendered by the API layer.
type Notice = engine.Notice

// Answer is the idempotency half of an event: the Idempotency-Key it
// answered (empty = none), what a retry must repeat, and the first answer a
// replay returns byte for byte.
type Answer = engine.Answer
