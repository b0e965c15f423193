package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	twal "github.com/tidwall/wal"
)

// DefaultSegmentSize is the target segment file size when
// Options.SegmentSize is zero. tidwall keeps the tail segment in memory and
// grows that buffer with append, so its largest single copy is half a
// segment: with 64-MiB segments the WAL writer kept a P for 49–72 ms in
// execution traces (one memmove, not preemptible) and requests stalled
// behind it; with 8 MiB such runs dropped out of the longest ones. It also
// bounds what tidwall holds in memory (the tail plus two cached segments).
const DefaultSegmentSize = 8 << 20

// Options configures Open.
type Options struct {
	SegmentSize int          // target segment size passed to tidwall/wal; default DefaultSegmentSize
	NoSync      bool         // skip fsync on Append; tests and benchmarks only
	NoPrefill   bool         // append at the file's end instead of overwriting prefilled zeros (prefill.go)
	Logger      *slog.Logger // default slog.Default()
}

func (o Options) withDefaults() Options {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Log is the write-ahead log: a tidwall/wal log whose entries are frames.
//
// Append and TruncateFront are serialized by an internal mutex; Append is
// meant to have a single owner (the committer). Replay, FirstIndex,
// LastIndex and NextIndex may run concurrently with them.
type Log struct {
	dir  string
	opts Options
	tl   *twal.Log

	closed atomic.Bool

	mu       sync.Mutex // guards the fields below
	batch    twal.Batch
	frame    []byte
	tailSize int   // mirror of tidwall's tail segment size, to detect cycling
	failed   error // sticky: a failed write leaves disk state unknown

	// first is the first readable index after DropBefore (0: tidwall's).
	// dropped: DropBefore removed segment files tidwall still lists, so
	// tidwall's own TruncateFront must not run until a reopen.
	first   atomic.Uint64
	dropped atomic.Bool
	dropMu  sync.Mutex // serializes DropBefore's file removal

	pf prefill // zeros ahead of tidwall's write position; its fields say which are under mu
}

// Open repairs a torn tail of the last segment in dir (see the package
// doc), then opens the log with tidwall/wal. dir is created if missing.
func Open(dir string, opts Options) (*Log, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return nil, fmt.Errorf("wal: create %s: %w", dir, err)
	}
	if err := repairTail(dir, opts.Logger); err != nil {
		return nil, err
	}
	tl, err := twal.Open(dir, &twal.Options{
		NoSync:      opts.NoSync,
		SegmentSize: opts.SegmentSize,
		LogFormat:   twal.Binary,
		NoCopy:      true, // safe: tidwall never mutates bytes it has returned
		AllowEmpty:  true, // a repaired log may hold no entries after TruncateFront
		DirPerms:    dirPerm,
		FilePerms:   filePerm,
	})
	if err != nil {
		return nil, fmt.Errorf("wal: open %s: %w", dir, err)
	}
	l := &Log{dir: dir, opts: opts, tl: tl}
	if err := l.afterLayoutChange(); err != nil {
		tl.Close()
		return nil, err
	}
	l.startPrefill()
	return l, nil
}

// afterLayoutChange makes segment creates/renames/removes durable,
// re-reads the tail segment size and points the prefill at the tail.
func (l *Log) afterLayoutChange() error {
	if !l.opts.NoSync {
		if err := syncDir(l.dir); err != nil {
			return err
		}
	}
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	tail, ok := tailSegment(segs)
	if !ok {
		return fmt.Errorf("wal: %s: no segment after open", l.dir)
	}
	fi, err := os.Stat(tail.path)
	if err != nil {
		return fmt.Errorf("wal: stat tail segment: %w", err)
	}
	l.tailSize = int(fi.Size())
	l.resetPrefill(tail.path)
	return nil
}

// bounds returns tidwall's raw first and last index. With AllowEmpty an empty
// log has first == last+1.
func (l *Log) bounds() (first, last uint64, err error) {
	if first, err = l.tl.FirstIndex(); err != nil {
		return 0, 0, l.wrap(err)
	}
	if last, err = l.tl.LastIndex(); err != nil {
		return 0, 0, l.wrap(err)
	}
	return max(first, l.first.Load()), last, nil
}

func (l *Log) wrap(err error) error {
	if l.closed.Load() {
		return ErrClosed
	}
	return fmt.Errorf("wal: %s: %w", l.dir, err)
}

