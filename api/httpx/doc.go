// Package httpx holds what every API package of ledgerd shares: a strict
// JSON reader for request bodies, exact integer, decimal and string rules,
// JSON writers that append to the response without reflection, and the
// fasthttp server set-up (limits, shutdown, request errors, logging).
//
// httpx knows fasthttp and JSON, not ledger rules or actors.
//
// # Reading request bodies
//
// Both readers take the whole body and call back once per member, in
// order; the callback's switch on the key is the decoder's list of known
// fields, and it returns UnknownField(key) for the others. Every object,
// at every level, refuses a repeated key (also when spelled with escapes),
// strings must be valid UTF-8 without lone surrogates, and numbers are
// handed over as written: nothing goes through float64. Slices handed to a
// callback alias the body or a reused buffer: copy what you keep (the
// value helpers below return copies).
//
//   - ParseObject reads a flat object: a nested value is ErrNested. The
//     PayShards, PayPay.cards and admin decoders use it.
//   - ReadObject also reads objects and arrays, up to MaxDepth (the body's
//     object is depth 1), MaxFields members per object, MaxElements per
//     array, MaxKeyBytes per key and MaxValues per body. A nested value
//     arrives as Kind KindObject or KindArray; read it inside the same
//     callback with v.Object(fn) or v.Array(fn). A value the callback does
//     not read is still checked in full and skipped. An error met inside a
//     nested value sticks: ReadObject returns it even if a callback drops
//     it.
//
// A PaySmart-like body
// {"amount":2000,"payment_method":{"card":{"exp_month":12}},"metadata":{…}}
// decodes as:
//
//	err := httpx.ReadObject(body, func(key []byte, v httpx.Value) error {
//		switch string(key) {
//		case "amount":
//			p.AmountMinor, err = httpx.Integer(v, 1, maxAmount)
//			return err
//		case "payment_method":
//			return v.Object(func(key []byte, v httpx.Value) error {
//				if string(key) != "card" {
//					return httpx.UnknownField(key)
//				}
//				return v.Object(p.Card.member) // its own switch
//			})
//		case "metadata":
//			return v.Object(func(key []byte, v httpx.Value) error {
//				s, err := httpx.PrintableString(v, 500)
//				p.Metadata[string(key)] = s
//				return err
//			})
//		}
//		return httpx.UnknownField(key)
//	})
//
// (nested_test.go has it whole). Value helpers: Integer (a plain integer
// literal, exact, bounded), Decimal (a decimal literal scaled by
// 10^fractionDigits into an int64, exact or refused: "20.50" with 2 digits
// is 2050, "20.001" is ErrNotDecimal) and ParseDecimal (the same on the
// text of a JSON string), PrintableString and Printable, Bool; null is
// v.Kind == KindNull.
//
// The reader is hand-written rather than jsontext (go-json-experiment,
// Go's encoding/json/v2): bench_test.go has the figures and the reasons.
// jsontext is a test-only reference of FuzzReadObject.
//
// # Requests refused before a handler
//
// fasthttp refuses a body over MaxWireBodyBytes, and requests it cannot
// read, before any handler runs. Server.RequestErrors answers them: each
// API's Register adds one RequestErrorWriter for its base path, which
// writes the API's own envelope with the status it is given (413 for a
// body over the limit, else 400, 408 or 431). A request whose path is
// unknown, or whose request fasthttp reset (a chunked body over the limit,
// broken chunks), gets {"error":"request_too_large"} or
// {"error":"bad_request"}. fasthttp's own log lines go to log/slog through
// SlogLogger.
package httpx
