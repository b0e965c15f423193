// Package actors runs ledgerd's live state: one protoactor-go actor per
// wallet (wallet/payshards/<user>), idempotency shards that own references,
// a rate limiter per API key, a partner directory, and the committer that
// makes every event durable before anyone hears of it.
//
// The write path of a deduct: limiter → idempotency shard → wallet → committer.
// Each hop forwards the same *Op; nobody waits on a future. The wallet decides
// the command against its working state with engine.Decide*, applies the
// event at once with engine.ApplyWallet (so the next command sees it) and
// hands event and Op to the committer. The committer appends a batch of
// events with one WAL write and one fsync, applies them in log order to the
// engine's durable state, and only then signals the Ops.
//
// Ownership: the committer's goroutine alone touches the engine.State after
// start-up. An actor's state is touched only inside its Receive. The only
// shared memory are atomic counters (in-flight and pending events per
// wallet) and the immutable auth table the committer publishes.
//
// actors knows engine and wal, not HTTP.
package actors
