// Package verify is ledgerd's offline verifier: it rebuilds the ledger of a
// data directory from its WAL and every snapshot, without serving, and
// checks that the rebuilds agree and that the ledger's invariants hold.
//
// What it owns: the checks, and the Report they produce. What it must not
// touch: the data directory. It opens nothing there for writing. The WAL is
// copied to a temporary directory and the copy is opened, because wal.Open
// repairs a torn tail in place; a torn tail is reported as what start-up
// would cut. The data dir's LOCK is taken with a shared flock, so the
// verifier never runs against a live ledgerd (which holds it exclusively)
// and a ledgerd cannot start while a verification runs.
//
// Imports: engine and wal only. actors.Recover is not used: it repairs the
// WAL in place and stops at the newest usable snapshot, whereas the verifier
// replays from scratch and from every snapshot independently.
//
// (See the checks in model.go and the comparisons in diff.go.)
package verify
