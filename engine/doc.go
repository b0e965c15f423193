// Package engine is ledgerd's deterministic state machine.
//
// It owns the ledger's core state (partners, API key hashes, idempotency
// records) and the table through which each module (engine/payshards,
// engine/paypay) adds its events, its own section of the State
// (RegisterState) and its own section of every snapshot
// (RegisterSnapshotSection): the one Apply function that both the live
// path and crash recovery use, and the msgpack encoding of events and of
// whole-state snapshots. engine/modules registers every module.
//
// Wire numbers in use (never renumber, never reuse):
//
//	event types  1, 2, 8–11, 15  core: partners, keys, idempotency expiry
//	             3–7             payshards
//	             12–14, 16       paypay
//	             20–30           paysmart (payment methods, customers, payments,
//	                             refunds, webhook endpoints, refusals)
//	             40–41           outbox (delivery attempted, retried)
//	             50–57           checkout (shops, payments, declines, expiry, refunds, refusals)
//	             60–79           paychat (60–68: partners, webhooks, payment links,
//	                             payments, withdrawals, deposits, fee schedule, tests)
//	scopes       1–3             payshards (deduct, refund, credit)
//	             4               paypay (redeem Idempotency-Key)
//	             5, 6            paysmart Idempotency-Key, test and live mode
//	             7, 8            checkout Idempotency-Key, test and live mode
//	             9, 10           paychat idempotency_key of POST /payments, /withdrawals
//	result codes 0               success, every module
//	             1–3             payshards; 4–7 paypay
//	sections     core (Order 100), idem (200), payshards (300), paypay (400),
//	             paysmart (500), outbox (600), checkout (700),
//	             paychat (800);
//	             idem version 2 adds each record's stored answer (status,
//	             response); version 1 is read for good
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
// Byte formats (never renumber, never reorder; principle 8):
//   - WAL records: codec.go, record version 1. A well-formed event of a type
//     this binary does not know is ErrUnknownEventType, not ErrBadRecord.
//   - Snapshots: container version 3 (snapshot_sections.go), an array
//     [3, [[name, version, payload]...]] of named sections, each the codec
//     of one module in the SnapshotSection table, with its own version.
//     Version 2, the flat layout released before it (snapshot_v2.go), is
//     read for good; nothing writes it.
//   - Upgrade rule: every format ever released stays readable. A
//     container version, section name or section version this binary does
//     not know is ErrUnknownSnapshotFormat, never ErrBadRecord: the caller
//     must stop and leave the file alone, as it may be a newer binary's
//     good data. Only ErrBadRecord (broken structure or content) makes a
//     snapshot corrupt. Every snapshot format starts with a msgpack array
//     whose first element is the container version, so an unknown version
//     is recognised whatever follows.
//   - A new module adds its section with one RegisterSnapshotSection call;
//     a changed section layout is a new section version whose Decode still
//     reads the old ones. A snapshot without a section is that module's
//     empty state (it did not exist yet), except core.
//
// engine imports nothing else of ledgerd, and does no I/O.
package engine
