package paysmart

import (
	"ledgerd/actors"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// Auth is who asks: the account (partner id), the mode, and the key's hash
// and rate limit for the limiter (RateLimit 0: no limiter hop).
type Auth struct {
	Account   string
	Live      bool
	KeyHash   [engine.KeyHashLen]byte
	RateLimit int64
}

// Owner is the account and mode objects of this request belong to.
func (a Auth) Owner() ps.Owner { return ps.Owner{Account: a.Account, Live: a.Live} }

// Result is a command's answer. Status StatusOK means HTTP and Body hold
// the answer to send (a success or a refusal the Render function made;
// on a replay, the first answer). Any other Status carries no body: the
// API renders it (StatusConflict: the Idempotency-Key was used with other
// parameters; StatusRateLimited: RetryAfterSec and Rate are set;
// StatusOverloaded: too much queued, or an answer past paysmart.MaxBody).
type Result struct {
	Status        actors.Status
	Replayed      bool // the answer is an Idempotency-Key replay
	HTTP          int
	Body          []byte
	RetryAfterSec int64
	Rate          actors.Decision
}

// Render makes an answer from state the actor decided on. v is one of
// *paysmart.PaymentView, *paysmart.Customer (Deleted: the stub),
// *paysmart.Refund, *paysmart.Endpoint, or a Refusal.
type Render func(v any) (status int64, body []byte)

// Refusal is an answer decided against state: Code says why, Param names
// the request field it is about, ID the object that is missing or at
// fault.
type Refusal struct {
	Code  string
	Param string
	ID    string
}

// Refusal codes (Stripe's where it has one).
const (
	CodeResourceMissing  = "resource_missing"        // no such object of this account and mode (ID names it)
	CodeAlreadyRefunded  = "charge_already_refunded" // nothing is left to refund
	CodeRefundTooLarge   = "amount_too_large"        // the amount is more than is left to refund
	CodePaymentFailed    = "charge_not_refundable"   // a failed payment has nothing to refund
	CodeParameterInvalid = "parameter_invalid"       // the update would pass a limit (metadata keys)
)

// Patch semantics of updates: a nil pointer leaves a field as it is; a
// pointer to "" clears it. Metadata merges (a Value "" deletes its key),
// after ClearMetadata empties it (Stripe's metadata: "").

// PaymentPatch is an update of a payment.
type PaymentPatch struct {
	Description   *string
	Customer      *string
	Metadata      []ps.KV
	ClearMetadata bool
}

// CustomerPatch is an update of a customer; Address, when set, replaces
// the whole address (ClearAddress: null).
type CustomerPatch struct {
	Email, Name, Phone, Description *string
	Address                         *ps.Address
	ClearAddress                    bool
	Metadata                        []ps.KV
	ClearMetadata                   bool
}

// EndpointPatch is an update of a webhook endpoint; Events, when non-nil,
// replaces the enabled events (sorted, as the event keeps them).
type EndpointPatch struct {
	URL         *string
	Description *string
	Events      []string
	Disabled    *bool
}
