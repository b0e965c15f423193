// Package actors runs ledgerd's live state: one protoactor-go actor per
// wallet (wallet/payshards/<user>) and per redeem code, a rate limiter per
// API key, a partner directory, idempotency shards (mutex-guarded maps of the
// references in flight), and the committer that makes every event durable
// before anyone hears of it.
//
// The write path of a deduct: limiter → idempotency shard → wallet → committer.
// Each hop forwards the same *Op; nobody waits on a future. The wallet decides
// the command against its working state with engine.Decide*, applies the
// event at once with engine.ApplyWallet (so the next command sees it) and
// hands event and Op to the committer. The committer appends a batch of
// events with one WAL write and one fsync, applies them in log order to the
// engine's durable state, and only then signals the Ops.
//
// Ownership: the committer's goroutine alone writes the engine.State after
// start-up, and alone reads it except for one map: the idempotency shards
// look references up in State.Idem under a read lock the committer takes for
// writing around each Apply (one copy of every record instead of two). An
// actor's state is touched only inside its Receive. The other shared memory
// is atomic counters (in-flight and pending events per wallet), the shards'
// pending maps (each under its own mutex) and the immutable auth table the
// committer publishes.
//
// actors knows engine and wal, not HTTP.
package actors
