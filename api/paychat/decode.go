package paychat

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"ledgerd/api/httpx"
	pc "ledgerd/engine/paychat"
)

// Decoders of the request bodies. Each reads one JSON object strictly
// (httpx.ReadObject: duplicate keys, unknown fields and invalid UTF-8 are
// refused) and copies every string it keeps out of the request.

// Decode errors: each is answered with its own code (envelope.go).
var (
	ErrValidation = errors.New("paychat: invalid request")
	ErrWebhookURL = errors.New("paychat: invalid webhook url")
)

// Limits of the request fields.
const (
	MaxIdempotencyKey = 255
	MaxBodyBytes      = 64 << 10
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrValidation}, args...)...)
}

// text reads a string of at most maxChars characters (any Unicode; JSON
// escapes of control characters allowed), copied.
func text(v httpx.Value, field string, maxChars int) (string, error) {
	if v.Kind != httpx.KindString {
		return "", invalid("%s must be a string", field)
	}
	if !utf8.Valid(v.Str) || utf8.RuneCount(v.Str) > maxChars {
		return "", invalid("%s must be at most %d characters", field, maxChars)
	}
	return string(v.Str), nil
}

// optionalText is text, with null as "".
func optionalText(v httpx.Value, field string, maxChars int) (string, error) {
	if v.Kind == httpx.KindNull {
		return "", nil
	}
	return text(v, field, maxChars)
}

// telegramID reads a Telegram id: a string of 1–20 digits.
func telegramID(v httpx.Value) (string, error) {
	if v.Kind != httpx.KindString || !pc.ValidTelegramID(string(v.Str)) {
		return "", invalid("telegram_id must be a string of 1 to %d digits", pc.MaxTelegramID)
	}
	return string(v.Str), nil
}

func idempotencyKey(v httpx.Value) (string, error) {
	if v.Kind == httpx.KindNull {
		return "", nil
	}
	if v.Kind != httpx.KindString || len(v.Str) == 0 || len(v.Str) > MaxIdempotencyKey || !httpx.Printable(v.Str, MaxIdempotencyKey) {
		return "", invalid("idempotency_key must be 1 to %d printable characters", MaxIdempotencyKey)
	}
	return string(v.Str), nil
}

func body(data []byte) error {
	if len(data) == 0 {
		return invalid("a JSON object body is required")
	}
	if len(data) > MaxBodyBytes {
		return invalid("the body is larger than %d bytes", MaxBodyBytes)
	}
	return nil
}

// parseErr wraps what ReadObject refused (syntax, duplicates, unknown
// fields) as a validation error, keeping a field's own error.
func parseErr(err error) error {
	if err == nil || errors.Is(err, ErrValidation) || errors.Is(err, ErrAmount) || errors.Is(err, ErrWebhookURL) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrValidation, err)
}

// PaymentRequest is POST /payments.
type PaymentRequest struct {
	Amount         int64
	Description    string
	Metadata       []byte // normalized (NormalizeMetadata); nil: none
	IdempotencyKey string
}

// DecodePayment reads POST /payments: amount (required), description,
// metadata (an object), idempotency_key.
func DecodePayment(data []byte) (PaymentRequest, error) {
	var r PaymentRequest
	if err := body(data); err != nil {
		return r, err
	}
	seen := false
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "amount":
			seen = true
			r.Amount, err = ParseAmount(v)
		case "description":
			r.Description, err = optionalText(v, "description", pc.MaxDescription)
		case "metadata":
			r.Metadata, err = NormalizeMetadata(v, pc.MaxMetadata)
			if err != nil {
				err = invalid("%v", err)
			}
		case "idempotency_key":
			r.IdempotencyKey, err = idempotencyKey(v)
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	if err == nil && !seen {
		err = ErrAmount
	}
	return r, parseErr(err)
}

// WithdrawalRequest is POST /withdrawals.
type WithdrawalRequest struct {
	TelegramID     string
	Amount         int64
	Memo           string
	IdempotencyKey string
}

