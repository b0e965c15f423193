package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

const (
	snapMagic       = "LDSNAP01"
	snapPrefix      = "snap-"
	snapSuffix      = ".snap"
	snapTempPattern = "snap-*.tmp"
	snapNameLen     = len(snapPrefix) + segmentDigits + len(snapSuffix)
	snapHeaderSize  = len(snapMagic) + 8 + 1 + 4 + 8 // magic, index, version, crc, length
)

// Snapshot is a validated snapshot file. Payload is owned by the caller.
type Snapshot struct {
	Index   uint64
	Payload []byte
	Path    string
}

// SnapshotInfo names a snapshot file; its content is not yet validated.
type SnapshotInfo struct {
	Index uint64
	Path  string
}

func snapshotName(index uint64) string {
	return snapPrefix + segmentName(index) + snapSuffix
}

func parseSnapshotName(name string) (uint64, bool) {
	if len(name) != snapNameLen || !strings.HasPrefix(name, snapPrefix) || !strings.HasSuffix(name, snapSuffix) {
		return 0, false
	}
	digits := name[len(snapPrefix) : len(snapPrefix)+segmentDigits]
	if strings.Trim(digits, "0123456789") != "" {
		return 0, false
	}
	index, err := strconv.ParseUint(digits, 10, 64)
	return index, err == nil
}

// encodeSnapshotHeader returns the 29-byte header described in the package doc.
func encodeSnapshotHeader(index uint64, payload []byte) []byte {
	return snapshotHeader(index, checksum(payload), len(payload))
}

// snapshotHeader is the header of a payload of size bytes with checksum crc.
func snapshotHeader(index uint64, crc uint32, size int) []byte {
	h := make([]byte, 0, snapHeaderSize)
	h = append(h, snapMagic...)
	h = binary.LittleEndian.AppendUint64(h, index)
	h = append(h, FormatVersion)
	h = binary.LittleEndian.AppendUint32(h, crc)
	return binary.LittleEndian.AppendUint64(h, uint64(size))
}

// decodeSnapshot validates a whole snapshot file image and returns its index
// and payload (aliasing data).
func decodeSnapshot(data []byte) (index uint64, payload []byte, err error) {
	if len(data) < snapHeaderSize {
		return 0, nil, fmt.Errorf("%w: %w: %d bytes, header needs %d", ErrCorrupt, ErrShortFrame, len(data), snapHeaderSize)
	}
	if string(data[:len(snapMagic)]) != snapMagic {
		return 0, nil, fmt.Errorf("%w: bad magic %q", ErrCorrupt, data[:len(snapMagic)])
	}
	index = binary.LittleEndian.Uint64(data[8:16])
	if data[16] != FormatVersion {
		return 0, nil, fmt.Errorf("%w: snapshot version %d", ErrBadVersion, data[16])
	}
	want := binary.LittleEndian.Uint32(data[17:21])
	size := binary.LittleEndian.Uint64(data[21:29])
	payload = data[snapHeaderSize:]
	if size != uint64(len(payload)) {
		return 0, nil, fmt.Errorf("%w: %w: header says %d payload bytes, file has %d", ErrCorrupt, ErrShortFrame, size, len(payload))
	}
	if got := checksum(payload); got != want {
		return 0, nil, fmt.Errorf("%w: snapshot got %08x, want %08x", ErrCRCMismatch, got, want)
	}
	return index, payload, nil
}

// WriteSnapshot atomically writes snap-<index>.snap into dir (created if
// missing): temp file, fsync, rename, fsync dir. An existing snapshot with
// the same index is replaced. Not to be run concurrently with PruneSnapshots
// on the same dir.
func WriteSnapshot(dir string, index uint64, payload []byte) error {
	return WriteSnapshotChunks(dir, index, [][]byte{payload})
}

// WriteSnapshotChunks is WriteSnapshot of the concatenation of chunks,
// written one chunk at a time: the payload is never one block in memory.
func WriteSnapshotChunks(dir string, index uint64, chunks [][]byte) error {
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		return fmt.Errorf("wal: create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, snapTempPattern)
	if err != nil {
		return fmt.Errorf("wal: snapshot temp: %w", err)
	}
	tmp := f.Name()
	if err := writeSnapshotChunks(f, index, chunks); err != nil {
		os.Remove(tmp)
		return err
	}
	final := filepath.Join(dir, snapshotName(index))
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("wal: rename snapshot: %w", err)
	}
	return syncDir(dir)
}

