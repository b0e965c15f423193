package paysmart

import (
	"fmt"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/engine"
	ps "ledgerd/engine/paysmart"
)

// Key prefixes: the prefix of the key a request presents says its mode
// (test or live) and its kind (secret or publishable). The prefix is part
// of what is hashed, so it cannot be changed without the key failing.
const (
	PrefixSecretTest      = "sk_test_"
	PrefixSecretLive      = "sk_live_"
	PrefixPublishableTest = "pk_test_"
	PrefixPublishableLive = "pk_live_"
)

// Account limits and defaults.
const (
	// DefaultRateLimit is a new account's limit, requests per minute for
	// the whole account (its four keys together, both modes): Stripe's
	// live-mode 100 per second. 100 concurrent creates are far below it.
	// An operator changes it with PATCH /admin/partners/{id}
	// {"rateLimitPerMinute":…}.
	DefaultRateLimit = 6000
	// MaxAccountName bounds an account's name, in characters.
	MaxAccountName = engine.MaxNameLen
	keyRandomChars = 48
	idRandomChars  = 24
	accountPrefix  = "acct_"
	keyIDPrefix    = "key_"
	alphabet       = httpx.Alphabet62
)

// ErrAccountName: the name is empty, too long or not printable.
var ErrAccountName = fmt.Errorf("paysmart: account name must be 1-%d printable characters", MaxAccountName)

// Account is a PaySmart account: a partner of API "paysmart".
type Account struct {
	ID        string // acct_…
	Name      string
	RateLimit int64 // requests per minute for the account
	CreatedMs int64
}

// Keys are an account's four API keys, in clear: shown once, at creation,
// and never again (only their SHA-256 hashes and last 4 characters are
// stored).
type Keys struct {
	SecretTest      string // sk_test_…
	PublishableTest string // pk_test_…
	SecretLive      string // sk_live_…
	PublishableLive string // pk_live_…
}

// CreateAccount creates a PaySmart account named name with
// DefaultRateLimit and its four keys, and returns them (the keys in clear,
// for the caller to show once: the admin route and cmd/ledgerd's --demo).
// Each key is its own event after the account's: should the process stop
// in between, the account exists with fewer keys and is simply not used.
func CreateAccount(sys *actors.System, name string) (Account, Keys, error) {
	if !httpx.Printable([]byte(name), MaxAccountName) {
		return Account{}, Keys{}, ErrAccountName
	}
	keys := Keys{
		SecretTest:      PrefixSecretTest + randomString(keyRandomChars),
		PublishableTest: PrefixPublishableTest + randomString(keyRandomChars),
		SecretLive:      PrefixSecretLive + randomString(keyRandomChars),
		PublishableLive: PrefixPublishableLive + randomString(keyRandomChars),
	}
	all := [...]string{keys.SecretTest, keys.PublishableTest, keys.SecretLive, keys.PublishableLive}
	id := accountPrefix + randomString(idRandomChars)
	p, err := sys.CreatePartner(id, ps.API, name, DefaultRateLimit, newKey(all[0]))
	if err != nil {
		return Account{}, Keys{}, fmt.Errorf("paysmart: create account: %w", err)
	}
	for _, k := range all[1:] {
		if p, err = sys.AddKey(id, newKey(k)); err != nil {
			return Account{}, Keys{}, fmt.Errorf("paysmart: create account key: %w", err)
		}
	}
	return Account{ID: p.ID, Name: p.Name, RateLimit: p.RateLimit, CreatedMs: p.CreatedMs}, keys, nil
}

// newKey is what is stored of key: its SHA-256 and, for listing, its
// prefix (sk_test_, pk_live_, ...: no secret in it) and last 4 characters.
func newKey(key string) actors.NewKey {
	return actors.NewKey{ID: keyIDPrefix + randomString(idRandomChars), Hash: engine.HashKey([]byte(key)), Hint: KeyHint(key)}
}

// KeyHint is what admin's key listing shows of a PaySmart key: its first
// 8 characters (the prefix), "…" and its last 4.
func KeyHint(key string) string {
	return key[:8] + "…" + key[len(key)-4:]
}

// keyKind is what a presented key's prefix says.
type keyKind struct {
	live, publishable, known bool
}

func kindOf(key []byte) keyKind {
	s := string(key[:min(len(key), len(PrefixSecretTest))])
	switch s {
	case PrefixSecretTest:
		return keyKind{known: true}
	case PrefixSecretLive:
		return keyKind{live: true, known: true}
	case PrefixPublishableTest:
		return keyKind{publishable: true, known: true}
	case PrefixPublishableLive:
		return keyKind{live: true, publishable: true, known: true}
	}
	return keyKind{}
}

// randomString returns n characters of alphabet from crypto/rand, without
// modulo bias.
func randomString(n int) string { return httpx.RandomString("", alphabet, n) }
