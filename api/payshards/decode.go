package payshards

import (
	"errors"
	"fmt"

	"ledgerd/api/httpx"
	"ledgerd/engine"
)

// Command is a decoded deduct or refund body.
type Command struct {
	UserID      string
	Amount      int64
	Reference   string
	Description string
}

// MaxDescriptionChars bounds the optional description.
const MaxDescriptionChars = 1000

// ErrInvalid is every reason a body is refused; the client sees 400
// invalid_request.
var ErrInvalid = errors.New("payshards: invalid request")

// DecodeCommand parses a deduct or refund body: a JSON object with userId
// (1–128 printable characters), amount (a JSON integer literal from 1 to
// 2^53−1), reference (1–255 printable characters) and an optional
// description. Unknown or repeated fields are refused.
func DecodeCommand(body []byte) (Command, error) {
	var c Command
	var haveUser, haveAmount, haveRef bool
	err := httpx.ParseObject(body, func(key []byte, v httpx.Value) error {
		var err error
		switch string(key) {
		case "userId":
			c.UserID, err = httpx.PrintableString(v, engine.MaxUserIDLen)
			haveUser = true
		case "amount":
			c.Amount, err = httpx.Integer(v, 1, engine.MaxAmount)
			haveAmount = true
		case "reference":
			c.Reference, err = httpx.PrintableString(v, engine.MaxReferenceLen)
			haveRef = true
		case "description":
			if v.Kind != httpx.KindNull {
				c.Description, err = decodeDescription(v)
			}
		default:
			err = fmt.Errorf("unknown field %q", key)
		}
		return err
	})
	if err == nil && !(haveUser && haveAmount && haveRef) {
		err = errors.New("userId, amount and reference are required")
	}
	if err != nil {
		return Command{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c, nil
}

func decodeDescription(v httpx.Value) (string, error) {
	if v.Kind != httpx.KindString {
		return "", httpx.ErrBadString
	}
	if len(v.Str) == 0 {
		return "", nil
	}
	return httpx.PrintableString(v, MaxDescriptionChars)
}

// DecodeUserID checks the balance query's userId.
func DecodeUserID(raw []byte) (string, error) {
	if !httpx.Printable(raw, engine.MaxUserIDLen) {
		return "", ErrInvalid
	}
	return string(raw), nil
}