// FirstIndex returns the index of the first entry, or 0 if the log is empty.
func (l *Log) FirstIndex() uint64 {
	first, last, err := l.bounds()
	if err != nil || last < first {
		return 0
	}
	return first
}

// LastIndex returns the index of the last entry, or 0 if the log is empty.
func (l *Log) LastIndex() uint64 {
	first, last, err := l.bounds()
	if err != nil || last < first {
		return 0
	}
	return last
}

// NextIndex returns the index the next appended entry will get. It differs
// from LastIndex()+1 only when the log is empty after front truncation and
// tail repair.
func (l *Log) NextIndex() uint64 {
	_, last, err := l.bounds()
	if err != nil {
		return 0
	}
	return last + 1
}

// Append frames each payload and writes them all in one tidwall WriteBatch
// (one fsync unless NoSync). It returns the index of the last entry written.
// Append with no payloads returns LastIndex(). After a failed write the Log
// refuses further appends; close and reopen it.
func (l *Log) Append(payloads ...[]byte) (last uint64, err error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failed != nil {
		return 0, l.failed
	}
	if len(payloads) == 0 {
		return l.LastIndex(), nil
	}
	next := l.NextIndex()
	if err := l.fillBatch(next, payloads); err != nil {
		return 0, err
	}
	cycled, newFirst := l.mirrorCycle(next, payloads)
	l.beforeWrite(cycled, l.tailSize)
	if err := l.tl.WriteBatch(&l.batch); err != nil {
		l.failed = fmt.Errorf("wal: append at index %d failed, reopen required: %w", next, err)
		return 0, l.failed
	}
	if cycled && !l.opts.NoSync {
		if err := syncDir(l.dir); err != nil {
			l.failed = err
			return 0, err
		}
	}
	l.afterWrite(cycled, newFirst)
	return next + uint64(len(payloads)) - 1, nil
}

func (l *Log) fillBatch(next uint64, payloads [][]byte) error {
	l.batch.Clear()
	for i, p := range payloads {
		if len(p) > MaxPayload {
			return fmt.Errorf("%w: payload %d is %d bytes, max %d", ErrTooLarge, i, len(p), MaxPayload)
		}
		l.frame = AppendFrame(l.frame[:0], p)
		l.batch.Write(next+uint64(i), l.frame)
	}
	return nil
}

// mirrorCycle replays tidwall's segment-cycling rule (writeBatch in
// tidwall/wal v1.2.1) on l.tailSize for a batch whose first index is next.
// It reports whether the batch will create a new segment file, whose
// directory entry must then be fsynced, and the first index of the last
// segment it creates.
func (l *Log) mirrorCycle(next uint64, payloads [][]byte) (cycled bool, newFirst uint64) {
	if l.tailSize > l.opts.SegmentSize {
		cycled, newFirst, l.tailSize = true, next, 0
	}
	for i, p := range payloads {
		n := frameHeaderSize + len(p)
		l.tailSize += uvarintLen(uint64(n)) + n
		if l.tailSize >= l.opts.SegmentSize {
			cycled, newFirst, l.tailSize = true, next+uint64(i)+1, 0
		}
	}
	return cycled, newFirst
}

func uvarintLen(x uint64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], x)
}

// Replay calls fn for every entry from index from through LastIndex, in
// order. Each frame is verified; a bad one yields an error wrapping
// ErrCorrupt (and the specific cause, e.g. ErrCRCMismatch) naming the index,
// file and byte offset. fn's payload is only valid during the call. An error
// from fn stops the replay and is returned as is. from below FirstIndex, or
// above NextIndex, is ErrOutOfRange.
func (l *Log) Replay(from uint64, fn func(index uint64, payload []byte) error) error {
	first, last, err := l.bounds()
	if err != nil {
		return err
	}
	if from < first || from > last+1 {
		return fmt.Errorf("%w: replay from %d, log holds [%d, %d]", ErrOutOfRange, from, first, last)
	}
	for i := max(from, first); i <= last; i++ {
		payload, err := l.read(i)
		if err != nil {
			return err
		}
		if err := fn(i, payload); err != nil {
			return err
		}
	}
	return nil
}