// DecodeWithdrawal reads POST /withdrawals: telegram_id and amount
// (required), memo (at most 255 characters), idempotency_key.
func DecodeWithdrawal(data []byte) (WithdrawalRequest, error) {
	var r WithdrawalRequest
	if err := body(data); err != nil {
		return r, err
	}
	amount := false
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "telegram_id":
			r.TelegramID, err = telegramID(v)
		case "amount":
			amount = true
			r.Amount, err = ParseAmount(v)
		case "memo":
			r.Memo, err = optionalText(v, "memo", pc.MaxMemo)
		case "idempotency_key":
			r.IdempotencyKey, err = idempotencyKey(v)
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	switch {
	case err != nil:
	case r.TelegramID == "":
		err = invalid("telegram_id is required")
	case !amount:
		err = ErrAmount
	}
	return r, parseErr(err)
}

// DecodeWebhook reads PUT /webhook: webhook_url (checked by the caller's
// URL policy).
func DecodeWebhook(data []byte) (string, error) {
	var url string
	if err := body(data); err != nil {
		return "", err
	}
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		if string(key) != "webhook_url" {
			return httpx.UnknownField(key)
		}
		if v.Kind != httpx.KindString || len(v.Str) == 0 || len(v.Str) > pc.MaxURL || !utf8.Valid(v.Str) {
			return ErrWebhookURL
		}
		url = string(v.Str)
		return nil
	})
	if err == nil && url == "" {
		err = ErrWebhookURL
	}
	return url, parseErr(err)
}

// RegisterRequest is POST /register.
type RegisterRequest struct {
	TelegramID string
	Name       string
}

// DecodeRegister reads POST /register: telegram_id (required), name.
func DecodeRegister(data []byte) (RegisterRequest, error) {
	var r RegisterRequest
	if err := body(data); err != nil {
		return r, err
	}
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "telegram_id":
			r.TelegramID, err = telegramID(v)
		case "name":
			r.Name, err = optionalText(v, "name", pc.MaxName)
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	if err == nil && r.TelegramID == "" {
		err = invalid("telegram_id is required")
	}
	return r, parseErr(err)
}

// DepositRequest is POST /admin/paychat/deposits.
type DepositRequest struct {
	Memo   string
	Amount int64
	TxHash string
}

// DecodeDeposit reads a sandbox deposit: memo, amount, tx_hash (all
// required).
func DecodeDeposit(data []byte) (DepositRequest, error) {
	var r DepositRequest
	if err := body(data); err != nil {
		return r, err
	}
	amount := false
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "memo":
			if r.Memo, err = text(v, "memo", pc.MaxDepositMemo); err == nil && r.Memo == "" {
				err = invalid("memo must not be empty")
			}
		case "amount":
			amount = true
			r.Amount, err = ParseAmount(v)
		case "tx_hash":
			if v.Kind != httpx.KindString || !pc.ValidTxHash(string(v.Str)) {
				err = invalid("tx_hash must be 1 to %d characters of [A-Za-z0-9_-]", pc.MaxTxHash)
			} else {
				r.TxHash = string(v.Str)
			}
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	switch {
	case err != nil:
	case r.Memo == "" || r.TxHash == "":
		err = invalid("memo, amount and tx_hash are required")
	case !amount:
		err = ErrAmount
	}
	return r, parseErr(err)
}

// DecodeAssign reads POST /admin/paychat/deposits/{tx_hash}/assign:
// partner_id.
func DecodeAssign(data []byte) (string, error) {
	var id string
	if err := body(data); err != nil {
		return "", err
	}
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		if string(key) != "partner_id" {
			return httpx.UnknownField(key)
		}
		if v.Kind != httpx.KindString || len(v.Str) == 0 || len(v.Str) > 64 {
			return invalid("partner_id must be a partner id")
		}
		id = string(v.Str)
		return nil
	})
	if err == nil && id == "" {
		err = invalid("partner_id is required")
	}
	return id, parseErr(err)
}

// PayRequest is POST /admin/paychat/payments/{link_id}/pay.
type PayRequest struct {
	TelegramID string
	Fund       bool
}

