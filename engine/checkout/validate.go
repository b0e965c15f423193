package checkout

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is an event or section field out of range: the encoder never
// writes one, the decoder refuses it.
var ErrInvalid = errors.New("checkout: invalid event")

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

func validID(id, prefix string) error {
	if len(id) <= len(prefix) || len(id) > MaxID || !strings.HasPrefix(id, prefix) {
		return fmt.Errorf("%w: id %q (want %s...)", ErrInvalid, id, prefix)
	}
	return nil
}

func validOwner(o Owner) error { return validID(o.Shop, PrefixShop) }

// ValidAccent reports whether c is a colour as "#rrggbb" (lower-case hex).
func ValidAccent(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	return strings.Trim(c[1:], "0123456789abcdef") == ""
}

func validShop(s *Shop) error {
	switch err := validID(s.ID, PrefixShop); {
	case err != nil:
		return err
	case s.Name == "" || utf8.RuneCountInString(s.Name) > MaxName || !utf8.ValidString(s.Name):
		return fieldErr("shop name of bytes", len(s.Name))
	case !ValidAccent(s.AccentColor):
		return fieldErr("accent color", s.AccentColor)
	case len(s.Logo) > MaxLogo:
		return fieldErr("logo of bytes", len(s.Logo))
	case (len(s.Logo) == 0) != (s.LogoType == "") || (s.LogoType != "" && s.LogoType != LogoPNG && s.LogoType != LogoJPEG):
		return fieldErr("logo type", s.LogoType)
	case len(s.WebhookURL) > MaxURL:
		return fieldErr("webhook url of bytes", len(s.WebhookURL))
	case s.WebhookRotation < 0 || s.CreatedMs < 0:
		return fieldErr("rotation or created", s.WebhookRotation)
	}
	return nil
}

func validCard(brand, last4 string) error {
	switch {
	case brand == "" || len(brand) > 32:
		return fieldErr("card brand", brand)
	case len(last4) != 4 || strings.Trim(last4, "0123456789") != "":
		return fieldErr("card last4", last4)
	}
	return nil
}

// validPayment checks a payment's fields, whatever its status: what its
// request gave, and that its status, reason, attempts, refunds and times
// agree.
func validPayment(p *Payment) error {
	err := first(validOwner(p.Owner), validID(p.ID, PrefixPayment))
	switch {
	case err != nil:
		return err
	case p.Amount < MinAmount || p.Amount > MaxAmount:
		return fieldErr("amount", p.Amount)
	case p.Currency != Currency:
		return fieldErr("currency", p.Currency)
	case p.ReturnURL == "" || len(p.ReturnURL) > MaxURL:
		return fieldErr("return url of bytes", len(p.ReturnURL))
	case len(p.CustomerEmail) > MaxText || len(p.CustomerName) > MaxText || len(p.Metadata) > MaxMetadataBytes:
		return fieldErr("customer email, name or metadata of bytes", len(p.CustomerEmail)+len(p.CustomerName)+len(p.Metadata))
	case len(p.Token) < TokenMinLen || len(p.Token) > MaxID:
		return fieldErr("token of bytes", len(p.Token))
	case p.CreatedMs < 0 || p.ExpiresMs <= p.CreatedMs || p.CompletedMs < 0 || p.FailedMs < 0:
		return fieldErr("times", fmt.Sprint(p.CreatedMs, p.ExpiresMs, p.CompletedMs, p.FailedMs))
	case p.Attempts < 0 || p.Attempts > MaxAttempts || len(p.LastDecline) > MaxID || (p.Attempts == 0) != (p.LastDecline == ""):
		return fieldErr("attempts", p.Attempts)
	case p.AmountRefunded < 0 || p.AmountRefunded > p.Amount:
		return fieldErr("amount refunded", p.AmountRefunded)
	}
	return validStatus(p)
}

