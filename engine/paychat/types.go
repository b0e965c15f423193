// Package paychat is the PAYchat module of the engine: partners that hold
// USDT, Telegram users' balances, payment links, withdrawals from a
// partner to a user, deposits (the only way money enters), fees and each
// partner's transaction list.
//
// Money is micro-USDT (10^-6) in int64. The ledger is closed: every
// partner's and user's balance, the fee account and the deposits held for
// an unknown memo add up to the deposits received (Deposited), and no
// balance is ever negative. Deposited is capped at MaxAmount, so no balance
// can pass it and every amount prints exactly in JavaScript.
//
// Cross-entity moves are single events: a withdrawal (decided on the
// partner's actor, the only one that debits a partner) debits the partner
// and credits the user in one Apply; a payment (decided on the payer's
// actor, the only one that debits a user) debits the payer and credits the
// partner in one Apply. The credited side is never decided: credits only
// raise a balance, so another actor's working state stays a lower bound of
// the durable one. A payment link is paid at most once: the first
// PaymentPaid in log order that finds it pending and unexpired completes
// it; a later one (two payers racing) is void and moves nothing
// (PaymentPaid's doc).
package paychat

import "ledgerd/engine"

// API is the partner API name partners are created under.
const API = "paychat"

// Currency is the one currency.
const Currency = "USDT"

// Plan is the one plan (the spec's Founding Member: 500/min, one-time
// payment, lifetime access), taken as paid in the sandbox.
const Plan = "founding_member"

// Payment statuses as stored; "expired" is a pending payment read at or
// after ExpiresMs (Payment.StatusAt).
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
	StatusExpired   = "expired"
)

// Transaction types (GET /transactions type).
const (
	TxPayment  = "payment"
	TxWithdraw = "withdraw"
	TxFee      = "fee"
)

// Deposit statuses.
const (
	DepositCredited = "credited"
	DepositHeld     = "held" // its memo names no partner: kept until an operator assigns it
)

// Webhook event types.
const (
	EventPaymentCompleted  = "payment.completed"
	EventWithdrawCompleted = "withdraw.completed"
	EventTest              = "test"
)

// Limits the events' validation enforces (the API layer refuses larger
// input first, with the spec's codes).
const (
	MinAmount       = 1                   // 0.000001 USDT
	MaxAmount       = 999_999_999_999_999 // 999,999,999.999999 USDT: 15 digits, exact in a JavaScript number
	MaxDescription  = 500                 // characters of a payment's description
	MaxMemo         = 255                 // characters of a withdrawal's memo
	MaxMetadata     = 16 << 10            // bytes of a payment's metadata (its JSON object)
	MaxTelegramID   = 20                  // digits
	MaxName         = 200
	MaxURL          = 2048
	MaxTxHash       = 128
	MaxDepositMemo  = 128
	MaxBody         = 64 << 10 // a stored answer or webhook body
	LinkIDLen       = 6
	MaxFeeTiers     = 16
	BasisPoints     = 10_000 // 100 %
	MaxFixedFee     = MaxAmount
	PaymentLifetime = 24 * 60 * 60 * 1000 // ms: a link expires 24 h after it is created
)

// Partner is a PAYchat partner account (its engine.Partner holds its
// status and API keys). The secret key (sk_) is never stored: it is
// derived from the data dir's master key, the partner id and
// SecretRotation; SecretHash is its SHA-256, so a signer can tell a
// changed master key from the right secret.
type Partner struct {
	ID             string
	TelegramID     string
	Name           string
	Plan           string
	Memo           string // deposit memo: "partner_..."
	SecretHash     []byte
	SecretRotation int64
	WebhookURL     string // "" = none
	CreatedMs      int64
}

// User is a Telegram user's account, created by the first credit.
// Referrer is the partner whose withdrawal first reached the user.
type User struct {
	TelegramID string
	Balance    int64
	Referrer   string
	CreatedMs  int64
}

// Payment is a payment link (pay_..., LinkID the short id in its URL).
// Metadata is the partner's JSON object as the API normalized it (nil:
// none). Payer, PaidMs and Fee are set when it completes.
type Payment struct {
	ID          string
	LinkID      string
	Partner     string
	Amount      int64
	Description string
	Metadata    []byte
	Status      string // StatusPending or StatusCompleted
	Payer       string
	PaidMs      int64
	Fee         int64 // taken from Amount at completion: the partner got Amount - Fee
	CreatedMs   int64
	ExpiresMs   int64
}

// StatusAt is the payment's status as read at nowMs: a pending payment at
// or past its expiry is expired.
func (p *Payment) StatusAt(nowMs int64) string {
	if p.Status == StatusPending && nowMs >= p.ExpiresMs {
		return StatusExpired
	}
	return p.Status
}

// Withdrawal moves Amount from a partner to a user; Fee is debited from
// the partner on top of it, to the fee account.
type Withdrawal struct {
	ID        string
	Partner   string
	User      string // Telegram id
	Amount    int64
	Fee       int64
	Memo      string
	CreatedMs int64
}

// Deposit is money received on the deposit address (an operator reports
// it in the sandbox): credited to the partner its memo names, or to a
// user (sandbox funding of a payer), or held when the memo names nobody.
type Deposit struct {
	TxHash     string
	Memo       string
	Amount     int64
	Partner    string // credited partner ("" while held, or for a user)
	User       string // credited user (sandbox funding), ""
	Status     string // DepositCredited or DepositHeld
	CreatedMs  int64
	AssignedMs int64 // when a held deposit was assigned; 0
}

// FeeRule is the fee of one call class: Fixed micro-USDT plus Bps basis
// points of the amount, before the holdings discount.
type FeeRule struct {
	Fixed int64
	Bps   int64
}

// FeeTier is a holdings discount: from MinHoldings (micro-USDT of total
// holdings) the fee is reduced by DiscountBps (10,000 = free).
type FeeTier struct {
	MinHoldings int64
	DiscountBps int64
}

// FeeSchedule is what PAYchat charges: per withdrawal (debited from the
// partner on top of the amount) and per completed payment (taken from the
// amount the partner receives), less the best tier's discount. The zero
// schedule (the default) charges nothing.
type FeeSchedule struct {
	Withdrawal FeeRule
	Payment    FeeRule
	Tiers      []FeeTier // ascending MinHoldings
}

// Notice is a webhook event an event carries: its stable id and the exact
// JSON body every attempt sends (rendered by the API layer, as
// JSON.stringify would print it).
type Notice = engine.Notice

// Answer is the idempotency half of an event: the idempotency_key it
// answered ("" = none), what a retry must repeat, and the first answer a
// replay returns byte for byte.
type Answer = engine.Answer