// DecodePay reads a sandbox payment: telegram_id (required), fund.
func DecodePay(data []byte) (PayRequest, error) {
	var r PayRequest
	if err := body(data); err != nil {
		return r, err
	}
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "telegram_id":
			r.TelegramID, err = telegramID(v)
		case "fund":
			if r.Fund, err = httpx.Bool(v); err != nil {
				err = invalid("fund must be true or false")
			}
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	if err == nil && r.TelegramID == "" {
		err = invalid("telegram_id is required")
	}
	return r, parseErr(err)
}

// DecodeFees reads PUT /admin/paychat/fees: withdrawal and payment rules
// ({fixed: amount ≥ 0, bps: 0..10000}) and tiers ([{min_holdings, discount_bps}]
// ascending), every member required.
func DecodeFees(data []byte) (pc.FeeSchedule, error) {
	var s pc.FeeSchedule
	if err := body(data); err != nil {
		return s, err
	}
	var got [3]bool
	err := httpx.ReadObject(data, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "withdrawal":
			got[0] = true
			s.Withdrawal, err = feeRule(v)
		case "payment":
			got[1] = true
			s.Payment, err = feeRule(v)
		case "tiers":
			got[2] = true
			s.Tiers, err = feeTiers(v)
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	if err == nil && got != [3]bool{true, true, true} {
		err = invalid("withdrawal, payment and tiers are required")
	}
	if err == nil {
		if verr := pc.ValidSchedule(&s); verr != nil {
			err = invalid("tiers must ascend by min_holdings, at most %d, discounts 0 to 10000", pc.MaxFeeTiers)
		}
	}
	return s, parseErr(err)
}

// amountOrZero reads a non-negative amount (0 allowed).
func amountOrZero(v httpx.Value) (int64, error) {
	if v.Kind == httpx.KindNumber && string(v.Raw) == "0" {
		return 0, nil
	}
	n, err := ParseAmount(v)
	if err != nil {
		return 0, invalid("amounts must be 0 or from 0.000001 to 999999999.999999")
	}
	return n, nil
}

func feeRule(v httpx.Value) (pc.FeeRule, error) {
	var r pc.FeeRule
	if v.Kind != httpx.KindObject {
		return r, invalid("a fee rule is an object {fixed, bps}")
	}
	var got [2]bool
	err := v.Object(func(key []byte, m httpx.Value) error {
		var err error
		switch string(key) {
		case "fixed":
			got[0] = true
			r.Fixed, err = amountOrZero(m)
		case "bps":
			got[1] = true
			if r.Bps, err = httpx.Integer(m, 0, pc.BasisPoints); err != nil {
				err = invalid("bps must be an integer from 0 to 10000")
			}
		default:
			return httpx.UnknownField(key)
		}
		return err
	})
	if err == nil && got != [2]bool{true, true} {
		err = invalid("a fee rule needs fixed and bps")
	}
	return r, err
}

func feeTiers(v httpx.Value) ([]pc.FeeTier, error) {
	if v.Kind != httpx.KindArray {
		return nil, invalid("tiers is an array")
	}
	var out []pc.FeeTier
	err := v.Array(func(_ int, e httpx.Value) error {
		if e.Kind != httpx.KindObject {
			return invalid("a tier is an object {min_holdings, discount_bps}")
		}
		var t pc.FeeTier
		var got [2]bool
		err := e.Object(func(key []byte, m httpx.Value) error {
			var err error
			switch string(key) {
			case "min_holdings":
				got[0] = true
				t.MinHoldings, err = amountOrZero(m)
			case "discount_bps":
				got[1] = true
				if t.DiscountBps, err = httpx.Integer(m, 0, pc.BasisPoints); err != nil {
					err = invalid("discount_bps must be an integer from 0 to 10000")
				}
			default:
				return httpx.UnknownField(key)
			}
			return err
		})
		if err == nil && got != [2]bool{true, true} {
			err = invalid("a tier needs min_holdings and discount_bps")
		}
		out = append(out, t)
		return err
	})
	if len(out) > pc.MaxFeeTiers {
		return nil, invalid("at most %d tiers", pc.MaxFeeTiers)
	}
	return out, err
}
