// Package engine is ledgerd's deterministic state machine.
//
// It owns the ledger's state (partners, API key hashes, wallets, idempotency
// records), the events that change it, the one Apply function that both the
// live path and crash recovery use, and the msgpack encoding of events and of
// whole-state snapshots.
//
// Contract:
//   - Apply is deterministic: it never reads a clock, randomness, the network
//     or the disk. Events carry their time and ids.
//   - An event is a fact: Apply cannot reject it. A violated invariant (a
//     negative balance, a result that does not match the state) is a bug and
//     panics, so the process stops instead of diverging from its log.
//   - Commands are decided by the Decide* functions against the same types, so
//     the actors' working state and the committer's durable state evolve by
//     the same code.
//
// engine imports nothing else of ledgerd, and does no I/O.
package engine
