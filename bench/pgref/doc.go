// Command pgref is the reference alternative to ledgerd for benchmarks: the
// PayShards deduct and balance routes served by fasthttp on PostgreSQL, done
// the way a careful engineer would do them with one database.
//
// A deduct is one READ COMMITTED transaction on one connection:
//
//  1. INSERT the idempotency row (partner, op, reference, user, amount)
//     ON CONFLICT DO NOTHING. A concurrent transaction holding the same key
//     makes this statement wait for its commit or rollback.
//  2. If the row already existed: return its stored outcome (200 with
//     "idempotent":true, 402 or 404), or 409 idempotency_conflict when the
//     user or amount differ. Nothing is written.
//  3. Otherwise UPDATE wallets SET balance = balance - amount WHERE
//     user_id = user AND balance >= amount RETURNING balance. The row lock
//     serializes deducts on one user; the re-checked WHERE keeps balances
//     from going negative.
//  4. No row: read the balance for 402 insufficient_balance, or 404
//     unknown_user when the user does not exist.
//  5. UPDATE the idempotency row with the outcome, and COMMIT with
//     synchronous_commit=on: the answer is sent only after PostgreSQL has
//     flushed the commit to its WAL (fsync=on), like ledgerd's committer.
//
// The HTTP surface is ledgerd's for these two routes: the same paths, the
// x-api-key header (one fixed key), the same strict JSON decoder
// (payshards.DecodeCommand), order of checks (401, then 400, then the
// wallet), status codes and bodies, and the same fasthttp server limits
// (httpx.NewServer). It has no rate limiter, no refund route, no partners
// table and no retention of references: those would only slow it down.
//
// Connections: a fixed set of pgx connections opened at start (what
// pgxpool does with MinConns = MaxConns). pgxpool itself needs
// github.com/jackc/puddle/v2, which go.sum does not list yet.
//
// Of ledgerd it uses only the HTTP helpers (api/httpx) and the PayShards
// body decoder; it never runs ledgerd's actors, engine or WAL.
package main