func (l *Log) read(index uint64) ([]byte, error) {
	data, err := l.tl.Read(index)
	if errors.Is(err, twal.ErrNotFound) || (err != nil && index < l.first.Load()) { // cut while we read
		return nil, fmt.Errorf("%w: index %d truncated during replay", ErrOutOfRange, index)
	}
	if err == nil {
		data, err = DecodeFrame(data)
	}
	if err != nil {
		if l.closed.Load() {
			return nil, ErrClosed
		}
		return nil, fmt.Errorf("%w: %s (index %d): %w", ErrCorrupt, l.where(index), index, err)
	}
	return data, nil
}

// where describes the file and byte offset of index for error messages.
func (l *Log) where(index uint64) string {
	path, off, note, err := locate(l.dir, index)
	switch {
	case err != nil:
		return fmt.Sprintf("%s offset %d? (locating failed: %v)", path, off, err)
	case note != "":
		return fmt.Sprintf("%s offset %d; %s", path, off, note)
	}
	return fmt.Sprintf("%s offset %d", path, off)
}

// TruncateFront removes entries before index, so index becomes the first
// entry. It is a no-op if index <= FirstIndex or the log is empty; an index
// beyond LastIndex is clamped to LastIndex (tidwall never empties the log
// here). A failure may leave the log unusable until it is reopened.
func (l *Log) TruncateFront(index uint64) error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	first, last, err := l.bounds()
	if err != nil {
		return err
	}
	if last < first || index <= first {
		return nil
	}
	index = min(index, last)
	if l.dropped.Load() {
		return fmt.Errorf("%w: TruncateFront(%d)", ErrDropped, index)
	}
	l.waitPrefill() // tidwall may rewrite the tail into a new file
	if err := l.tl.TruncateFront(index); err != nil {
		return fmt.Errorf("wal: truncate front to %d: %w", index, l.wrap(err))
	}
	if err := l.afterLayoutChange(); err != nil {
		return err
	}
	l.afterWrite(false, 0)
	return nil
}

// DropBefore makes the entries before index unreadable here (FirstIndex,
// Replay) and deletes the segment files that hold nothing else, oldest
// first, then fsyncs the directory. It never rewrites a segment: tidwall's
// TruncateFront copies the rest of the segment holding index into a new
// file and fsyncs it, which took 35–64 ms for a 64-MiB segment in a
// benchmark, with every Append waiting on the log's mutex. The price is
// that a reopened log starts at the first segment kept, up to a segment's
// worth of entries before index; they are whole and valid, just older than
// asked. index is clamped to LastIndex (the last entry is always kept). A
// Log that dropped files refuses TruncateFront (ErrDropped) until it is
// reopened, since tidwall still lists the deleted files.
//
// Only the lookup of the segments runs under the mutex Append takes; the
// deletions and the directory fsync do not hold up appends.
func (l *Log) DropBefore(index uint64) error {
	if l.closed.Load() {
		return ErrClosed
	}
	l.dropMu.Lock()
	defer l.dropMu.Unlock()
	l.mu.Lock()
	first, last, err := l.bounds()
	if err != nil || last < first || index <= first {
		l.mu.Unlock()
		return err
	}
	index = min(index, last)
	segs, err := listSegments(l.dir)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	l.first.Store(index)
	l.mu.Unlock()
	// A segment holds only entries before index when the one after it
	// starts at or before index. The tail is never deleted.
	removed := 0
	for i := 0; i+1 < len(segs); i++ {
		if segs[i].end || segs[i+1].index > index || strings.HasSuffix(segs[i+1].path, startSuffix) {
			break
		}
		if err := os.Remove(segs[i].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: drop segment %s: %w", segs[i].path, err)
		}
		l.dropped.Store(true)
		removed++
	}
	if removed > 0 && !l.opts.NoSync {
		return syncDir(l.dir)
	}
	return nil
}

// Sync fsyncs the tail segment. Append already does this unless NoSync.
func (l *Log) Sync() error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := l.tl.Sync(); err != nil {
		return l.wrap(err)
	}
	return nil
}

// Close syncs and closes the log. Closing twice returns ErrClosed.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return ErrClosed
	}
	l.stopPrefill()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.tl.Close(); err != nil {
		return fmt.Errorf("wal: close %s: %w", l.dir, err)
	}
	if l.pf.wrote && l.failed == nil {
		return trimZeros(l.dir) // a closed log's files hold entries only
	}
	return nil
}

// Dir returns the log directory.
func (l *Log) Dir() string { return l.dir }

// SnapshotDir is the conventional snapshot directory of a log directory.
func SnapshotDir(logDir string) string { return filepath.Join(logDir, "snapshots") }
