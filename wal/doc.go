// Package wal is the write-ahead log and snapshot store of the in-memory
// ledger. It knows bytes and indices, never business rules: payloads are
// opaque byte slices produced by the engine. Every state change is appended
// and fsynced before anyone is told about it; start-up loads the newest valid
// snapshot and replays the log suffix after it.
//
// Imports: this package must import only the standard library and
// github.com/tidwall/wal. It must never import other ledgerd packages.
//
// # Log directory
//
// The log lives in one directory managed by github.com/tidwall/wal (Binary
// format). Segment files are named by the 20-digit, zero-padded index of their
// first entry, e.g. 00000000000000000001. During TruncateFront tidwall briefly
// writes <name>.START (and <name>.START.TEMP); its Open finishes or discards
// those. DropBefore, which the ledger uses, never writes: it deletes whole
// segments older than its index, oldest first, so a crash midway leaves a
// contiguous suffix of segments. Open repairs a torn tail of the last
// segment and keeps a copy of the original file as <name>.broken (tidwall ignores that name; an older copy is
// overwritten).
//
// The tail segment may end in zeros: a goroutine writes them (and
// fdatasyncs them) ahead of the offset tidwall appends at, up to the segment
// size, so tidwall's writes overwrite allocated blocks inside the file and
// its fsync after each batch commits no allocation or size change
// (prefill.go; Options.NoPrefill turns it off). Open trims zeros after the
// last entry without a backup. Snapshots go in a separate directory, by convention
// SnapshotDir(logDir) = <logDir>/snapshots (tidwall skips directories).
//
// # Segment byte format (tidwall Binary)
//
// A segment is a sequence of entries, each
//
//	uvarint(len(data)) | data
//
// with no header, footer or checksum of its own. Entry i of a segment named N
// has index N+i.
//
// # Frame format (the data of each tidwall entry), FormatVersion 1
//
//	offset size field
//	0      1    version, always FormatVersion (1)
//	1      4    CRC-32C (Castagnoli) of payload, little endian
//	5      n    payload, 0 <= n <= MaxPayload
//
// A frame is therefore never empty, so a zero-length entry (for example the
// zero-filled tail left by a crash) is always invalid.
//
// # Snapshot file format, FormatVersion 1
//
// File name: snap-<20-digit index>.snap, written as a temp file named
// snap-*.tmp in the same directory, fsynced, renamed, then the directory is
// fsynced.
//
//	offset size field
//	0      8    magic "LDSNAP01"
//	8      8    index, uint64 little endian (must match the file name)
//	16     1    version, always FormatVersion (1)
//	17     4    CRC-32C (Castagnoli) of payload, little endian
//	21     8    payload length n, uint64 little endian (must match file size)
//	29     n    payload
//
// The payload is the engine's (engine/doc.go: a container of named,
// versioned sections). A snapshot whose header version is not
// FormatVersion is ErrBadVersion: an unknown format, which the caller must
// leave in place, unlike ErrCorrupt and ErrCRCMismatch.
// PruneSnapshotsExcept lets the caller spare files it cannot judge.
//
// # Recovery rules
//
// Open walks every entry of the last segment. If every byte after the last
// good entry is zero, they are prefilled space or writes that never reached
// the disk (neither holds an acknowledged entry): the file is cut to the
// last good entry and fsynced, with no backup and a debug-level log line.
// Otherwise the first bad entry (length
// cut short by EOF, zero length, bad version, CRC mismatch) is a torn tail if
// no valid entry starts at any later byte offset of that file: the file is
// backed up to <name>.broken, truncated to the end of the last good entry,
// fsynced along with the directory, and a slog warning is written. If a valid
// entry does follow, the damage is mid-log corruption: Open returns an error
// wrapping ErrCorrupt that names the file and byte offset, and changes
// nothing. Earlier segments are verified lazily, by Replay.
package wal
