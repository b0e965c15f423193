package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Segment file naming, mirroring tidwall/wal's load(): a 20-digit first
// index, optionally followed by ".START" or ".END" (truncation in progress).
// Anything else (including our ".broken" copies) is ignored by tidwall.
const (
	segmentDigits = 20
	startSuffix   = ".START"
	endSuffix     = ".END"
	brokenSuffix  = ".broken"
	dirPerm       = 0o750
	filePerm      = 0o640
)

var errZeroEntry = fmt.Errorf("%w: zero-length entry", ErrShortFrame)

type segmentFile struct {
	path  string
	index uint64 // index of the first entry
	end   bool   // ".END" file
}

// listSegments returns the files tidwall treats as segments, in name order
// (the order tidwall loads them).
func listSegments(dir string) ([]segmentFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: list %s: %w", dir, err)
	}
	var segs []segmentFile
	for _, e := range ents {
		if seg, ok := parseSegmentName(dir, e); ok {
			segs = append(segs, seg)
		}
	}
	return segs, nil
}

func parseSegmentName(dir string, e os.DirEntry) (segmentFile, bool) {
	name := e.Name()
	if e.IsDir() || len(name) < segmentDigits {
		return segmentFile{}, false
	}
	index, err := strconv.ParseUint(name[:segmentDigits], 10, 64)
	if err != nil || index == 0 {
		return segmentFile{}, false
	}
	rest := name[segmentDigits:]
	if rest != "" && rest != startSuffix && rest != endSuffix {
		return segmentFile{}, false
	}
	return segmentFile{path: filepath.Join(dir, name), index: index, end: rest == endSuffix}, true
}

// tailSegment returns the file tidwall will treat as its last segment: the
// first ".END" file if any, else the last name in order (which may be a
// ".START" file that tidwall renames on open).
func tailSegment(segs []segmentFile) (segmentFile, bool) {
	for _, s := range segs {
		if s.end {
			return s, true
		}
	}
	if len(segs) == 0 {
		return segmentFile{}, false
	}
	return segs[len(segs)-1], true
}

// entryAt parses the tidwall binary entry (uvarint length + data) that
// starts at buf[off:]. It returns the entry data and the entry's total size.
func entryAt(buf []byte, off int) (data []byte, size int, err error) {
	n, w := binary.Uvarint(buf[off:])
	switch {
	case w == 0:
		return nil, 0, fmt.Errorf("%w: length prefix cut by EOF", ErrShortFrame)
	case w < 0:
		return nil, 0, fmt.Errorf("%w: length prefix overflows", ErrTooLarge)
	case n == 0:
		return nil, w, errZeroEntry
	case n > uint64(maxFrameSize):
		return nil, 0, fmt.Errorf("%w: entry length %d", ErrTooLarge, n)
	case n > uint64(len(buf)-off-w):
		return nil, 0, fmt.Errorf("%w: entry length %d runs past EOF", ErrShortFrame, n)
	}
	return buf[off+w : off+w+int(n)], w + int(n), nil
}

// checkEntry parses and validates the entry at buf[off:].
func checkEntry(buf []byte, off int) (size int, err error) {
	data, size, err := entryAt(buf, off)
	if err != nil {
		return 0, err
	}
	if _, err := DecodeFrame(data); err != nil {
		return 0, err
	}
	return size, nil
}

// validEntryAt reports, without allocating, whether a valid entry starts at
// buf[off:].
func validEntryAt(buf []byte, off int) bool {
	n, w := binary.Uvarint(buf[off:])
	if w <= 0 || n < frameHeaderSize || n > uint64(len(buf)-off-w) {
		return false
	}
	return frameOK(buf[off+w : off+w+int(n)])
}

// scanEntries walks buf entry by entry. It returns the end offset of the last
// good entry, the number of good entries, and why the walk stopped early
// (nil if every byte belongs to a good entry).
func scanEntries(buf []byte) (good, count int, err error) {
	for good < len(buf) {
		size, err := checkEntry(buf, good)
		if err != nil {
			return good, count, err
		}
		good += size
		count++
	}
	return good, count, nil
}

// nextValidEntry returns the first offset >= from where a valid entry starts.
func nextValidEntry(buf []byte, from int) (int, bool) {
	for off := from; off < len(buf); off++ {
		if validEntryAt(buf, off) {
			return off, true
		}
	}
	return 0, false
}

// locate finds the segment file and byte offset of index in dir, plus a
// note on the first damaged entry of that segment (tidwall rejects a whole
// segment if any entry is structurally broken). Best effort, error paths only.
func locate(dir string, index uint64) (path string, offset int, note string, err error) {
	seg, err := segmentHolding(dir, index)
	if err != nil {
		return "", 0, "", err
	}
	buf, err := os.ReadFile(seg.path)
	if err != nil {
		return seg.path, 0, "", err
	}
	for i := seg.index; i < index && offset < len(buf); i++ {
		_, size, err := entryAt(buf, offset)
		if err != nil {
			return seg.path, offset, "", err
		}
		offset += size
	}
	if good, count, err := scanEntries(buf); err != nil && good != offset {
		note = fmt.Sprintf("segment damaged at offset %d (index %d): %v", good, seg.index+uint64(count), err)
	}
	return seg.path, offset, note, nil
}

func segmentHolding(dir string, index uint64) (segmentFile, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return segmentFile{}, err
	}
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].index <= index && !segs[i].end && !strings.HasSuffix(segs[i].path, startSuffix) {
			return segs[i], nil
		}
	}
	return segmentFile{}, errors.New("no segment holds the index")
}

// segmentName is tidwall's segment file name for a first index.
func segmentPath(dir string, index uint64) string { return filepath.Join(dir, segmentName(index)) }

func segmentName(index uint64) string {
	return fmt.Sprintf("%0*d", segmentDigits, index)
}
