// Package paychat is the actors side of the PAYchat module: the entity
// actors of partners, Telegram users, payment links and deposits, and the
// functions the HTTP layer (api/paychat, api/admin) calls. Each returns
// once its answer is durable.
//
// Who decides what:
//   - a partner's actor: withdrawals (the partner's balance covers amount +
//     fee) and its webhook URL. It is the hot account; it stays resident.
//   - a user's actor (a Telegram id): payments by that user (its balance
//     covers the amount) and the registration of a partner for that id.
//   - a link's actor: the creation of a payment link (its link id is new).
//   - the deposits actor: every deposit (tx hash new or replayed,
//     Deposited within the cap) and the assignment of held ones.
//
// A partner is credited by payments and deposits, a user by withdrawals
// and deposits, none of them decided on its own actor: credits only raise
// a balance, so an actor's working balance is a lower bound of the durable
// one, and an actor that would refuse for lack of funds first reloads its
// durable state (actors.Entity.Reload) and decides again.
//
// A link is paid at most once without a lock: the payer's actor decides
// the balance, and the first PaymentPaid in log order that finds the link
// payable completes it (engine/paychat). Pay reads the outcome from the
// durable state once its event is durable.
//
// It imports actors and engine/paychat; nothing imports it but the API
// layers (and cmd/ledgerd).
package paychat
