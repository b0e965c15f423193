// Package actors runs ledgerd's live state: one protoactor-go actor per
// wallet (wallet/payshards/<user>), per redeem code while two requests use
// it, a rate limiter per API key, a partner directory, idempotency shards
// (mutex-guarded maps of the references in flight), and the committer that
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
// Creates under a fresh id (Op.Fresh: a payment, a payment link, whose id
// the API has just drawn at random) are decided without an actor: the
// registry holds the id while the Op's event is committed, anything sent to
// the id meanwhile waits in that hold, and the actor starts (and loads)
// only when something is sent to the entity. The committer refuses such an
// event before the log when its entity has a state after all (Op.Taken).
//
// Codes (EntityDef.Inline) are decided the same way, by the committer on
// its own goroutine, against the code's durable state: a code is used once
// or twice, and an actor for it cost protoactor's spawn and stop and a load
// through the queue per redeem. A decide that finds events for its code
// gathered or in flight (an actor's, which retired before they were
// durable) waits for their batch, as an actor's load does.
//
// Ownership: the committer's goroutine alone writes the engine.State after
// start-up, and alone reads it except for one map: the idempotency shards
// look references up in State.Record under a read lock the committer takes for
// writing around each Apply (one copy of every record instead of two). An
// actor's state is touched only inside its Receive. The other shared memory
// is atomic counters (in-flight and pending events per wallet), the shards'
// pending maps (each under its own mutex) and the immutable auth table the
// committer publishes.
//
// The committed-event feed (feed.go): System.Subscribe hands committed WAL
// entries, decoded into events the subscriber owns, in log order, from an
// index the subscriber names, off the committer's goroutine. The committer
// publishes each durable, applied entry into a bounded ring without
// blocking (FeedBuffer entries, FeedBufferBytes bytes); each subscription's
// goroutine reads the ring, or the WAL when it has fallen behind it, and
// keeps at most FeedAhead batches decoded ahead of its reader. At most
// FeedSubscribersMax subscriptions. An index the WAL no longer holds is
// ErrFeedTruncated; a held subscription (FeedOptions.Hold) keeps the
// snapshotter from truncating past its first unacknowledged index (Ack).
// System.Stop ends every subscription with ErrFeedClosed and waits for their
// goroutines; a subscriber resumes after a restart from its own index.
//
// Events no entity actor owns (the webhook outbox's attempts and retries)
// are committed with System.Commit (commit.go), answered once durable and
// applied; their writer decides them against ReadState and serializes
// itself, so they always apply.
//
// actors knows engine and wal, not HTTP.
package actors
