package cards

// Stripe's error codes for a card that is refused by its "issuer".
const (
	CodeCardDeclined    = "card_declined"
	CodeExpiredCard     = "expired_card"
	CodeIncorrectCVC    = "incorrect_cvc"
	CodeProcessingError = "processing_error"
)

// Decline codes, set with CodeCardDeclined.
const (
	DeclineGeneric           = "generic_decline"
	DeclineInsufficientFunds = "insufficient_funds"
	DeclineLostCard          = "lost_card"
	DeclineStolenCard        = "stolen_card"
	// DeclineTestModeCard: a known test card was used in live mode.
	DeclineTestModeCard = "test_mode_decline"
)

// Messages of declines.
const (
	MsgCardDeclined      = "Your card was declined."
	MsgInsufficientFunds = "Your card has insufficient funds."
	MsgExpiredCard       = "Your card has expired."
	MsgIncorrectCVC      = "Your card's security code is incorrect."
	MsgProcessingError   = "An error occurred while processing your card. Try again in a little bit."
	MsgLiveModeTestCard  = "Your card was declined. Your request was in live mode, but used a known test card."
)

// Decision is the sandbox issuer's answer for a card. When Approved is
// true the other fields are empty; otherwise Code is set, DeclineCode is set
// for card_declined only, and Message is the text to show the payer.
type Decision struct {
	Approved    bool
	Code        string
	DeclineCode string
	Message     string
}

// testCards are Stripe's public test cards and their test-mode outcomes.
var testCards = map[string]Decision{
	"4242424242424242": {Approved: true},
	"5555555555554444": {Approved: true},
	"378282246310005":  {Approved: true},
	"4000000000000002": {Code: CodeCardDeclined, DeclineCode: DeclineGeneric, Message: MsgCardDeclined},
	"4000000000009995": {Code: CodeCardDeclined, DeclineCode: DeclineInsufficientFunds, Message: MsgInsufficientFunds},
	"4000000000009987": {Code: CodeCardDeclined, DeclineCode: DeclineLostCard, Message: MsgCardDeclined},
	"4000000000009979": {Code: CodeCardDeclined, DeclineCode: DeclineStolenCard, Message: MsgCardDeclined},
	"4000000000000069": {Code: CodeExpiredCard, Message: MsgExpiredCard},
	"4000000000000127": {Code: CodeIncorrectCVC, Message: MsgIncorrectCVC},
	"4000000000000119": {Code: CodeProcessingError, Message: MsgProcessingError},
}

// IsTestCard reports whether number is one of the known test cards.
func IsTestCard(number string) bool {
	_, ok := testCards[number]
	return ok
}

// Outcome is the sandbox's decision for a number Parse accepted. In test
// mode a known test card gets its documented outcome and any other number is
// approved. In live mode a known test card is declined (card_declined,
// test_mode_decline, MsgLiveModeTestCard) and any other number is approved.
func Outcome(number string, live bool) Decision {
	d, known := testCards[number]
	if !known {
		return Decision{Approved: true}
	}
	if live {
		return Decision{Code: CodeCardDeclined, DeclineCode: DeclineTestModeCard, Message: MsgLiveModeTestCard}
	}
	return d
}
