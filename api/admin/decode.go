package admin

import (
	"errors"
	"fmt"

	"ledgerd/api/httpx"
	"ledgerd/engine"
)

// CreatePartner is a decoded POST /admin/partners body.
type CreatePartner struct {
	API       string
	Name      string
	RateLimit int64
}

// Credit is a decoded top-up body.
type Credit struct {
	Amount    int64
	Reference string
}

// ErrInvalid wraps every reason an admin body is refused.
var ErrInvalid = errors.New("admin: invalid request")

func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalid, err) }

// DecodeCreatePartner parses {"api","name","rateLimitPerMinute"}.
func DecodeCreatePartner(body []byte) (CreatePartner, error) {
	var c CreatePartner
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "api":
			c.API, err = httpx.PrintableString(v, 32)
			if _, known := knownAPIs[c.API]; err == nil && !known {
				err = fmt.Errorf("unknown api %q", c.API)
			}
		case "name":
			c.Name, err = httpx.PrintableString(v, engine.MaxNameLen)
		case "rateLimitPerMinute":
			c.RateLimit, err = httpx.Integer(v, 1, MaxRateLimit)
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err == nil && (c.API == "" || c.Name == "") {
		err = errors.New("api and name are required")
	}
	if c.RateLimit == 0 {
		c.RateLimit = knownAPIs[c.API]
	}
	if err != nil {
		return CreatePartner{}, invalid(err)
	}
	return c, nil
}

// DecodePatchPartner parses a status-only patch ({"status":"active"|"inactive"}).
func DecodePatchPartner(body []byte) (string, error) {
	p, err := DecodePartnerPatch(body)
	if err == nil && p.Status == "" {
		err = invalid(errors.New("status is required"))
	}
	return p.Status, err
}

// DecodeCredit parses {"amount","reference"}.
func DecodeCredit(body []byte) (Credit, error) {
	var c Credit
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "amount":
			c.Amount, err = httpx.Integer(v, 1, engine.MaxAmount)
		case "reference":
			c.Reference, err = httpx.PrintableString(v, engine.MaxReferenceLen)
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err == nil && (c.Amount == 0 || c.Reference == "") {
		err = errors.New("amount and reference are required")
	}
	if err != nil {
		return Credit{}, invalid(err)
	}
	return c, nil
}
