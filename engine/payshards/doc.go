// Package payshards is the PayShards module of the engine: user shard
// wallets that partners debit and credit back, and operator top-ups.
//
// It owns its event types (wire numbers 3–7, never renumber), its result
// codes, its idempotency scopes (1–3), the Decide functions the wallet
// actors run and the Apply functions the committer runs, both through the
// engine's table, and its state: the wallets, its own section of every
// engine.State (Of, Wallets) and of every snapshot ("payshards",
// snapshot.go). Of ledgerd it imports only package engine.
package payshards
