package paychat

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is an event field out of its range (the encoder refuses to
// write such an event; the decoder refuses to read one).
var ErrInvalid = errors.New("paychat: invalid event")

// Id prefixes.
const (
	PrefixPartner    = "pcp_"
	PrefixPayment    = "pay_"
	PrefixWithdrawal = "wd_"
	PrefixEvent      = "evt_"
	PrefixMemo       = "partner_"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func fieldErr(name string, v any) error { return fmt.Errorf("%w: %s %v", ErrInvalid, name, v) }

// first is the first non-nil error.
func first(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

const maxIDLen = 64

// validID: prefix, then 1..64 bytes of [A-Za-z0-9_].
func validID(id, prefix string) error {
	rest, ok := strings.CutPrefix(id, prefix)
	if !ok || rest == "" || len(id) > maxIDLen || !alnum(rest) {
		return fieldErr("id", fmt.Sprintf("%q (want %s...)", id, prefix))
	}
	return nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidTelegramID reports whether s is 1..20 ASCII digits.
func ValidTelegramID(s string) bool {
	if s == "" || len(s) > MaxTelegramID {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func validTelegram(s string) error {
	if !ValidTelegramID(s) {
		return fieldErr("telegram id", fmt.Sprintf("%q", s))
	}
	return nil
}

// ValidLinkID reports whether s is LinkIDLen characters of [a-z0-9].
func ValidLinkID(s string) bool {
	if len(s) != LinkIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validAmount(name string, v int64) error {
	if v < MinAmount || v > MaxAmount {
		return fieldErr(name, v)
	}
	return nil
}

func validFee(v int64) error {
	if v < 0 || v > MaxAmount {
		return fieldErr("fee", v)
	}
	return nil
}

// validText: valid UTF-8 of at most maxChars characters.
func validText(name, s string, maxChars int) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxChars || len(s) > 4*maxChars {
		return fieldErr(name, fmt.Sprintf("of %d bytes", len(s)))
	}
	return nil
}

func validTime(name string, ms int64) error {
	if ms < 0 {
		return fieldErr(name, ms)
	}
	return nil
}

func validPartner(p *Partner) error {
	err := first(validID(p.ID, PrefixPartner), validTelegram(p.TelegramID), validText("name", p.Name, MaxName),
		validTime("created", p.CreatedMs))
	switch {
	case err != nil:
		return err
	case p.Plan != Plan:
		return fieldErr("plan", p.Plan)
	case !strings.HasPrefix(p.Memo, PrefixMemo) || len(p.Memo) > MaxDepositMemo || !alnum(p.Memo):
		return fieldErr("memo", p.Memo)
	case len(p.SecretHash) != 32:
		return fieldErr("secret hash length", len(p.SecretHash))
	case p.SecretRotation < 0:
		return fieldErr("secret rotation", p.SecretRotation)
	}
	return validURL(p.WebhookURL, true)
}

func validURL(u string, optional bool) error {
	if u == "" && optional {
		return nil
	}
	if len(u) > MaxURL || !utf8.ValidString(u) || !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) {
		return fieldErr("webhook url", fmt.Sprintf("%q", u))
	}
	return nil
}

func validPayment(p *Payment, stored bool) error {
	err := first(validID(p.ID, PrefixPayment), validID(p.Partner, PrefixPartner), validAmount("amount", p.Amount),
		validText("description", p.Description, MaxDescription), validTime("created", p.CreatedMs))
	switch {
	case err != nil:
		return err
	case !ValidLinkID(p.LinkID):
		return fieldErr("link id", p.LinkID)
	case len(p.Metadata) > MaxMetadata || (len(p.Metadata) > 0 && (p.Metadata[0] != '{' || !utf8.Valid(p.Metadata))):
		return fieldErr("metadata", fmt.Sprintf("of %d bytes", len(p.Metadata)))
	case p.ExpiresMs != p.CreatedMs+PaymentLifetime:
		return fieldErr("expires", p.ExpiresMs)
	}
	if !stored {
		if p.Status != StatusPending || p.Payer != "" || p.PaidMs != 0 || p.Fee != 0 {
			return fieldErr("new payment status", p.Status)
		}
		return nil
	}
	switch p.Status {
	case StatusPending:
		if p.Payer != "" || p.PaidMs != 0 || p.Fee != 0 {
			return fieldErr("pending payment payer", p.Payer)
		}
	case StatusCompleted:
		if err := first(validTelegram(p.Payer), validFee(p.Fee)); err != nil {
			return err
		}
		if p.Fee > p.Amount || p.PaidMs < p.CreatedMs || p.PaidMs >= p.ExpiresMs {
			return fieldErr("completed payment", fmt.Sprintf("fee %d paid %d", p.Fee, p.PaidMs))
		}
	default:
		return fieldErr("status", p.Status)
	}
	return nil
}

func validWithdrawal(w *Withdrawal) error {
	return first(validID(w.ID, PrefixWithdrawal), validID(w.Partner, PrefixPartner), validTelegram(w.User),
		validAmount("amount", w.Amount), validFee(w.Fee), validText("memo", w.Memo, MaxMemo), validTime("created", w.CreatedMs))
}

// ValidTxHash reports whether s is 1..MaxTxHash bytes of [A-Za-z0-9_-].
func ValidTxHash(s string) bool {
	if s == "" || len(s) > MaxTxHash {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func validDeposit(d *Deposit, stored bool) error {
	err := first(validAmount("amount", d.Amount), validText("memo", d.Memo, MaxDepositMemo), validTime("created", d.CreatedMs))
	switch {
	case err != nil:
		return err
	case !ValidTxHash(d.TxHash):
		return fieldErr("tx hash", d.TxHash)
	case d.Status == DepositHeld:
		if d.Partner != "" || d.User != "" || (!stored && d.AssignedMs != 0) {
			return fieldErr("held deposit", d.Partner)
		}
		return nil
	case d.Status != DepositCredited:
		return fieldErr("deposit status", d.Status)
	case (d.Partner == "") == (d.User == ""):
		return fieldErr("deposit credited to", d.Partner+"/"+d.User)
	case d.Partner != "":
		if err := validID(d.Partner, PrefixPartner); err != nil {
			return err
		}
	default:
		if err := validTelegram(d.User); err != nil {
			return err
		}
	}
	if !stored && d.AssignedMs != 0 {
		return fieldErr("new deposit assigned", d.AssignedMs)
	}
	return validTime("assigned", d.AssignedMs)
}

func validRule(r FeeRule) error {
	if r.Fixed < 0 || r.Fixed > MaxFixedFee || r.Bps < 0 || r.Bps > BasisPoints {
		return fieldErr("fee rule", fmt.Sprintf("%+v", r))
	}
	return nil
}

// ValidSchedule checks a fee schedule: rules in range, at most MaxFeeTiers
// tiers with strictly ascending MinHoldings and discounts in 0..10,000.
func ValidSchedule(s *FeeSchedule) error {
	if err := first(validRule(s.Withdrawal), validRule(s.Payment)); err != nil {
		return err
	}
	if len(s.Tiers) > MaxFeeTiers {
		return fieldErr("fee tiers", len(s.Tiers))
	}
	prev := int64(-1)
	for _, t := range s.Tiers {
		if t.MinHoldings <= prev || t.MinHoldings > MaxAmount || t.DiscountBps < 0 || t.DiscountBps > BasisPoints {
			return fieldErr("fee tier", fmt.Sprintf("%+v", t))
		}
		prev = t.MinHoldings
	}
	return nil
}

func validNotice(n *Notice, typ string) error {
	if n.ID == "" && n.Type == "" && len(n.Body) == 0 {
		return nil
	}
	if err := validID(n.ID, PrefixEvent); err != nil {
		return err
	}
	if n.Type != typ || len(n.Body) == 0 || len(n.Body) > MaxBody || !utf8.Valid(n.Body) {
		return fieldErr("notice", fmt.Sprintf("%s of %d bytes", n.Type, len(n.Body)))
	}
	return nil
}

func validAnswer(a *Answer) error {
	if a.Key == "" {
		if a.Fingerprint != "" || a.Status != 0 || len(a.Response) != 0 {
			return fieldErr("answer without a key", a.Status)
		}
		return nil
	}
	if len(a.Key) > 255 || len(a.Fingerprint) > 4096 || a.Status < 100 || a.Status > 599 || len(a.Response) > MaxBody {
		return fieldErr("answer", fmt.Sprintf("key of %d bytes, status %d", len(a.Key), a.Status))
	}
	return nil
}