func writeSnapshotChunks(f *os.File, index uint64, chunks [][]byte) error {
	if err := f.Chmod(filePerm); err != nil {
		f.Close()
		return fmt.Errorf("wal: chmod %s: %w", f.Name(), err)
	}
	var crc uint32
	size := 0
	for _, c := range chunks {
		crc = crc32.Update(crc, castagnoli, c)
		size += len(c)
	}
	wb := newWriteback(f)
	for _, b := range append([][]byte{snapshotHeader(index, crc, size)}, chunks...) {
		if _, err := f.Write(b); err != nil {
			f.Close()
			return fmt.Errorf("wal: write %s: %w", f.Name(), err)
		}
		wb.wrote(len(b))
	}
	return syncClose(f)
}

// ReadSnapshot reads and validates one snapshot file: name, magic, version,
// length, index in header vs name (ErrCorrupt) and CRC (ErrCRCMismatch).
func ReadSnapshot(path string) (Snapshot, error) {
	nameIndex, ok := parseSnapshotName(filepath.Base(path))
	if !ok {
		return Snapshot{}, fmt.Errorf("%w: %s: not a snapshot file name", ErrCorrupt, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Snapshot{}, fmt.Errorf("wal: read snapshot: %w", err)
	}
	index, payload, err := decodeSnapshot(data)
	if err != nil {
		return Snapshot{}, fmt.Errorf("%s: %w", path, err)
	}
	if index != nameIndex {
		return Snapshot{}, fmt.Errorf("%w: %s: header index %d, name index %d", ErrCorrupt, path, index, nameIndex)
	}
	return Snapshot{Index: index, Payload: payload, Path: path}, nil
}

// NewestSnapshots lists the snapshot files in dir, newest (highest index)
// first. A missing dir yields an empty list.
func NewestSnapshots(dir string) ([]SnapshotInfo, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("wal: list snapshots: %w", err)
	}
	var infos []SnapshotInfo
	for _, e := range ents {
		if index, ok := parseSnapshotName(e.Name()); ok && e.Type().IsRegular() {
			infos = append(infos, SnapshotInfo{Index: index, Path: filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Index > infos[j].Index })
	return infos, nil
}

// LoadNewestSnapshot returns the newest snapshot in dir that validates,
// logging (Warn) each newer one that does not. No snapshot files at all is
// ErrNoSnapshot; files that are all invalid is an error wrapping ErrCorrupt
// and every failure, so the caller never mistakes it for a fresh start.
func LoadNewestSnapshot(dir string, logger *slog.Logger) (Snapshot, error) {
	if logger == nil {
		logger = slog.Default()
	}
	infos, err := NewestSnapshots(dir)
	if err != nil {
		return Snapshot{}, err
	}
	if len(infos) == 0 {
		return Snapshot{}, fmt.Errorf("%w in %s", ErrNoSnapshot, dir)
	}
	var errs []error
	for _, info := range infos {
		snap, err := ReadSnapshot(info.Path)
		if err == nil {
			return snap, nil
		}
		logger.Warn("wal: skipping bad snapshot", "file", info.Path, "index", info.Index, "err", err.Error())
		errs = append(errs, err)
	}
	return Snapshot{}, fmt.Errorf("%w: all %d snapshots in %s are invalid: %w", ErrCorrupt, len(infos), dir, errors.Join(errs...))
}

// PruneSnapshots deletes all but the newest keep (>= 1) snapshot files in dir
// and any stale snap-*.tmp temp files, then fsyncs dir. Not to be run
// concurrently with WriteSnapshot on the same dir.
func PruneSnapshots(dir string, keep int) error {
	return PruneSnapshotsExcept(dir, keep, nil)
}

// PruneSnapshotsExcept is PruneSnapshots sparing every snapshot file for
// which spare (if not nil) returns true: the caller's way to keep a file
// whose payload it cannot judge. A spared file still counts as one of the
// older ones, never as one of the keep newest.
func PruneSnapshotsExcept(dir string, keep int, spare func(SnapshotInfo) bool) error {
	if keep < 1 {
		return fmt.Errorf("wal: prune snapshots: keep must be >= 1, got %d", keep)
	}
	infos, err := NewestSnapshots(dir)
	if err != nil || infos == nil && !dirExists(dir) {
		return err
	}
	var victims []string
	for _, info := range infos[min(keep, len(infos)):] {
		if spare == nil || !spare(info) {
			victims = append(victims, info.Path)
		}
	}
	temps, err := filepath.Glob(filepath.Join(dir, snapTempPattern))
	if err != nil {
		return fmt.Errorf("wal: prune snapshots: %w", err)
	}
	return removeAll(dir, append(victims, temps...))
}

func removeAll(dir string, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("wal: prune snapshots: %w", err)
		}
	}
	return syncDir(dir)
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
