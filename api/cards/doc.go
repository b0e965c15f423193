// Package cards is ledgerd's card sandbox: it stands in for the card network
// behind PaySmart (issue 10) and hosted checkout. There is no network to ask,
// so this package decides, from the card details alone, whether a card is
// well formed and what the "issuer" answers.
//
// It owns three things:
//
//   - Validation (Parse): the number's characters, length and Luhn check
//     digit, the expiry month and year against the month the caller says it
//     is, and the CVC's length for the card's brand. A refusal is an *Error
//     carrying Stripe's code (incorrect_number, invalid_expiry_month,
//     invalid_expiry_year, invalid_cvc), a fixed human message and the
//     request parameter at fault (payment_method[card][number], …).
//   - What may be kept of a card (Card): brand, last four digits, expiry and
//     a keyed fingerprint (Fingerprint). Never the number, never the CVC.
//   - The issuer's decision (Outcome): Stripe's public test cards and their
//     outcomes.
//
// # Test and live mode
//
// In test mode the known test cards behave as Stripe documents them:
// 4242424242424242, 5555555555554444 and 378282246310005 succeed;
// 4000000000000002, …9995, …9987 and …9979 are declined with code
// card_declined and decline codes generic_decline, insufficient_funds,
// lost_card and stolen_card; 4000000000000069 gives expired_card,
// 4000000000000127 incorrect_cvc and 4000000000000119 processing_error. Any
// other valid number succeeds.
//
// In live mode every one of those known test cards (the succeeding ones
// included) is declined with card_declined, decline code test_mode_decline
// and the message MsgLiveModeTestCard; any other valid number succeeds, since
// the sandbox has no real issuer to refuse it.
//
// # Secrets
//
// The full card number and the CVC must not leave the caller: they are
// passed to Parse, Fingerprint and Outcome and must then be dropped, never
// stored, logged, put in an event or written to the WAL. Card (and Error)
// hold nothing that needs protecting; the fingerprint is an HMAC under a key
// only the server holds, so it identifies a card without revealing it.
//
// The package does no I/O, keeps no state and reads no clock: the caller
// passes the current month in.
package cards
