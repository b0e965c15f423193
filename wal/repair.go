package wal

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// repairTail checks every entry of the segment tidwall will append to and
// cuts a torn tail. Zeros after the last good entry are trimmed without a
// backup: the prefill writes them, and a write that never reached the disk
// leaves them too; neither can hold an acknowledged entry. Mid-file corruption (a bad entry followed by a valid one)
// is reported as ErrCorrupt and nothing is changed. So is a whole entry in
// a frame version newer than this ledgerd's (ErrBadVersion, newerEntry).
func repairTail(dir string, logger *slog.Logger) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	seg, ok := tailSegment(segs)
	if !ok {
		return nil // new log
	}
	buf, err := os.ReadFile(seg.path)
	if err != nil {
		return fmt.Errorf("wal: read %s: %w", seg.path, err)
	}
	good, count, cause := scanEntries(buf)
	if cause == nil {
		return nil
	}
	if allZero(buf[good:]) { // prefilled space (prefill.go), or writes that never reached the disk
		if err := truncateSync(seg.path, int64(good)); err != nil {
			return err
		}
		logger.Debug("wal: zeros after the last entry trimmed", "file", seg.path, "offset", good, "bytes", len(buf)-good)
		return nil
	}
	index := seg.index + uint64(count)
	if v, newer := newerEntry(buf, good); newer {
		return fmt.Errorf("%w: %s offset %d (index %d) holds a whole entry of frame version %d, this ledgerd reads version %d "+
			"(written by a newer ledgerd?); nothing was changed", ErrBadVersion, seg.path, good, index, v, FormatVersion)
	}
	if next, found := nextValidEntry(buf, good+1); found {
		return fmt.Errorf("%w: %s offset %d (index %d), valid entry follows at offset %d: %w",
			ErrCorrupt, seg.path, good, index, next, cause)
	}
	return cutTail(seg.path, buf, good, index, cause, logger)
}

// newerEntry reports whether buf[off:] starts with a whole entry (its
// length prefix and every byte it counts are there) whose frame version is
// above FormatVersion and whose CRC-32C holds (every version keeps the
// header: FormatVersion), and which version. That is what a newer ledgerd
// wrote; a torn write leaves zeros or a prefix of a frame, and garbage
// matches the CRC once in 2^32. Cutting it as a torn tail would drop what
// that ledgerd acknowledged, so Open stops instead.
func newerEntry(buf []byte, off int) (version byte, newer bool) {
	data, _, err := entryAt(buf, off)
	if err != nil || len(data) == 0 || data[0] <= FormatVersion || !crcHolds(data) {
		return 0, false
	}
	return data[0], true
}

// cutTail backs the segment up to <path>.broken, truncates it to good bytes
// and makes both durable.
func cutTail(path string, buf []byte, good int, index uint64, cause error, logger *slog.Logger) error {
	backup := path + brokenSuffix
	if err := writeFileSync(backup, buf); err != nil {
		return err
	}
	if err := truncateSync(path, int64(good)); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return err
	}
	logger.Warn("wal: torn tail repaired",
		"file", path, "offset", good, "bytes_cut", len(buf)-good,
		"first_lost_index", index, "backup", backup, "cause", cause.Error())
	return nil
}

// trimZeros cuts the prefilled zeros after the tail segment's last entry
// (Close: a closed log's files hold entries only, as without the prefill).
// Anything else after the last entry is left for Open's repair.
func trimZeros(dir string) error {
	segs, err := listSegments(dir)
	if err != nil {
		return err
	}
	seg, ok := tailSegment(segs)
	if !ok {
		return nil
	}
	buf, err := os.ReadFile(seg.path)
	if err != nil {
		return fmt.Errorf("wal: read %s: %w", seg.path, err)
	}
	if good, _, cause := scanEntries(buf); cause != nil && allZero(buf[good:]) {
		return truncateSync(seg.path, int64(good))
	}
	return nil
}
