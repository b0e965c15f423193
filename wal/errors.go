package wal

import "errors"

// Sentinel errors. Returned errors wrap these (use errors.Is); messages add
// file names, byte offsets and indices where known.
var (
	// ErrCRCMismatch means a frame or snapshot checksum did not match.
	ErrCRCMismatch = errors.New("wal: crc mismatch")
	// ErrCorrupt means mid-log (or snapshot) corruption that cannot be
	// repaired automatically.
	ErrCorrupt = errors.New("wal: corrupt entry")
	// ErrBadVersion means an unknown frame or snapshot format version.
	ErrBadVersion = errors.New("wal: unknown format version")
	// ErrTooLarge means a payload is larger than MaxPayload.
	ErrTooLarge = errors.New("wal: frame too large")
	// ErrShortFrame means a frame, entry or snapshot is cut short.
	ErrShortFrame = errors.New("wal: short frame")
	// ErrNoSnapshot means the snapshot directory holds no snapshot.
	ErrNoSnapshot = errors.New("wal: no snapshot")
	// ErrClosed means the Log has been closed.
	ErrClosed = errors.New("wal: closed")
	// ErrOutOfRange means Replay was asked for entries the log does not hold
	// (already truncated away, or beyond the next index).
	ErrOutOfRange = errors.New("wal: index out of range")
	// ErrDropped means TruncateFront was called on a Log whose DropBefore
	// deleted segment files; reopen it first.
	ErrDropped = errors.New("wal: segments dropped, reopen before TruncateFront")
)
