package engine

import "crypto/sha256"

// Core event types: partners and keys, and idempotency expiry. Wire
// format: never renumber. Modules own the other numbers (doc.go lists them).
const (
	EvPartnerCreated   EventType = 1  // a partner account and its first API key
	EvPartnerStatus    EventType = 2  // a partner became active or inactive
	EvIdemExpired      EventType = 8  // records of the "references" retention class older than a cutoff are forgotten
	EvKeyAdded         EventType = 9  // a partner got another API key
	EvKeyRevoked       EventType = 10 // an API key stopped working
	EvPartnerRateLimit EventType = 11 // a partner's requests-per-minute changed
	EvKeysExpired      EventType = 15 // records of the "keys" retention class older than a cutoff are forgotten
)

// Code is the outcome of a command as its module numbers it: a business
// result, not an error. 0 is success in every module; each module defines
// its own values (wire format, stored in events and records).
type Code uint8

// CodeOK is every module's success.
const CodeOK Code = 0

// Partner status values, as the admin API spells them.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// MaxBalance caps a wallet so that no sum of int64 amounts can overflow.
const MaxBalance = 1 << 62

// Limits on every input that reaches the state.
const (
	MaxAmount       = 9007199254740991 // 2^53-1: exact in every JSON client
	MaxUserIDLen    = 128
	MaxReferenceLen = 255
	MaxNameLen      = 200
	KeyHashLen      = sha256.Size
	MaxCodesIssued  = 10_000 // codes in one EvCodesIssued
)

// Scope is the operation an idempotency record belongs to (a module's
// deduct references, its Idempotency-Keys, ...). Wire format: modules
// register their numbers with RegisterScope; never renumber.
type Scope uint8

// IdemKey scopes a reference: one partner, one operation.
type IdemKey struct {
	Partner   string
	Scope     Scope
	Reference string
}

// IdemRecord is the first outcome for an IdemKey, one shape for every
// API: a retry that repeats the fingerprint gets the outcome again; one
// that does not is a conflict. Records expire by their scope's retention
// class (RegisterScope).
//
//   - Fingerprint and Amount are what a retry must repeat, as the scope's
//     module defines it: PayShards the user id and the amount, PayPay.cards
//     the redeem code (Amount 0).
//   - Code and Value are the typed outcome: the module's result code and
//     the number its answer shows (PayShards: the balance or refundable).
//   - Detail is the rest of a PayPay.cards redeem answer.
//   - Status and Response are the whole first answer, for APIs whose
//     retries get it again byte for byte (an HTTP status and body of at
//     most MaxResponseLen bytes); 0 and "" for typed outcomes.
type IdemRecord struct {
	Fingerprint string
	Amount      int64
	Code        Code
	Value       int64
	TimeMs      int64
	Detail      *RedeemDetail `msgpack:",omitempty"`
	Status      uint16
	Response    string
}

// MaxResponseLen bounds a stored response (a created object, not a list).
const MaxResponseLen = 64 << 10

// RedeemDetail is what a redeem response showed, kept so a retry with the
// same Idempotency-Key gets the same answer.
type RedeemDetail struct {
	_msgpack     struct{} `msgpack:",as_array"`
	RequestID    string
	RedemptionID string
	Tier         string
	Label        string
	ExpiresMs    int64
	RedeemedMs   int64
}

// Matches reports whether a retried command carries the original parameters.
func (r IdemRecord) Matches(fingerprint string, amount int64) bool {
	return r.Fingerprint == fingerprint && r.Amount == amount
}

// Partner is a partner account of one API.
type Partner struct {
	ID        string
	API       string
	Name      string
	Status    string
	RateLimit int64
	Keys      []APIKey // in creation order
	CreatedMs int64
}

// APIKey is a partner key as stored: its SHA-256, never the key itself.
type APIKey struct {
	_msgpack  struct{} `msgpack:",as_array"`
	ID        string
	Hash      []byte
	Hint      string // last 4 characters, or first 8 + "…" + last 4 (NewKeyRecord.Hint)
	CreatedMs int64
	RevokedMs int64 // 0 while the key works
}

// Key returns the partner's key with id, or nil.
func (p *Partner) Key(id string) *APIKey {
	for i := range p.Keys {
		if p.Keys[i].ID == id {
			return &p.Keys[i]
		}
	}
	return nil
}

// Active reports whether the partner may call its API.
func (p *Partner) Active() bool { return p.Status == StatusActive }

// HashKey is how API keys are stored and looked up: never in plain text.
func HashKey(key []byte) [KeyHashLen]byte { return sha256.Sum256(key) }