func validStatus(p *Payment) error {
	paid := p.Status == StatusCompleted || p.Status == StatusRefunded
	switch {
	case p.Status != StatusPending && p.Status != StatusFailed && !paid:
		return fieldErr("status", p.Status)
	case paid != (p.CompletedMs != 0) || (paid && validCard(p.CardBrand, p.CardLast4) != nil) || (!paid && p.CardBrand+p.CardLast4 != ""):
		return fieldErr("completion of a payment", p.Status)
	case (p.Status == StatusFailed) != (p.FailedMs != 0):
		return fieldErr("failure time of a payment", p.Status)
	case p.Status == StatusFailed && p.FailureReason != ReasonExpired && p.FailureReason != ReasonTooManyAttempts:
		return fieldErr("failure reason", p.FailureReason)
	case p.Status != StatusFailed && p.FailureReason != "":
		return fieldErr("failure reason of a payment not failed", p.FailureReason)
	case p.FailureReason == ReasonTooManyAttempts && p.Attempts != MaxAttempts:
		return fieldErr("attempts of a payment failed for too many", p.Attempts)
	case p.Status == StatusPending && p.Attempts >= MaxAttempts:
		return fieldErr("attempts of a pending payment", p.Attempts)
	case (p.Status == StatusRefunded) != (p.AmountRefunded == p.Amount) || (!paid && p.AmountRefunded != 0):
		return fieldErr("refunds of a payment", p.Status)
	}
	return nil
}

// validNewPayment: a payment as created, pending and untouched.
func validNewPayment(p *Payment) error {
	if err := validPayment(p); err != nil {
		return err
	}
	if p.Status != StatusPending || p.Attempts != 0 || p.CreatedMs == 0 {
		return fieldErr("new payment", p.Status)
	}
	return nil
}

func validDeclined(ev *PaymentDeclined) error {
	err := first(validOwner(ev.Owner), validID(ev.ID, PrefixPayment))
	switch {
	case err != nil:
		return err
	case ev.Attempt < 1 || ev.Attempt > MaxAttempts:
		return fieldErr("attempt", ev.Attempt)
	case ev.DeclineCode == "" || len(ev.DeclineCode) > MaxID:
		return fieldErr("decline code", ev.DeclineCode)
	}
	return validNotice(&ev.Notice, EventPaymentFailed, ev.Attempt == MaxAttempts)
}

func validRefunded(ev *PaymentRefunded) error {
	err := first(validOwner(ev.Owner), validID(ev.ID, PrefixPayment), validNotice(&ev.Notice, EventPaymentRefunded, true),
		validAnswer(&ev.Answer))
	switch {
	case err != nil:
		return err
	case ev.Amount < 1 || ev.Amount > MaxAmount || ev.AmountRefundedAfter < ev.Amount || ev.AmountRefundedAfter > MaxAmount:
		return fieldErr("refund amount", ev.Amount)
	}
	return nil
}

// validNotice checks a notice of type want: required, or absent (all
// empty) when not required.
func validNotice(n *Notice, want string, required bool) error {
	if !required {
		if n.ID != "" || n.Type != "" || n.Body != nil {
			return fmt.Errorf("%w: a notice %q where none goes", ErrInvalid, n.ID)
		}
		return nil
	}
	if err := validID(n.ID, PrefixEvent); err != nil {
		return err
	}
	if n.Type != want || len(n.Body) == 0 || len(n.Body) > MaxBody {
		return fmt.Errorf("%w: notice %s of type %q (want %q), body of %d bytes", ErrInvalid, n.ID, n.Type, want, len(n.Body))
	}
	return nil
}

func validAnswer(a *Answer) error {
	switch {
	case len(a.Key) > MaxID || len(a.Fingerprint) > MaxID:
		return fieldErr("key or fingerprint of bytes", len(a.Key)+len(a.Fingerprint))
	case a.Status < 0 || a.Status > 999 || (a.Key != "" && (a.Status < 100 || a.Status > 599)):
		return fieldErr("answer status", a.Status)
	case len(a.Response) > MaxBody:
		return fieldErr("answer of bytes", len(a.Response))
	}
	return nil
}
