// Package modules registers every API module of the engine: importing it
// fills the engine's tables (event types, scopes, expiries, checkers).
// Adding an API adds one line here.
package modules

import (
	_ "ledgerd/engine/checkout"  // hosted checkout: shops, their payments, the checkout page's attempts
	_ "ledgerd/engine/outbox"    // the webhook outbox: deliveries and their attempts
	_ "ledgerd/engine/paychat"   // PAYchat: USDT partners, users, payment links, withdrawals, deposits
	_ "ledgerd/engine/paypay"    // PayPay.cards: redeem codes
	_ "ledgerd/engine/payshards" // PayShards: user shard wallets
	_ "ledgerd/engine/paysmart"  // PaySmart: card payments, customers, refunds, webhook endpoints
)
