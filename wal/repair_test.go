package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tailEntries is how many entries buildLog puts in the last segment.
const tailEntries = 8

// buildLog writes n entries over several segments, the last tailEntries of
// them into the last segment, and returns the dir.
func buildLog(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	l, _ := openTest(t, dir, 2048)
	appendN(t, l, n-tailEntries, 4)
	mustClose(t, l)
	l, _ = openTest(t, dir, 1<<20) // no cycling: the tail segment keeps growing
	appendN(t, l, tailEntries, 3)
	mustClose(t, l)
	return dir
}

// checkRepaired opens a damaged dir and checks the repair contract.
func checkRepaired(t *testing.T, dir string, wantLast uint64, damaged []byte) {
	t.Helper()
	tail := tailPath(t, dir)
	l, logs := openTest(t, dir, 2048)
	if got := l.LastIndex(); got != wantLast {
		t.Fatalf("LastIndex %d, want %d", got, wantLast)
	}
	if !bytes.Equal(readFile(t, tail+brokenSuffix), damaged) {
		t.Fatal(".broken copy differs from the damaged file")
	}
	if out := logs.String(); !strings.Contains(out, "torn tail repaired") || !strings.Contains(out, filepath.Base(tail)) {
		t.Fatalf("missing repair log line: %q", out)
	}
	checkReplay(t, l, l.FirstIndex(), wantLast)
	appendN(t, l, 3, 2)
	mustClose(t, l)
	l, logs = openTest(t, dir, 2048)
	defer mustClose(t, l)
	checkReplay(t, l, l.FirstIndex(), wantLast+3)
	if logs.String() != "" {
		t.Fatalf("second open logged: %q", logs.String())
	}
}

func TestTornTailEveryOffset(t *testing.T) {
	const n = 40
	tmpl := buildLog(t, n)
	buf := readFile(t, tailPath(t, tmpl))
	offs := entryOffsets(t, buf)
	entries := len(offs) - 1
	if entries < 4 {
		t.Fatalf("tail segment holds only %d entries", entries)
	}
	firstInTail := uint64(n - entries + 1)
	for k := entries - 3; k < entries; k++ {
		for cut := offs[k]; cut < offs[k+1]; cut++ {
			t.Run(strconv.Itoa(cut), func(t *testing.T) {
				dir := copyDir(t, tmpl)
				damaged := buf[:cut]
				writeFile(t, tailPath(t, dir), damaged)
				intact := firstInTail + uint64(k) - 1
				if cut == offs[k] { // clean cut at an entry boundary: nothing to repair
					l, logs := openTest(t, dir, 2048)
					defer mustClose(t, l)
					if l.LastIndex() != intact || logs.String() != "" {
						t.Fatalf("boundary cut: last %d logs %q", l.LastIndex(), logs.String())
					}
					return
				}
				checkRepaired(t, dir, intact, damaged)
			})
		}
	}
}

// checkTrimmed opens a dir whose tail segment ends in zeros and checks that
// they were cut without a backup or a warning (they are prefilled space or
// writes that never reached the disk) and that the log goes on.
func checkTrimmed(t *testing.T, dir string, wantLast uint64, good int) {
	t.Helper()
	tail := tailPath(t, dir)
	l, logs := openTest(t, dir, 2048)
	if got := l.LastIndex(); got != wantLast {
		t.Fatalf("LastIndex %d, want %d", got, wantLast)
	}
	if fi, err := os.Stat(tail); err != nil || fi.Size() != int64(good) {
		t.Fatalf("tail not cut to %d bytes: %v %v", good, fi, err)
	}
	if _, err := os.Stat(tail + brokenSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("zeros were backed up: %v", err)
	}
	if logs.String() != "" {
		t.Fatalf("trimming zeros logged: %q", logs.String())
	}
	checkReplay(t, l, l.FirstIndex(), wantLast)
	appendN(t, l, 3, 2)
	mustClose(t, l)
	l, _ = openTest(t, dir, 2048)
	defer mustClose(t, l)
	checkReplay(t, l, l.FirstIndex(), wantLast+3)
}

func TestZeroFilledTail(t *testing.T) {
	const n = 40
	t.Run("zeros appended", func(t *testing.T) {
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		intact := readFile(t, tail)
		writeFile(t, tail, append(intact, make([]byte, 4096)...))
		checkTrimmed(t, dir, n, len(intact))
	})
	t.Run("last entry zeroed", func(t *testing.T) {
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		damaged := readFile(t, tail)
		offs := entryOffsets(t, damaged)
		clear(damaged[offs[len(offs)-2]:])
		writeFile(t, tail, damaged)
		checkTrimmed(t, dir, n-1, offs[len(offs)-2])
	})
	t.Run("whole tail segment zeroed", func(t *testing.T) {
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		writeFile(t, tail, make([]byte, len(readFile(t, tail))))
		first, _ := strconv.ParseUint(filepath.Base(tail), 10, 64)
		checkTrimmed(t, dir, first-1, 0)
	})
	t.Run("torn entry then zeros", func(t *testing.T) { // a partial write over prefilled space
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		damaged := readFile(t, tail)
		offs := entryOffsets(t, damaged)
		clear(damaged[offs[len(offs)-2]+3:])
		writeFile(t, tail, damaged)
		checkRepaired(t, dir, n-1, damaged)
	})
	t.Run("garbage appended", func(t *testing.T) {
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		damaged := append(readFile(t, tail), bytes.Repeat([]byte{0xff, 0x13, 0x80}, 700)...)
		writeFile(t, tail, damaged)
		checkRepaired(t, dir, n, damaged)
	})
}

// TestCrashAfterCycle: tidwall created the next segment but wrote nothing.
func TestCrashAfterCycle(t *testing.T) {
	const n = 40
	dir := buildLog(t, n)
	writeFile(t, filepath.Join(dir, segmentName(n+1)), nil)
	l, logs := openTest(t, dir, 2048)
	if l.LastIndex() != n || logs.String() != "" {
		t.Fatalf("last %d logs %q", l.LastIndex(), logs.String())
	}
	appendN(t, l, 2, 1)
	mustClose(t, l)
	l, _ = openTest(t, dir, 2048)
	defer mustClose(t, l)
	checkReplay(t, l, 1, n+2)
}

// TestRepairEmptiesTruncatedLog: the only segment (after TruncateFront)
// loses its only entry; tidwall would refuse with ErrEmptyLog without
// AllowEmpty.
func TestRepairEmptiesTruncatedLog(t *testing.T) {
	dir := t.TempDir()
	l, _ := openTest(t, dir, 2048)
	appendN(t, l, 30, 5)
	if err := l.TruncateFront(30); err != nil {
		t.Fatal(err)
	}
	mustClose(t, l)
	tail := tailPath(t, dir)
	damaged := readFile(t, tail)
	damaged = damaged[:len(damaged)-1]
	writeFile(t, tail, damaged)

	l, _ = openTest(t, dir, 2048)
	if l.FirstIndex() != 0 || l.LastIndex() != 0 || l.NextIndex() != 30 {
		t.Fatalf("first %d last %d next %d", l.FirstIndex(), l.LastIndex(), l.NextIndex())
	}
	if err := l.Replay(30, nil); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 3, 3)
	mustClose(t, l)
	l, _ = openTest(t, dir, 2048)
	defer mustClose(t, l)
	checkReplay(t, l, 30, 32)
}

func TestMidLogCorruptionInTail(t *testing.T) {
	const n = 40
	for _, where := range []string{"payload", "length"} {
		t.Run(where, func(t *testing.T) {
			dir := buildLog(t, n)
			tail := tailPath(t, dir)
			orig := readFile(t, tail)
			offs := entryOffsets(t, orig)
			k := len(offs) / 2
			bad := bytes.Clone(orig)
			pos := offs[k] + 8 // inside the payload
			if where == "length" {
				pos = offs[k]
			}
			bad[pos] ^= 0x04
			writeFile(t, tail, bad)
			_, err := Open(dir, Options{NoSync: true, SegmentSize: 2048})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			t.Log(err)
			if msg := err.Error(); !strings.Contains(msg, tail) || !strings.Contains(msg, "offset "+strconv.Itoa(offs[k])) {
				t.Fatalf("message lacks file/offset %d: %s", offs[k], msg)
			}
			if !bytes.Equal(readFile(t, tail), bad) {
				t.Fatal("corrupt segment was modified")
			}
			if _, err := os.Stat(tail + brokenSuffix); !os.IsNotExist(err) {
				t.Fatalf(".broken should not exist: %v", err)
			}
		})
	}
}

func TestMidLogCorruptionInEarlierSegment(t *testing.T) {
	const n = 40
	dir := buildLog(t, n)
	segs, _ := listSegments(dir)
	first := segs[0].path
	orig := readFile(t, first)
	offs := entryOffsets(t, orig)
	bad := bytes.Clone(orig)
	bad[offs[2]+7] ^= 0x01 // entry index 3
	writeFile(t, first, bad)

	l, _ := openTest(t, dir, 2048)
	defer mustClose(t, l)
	var seen []uint64
	err := l.Replay(1, func(i uint64, _ []byte) error { seen = append(seen, i); return nil })
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, ErrCRCMismatch) {
		t.Fatalf("Replay: %v", err)
	}
	t.Log(err)
	msg := err.Error()
	for _, want := range []string{first, "offset " + strconv.Itoa(offs[2]), "index 3"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message lacks %q: %s", want, msg)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("callbacks before the bad entry: %v", seen)
	}
	if !bytes.Equal(readFile(t, first), bad) {
		t.Fatal("segment was modified")
	}
}

// TestIgnoresForeignFiles: .broken copies, snapshot dirs and unrelated
// names must not confuse repair or tidwall.
func TestIgnoresForeignFiles(t *testing.T) {
	const n = 20
	dir := buildLog(t, n)
	tail := tailPath(t, dir)
	writeFile(t, tail+brokenSuffix, []byte("old broken copy"))
	writeFile(t, filepath.Join(dir, "README"), []byte("x"))
	if err := WriteSnapshot(SnapshotDir(dir), 7, []byte("s")); err != nil {
		t.Fatal(err)
	}
	l, logs := openTest(t, dir, 2048)
	defer mustClose(t, l)
	if l.LastIndex() != n || logs.String() != "" {
		t.Fatalf("last %d logs %q", l.LastIndex(), logs.String())
	}
}

// TestStartFileTail: a crash inside tidwall's TruncateFront left a .START
// file as the last name; repair must look at it and tidwall must finish
// the truncation.
func TestStartFileTail(t *testing.T) {
	const n = 40
	dir := buildLog(t, n)
	tail := tailPath(t, dir)
	first, _ := strconv.ParseUint(filepath.Base(tail), 10, 64)
	buf := readFile(t, tail)
	offs := entryOffsets(t, buf)
	start := filepath.Join(dir, segmentName(first+1)+startSuffix)
	writeFile(t, start, buf[offs[1]:len(buf)-1]) // also torn
	l, logs := openTest(t, dir, 2048)
	defer mustClose(t, l)
	if l.FirstIndex() != first+1 || l.LastIndex() != n-1 {
		t.Fatalf("first %d last %d, want %d %d", l.FirstIndex(), l.LastIndex(), first+1, n-1)
	}
	if !strings.Contains(logs.String(), "torn tail repaired") {
		t.Fatalf("no repair logged: %q", logs.String())
	}
	t.Log(logs.String())
	checkReplay(t, l, first+1, n-1)
}

// TestTornEarlierSegment: a non-last segment cut short is not repaired by
// Open (only the tail is); Replay reports it as corruption.
func TestTornEarlierSegment(t *testing.T) {
	dir := buildLog(t, 40)
	segs, _ := listSegments(dir)
	first := segs[0].path
	buf := readFile(t, first)
	writeFile(t, first, buf[:len(buf)-3])
	l, _ := openTest(t, dir, 2048)
	defer mustClose(t, l)
	err := l.Replay(1, func(uint64, []byte) error { return nil })
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), first) {
		t.Fatalf("Replay: %v", err)
	}
	t.Log(err)
}

// TestNewerVersionStopsOpen: a whole entry of a frame version this
// ledgerd does not know, whose CRC holds, at the tail, is what a newer
// ledgerd wrote, not a torn write: Open refuses with ErrBadVersion and
// changes nothing, with or without the prefill's zeros after it and
// entries of that version after it. One whose CRC fails (garbage) and a
// torn entry whose bytes are zeros are still cut as before.
func TestNewerVersionStopsOpen(t *testing.T) {
	const n = 40
	newer := func(payload string) []byte { // [uvarint len][version 2][crc][payload]
		frame := AppendFrame(nil, []byte(payload))
		frame[0] = FormatVersion + 1
		return append(binary.AppendUvarint(nil, uint64(len(frame))), frame...)
	}
	for name, tailBytes := range map[string][]byte{
		"one":          newer("from a newer ledgerd"),
		"two":          append(newer("first"), newer("second")...),
		"then zeros":   append(newer("from a newer ledgerd"), make([]byte, 4096)...),
		"then a torn":  append(newer("whole"), newer("cut short")[:6]...),
		"then garbage": append(newer("x"), 0xff, 0xff),
	} {
		t.Run(name, func(t *testing.T) {
			dir := buildLog(t, n)
			tail := tailPath(t, dir)
			bad := append(readFile(t, tail), tailBytes...)
			writeFile(t, tail, bad)
			_, err := Open(dir, Options{NoSync: true, SegmentSize: 2048, NoPrefill: true})
			if !errors.Is(err, ErrBadVersion) {
				t.Fatalf("Open: %v, want ErrBadVersion", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tail) || !strings.Contains(msg, "frame version 2") {
				t.Fatalf("message lacks the file or the version: %s", msg)
			}
			if !bytes.Equal(readFile(t, tail), bad) {
				t.Fatal("the segment was changed")
			}
			if _, err := os.Stat(tail + brokenSuffix); !os.IsNotExist(err) {
				t.Fatalf(".broken should not exist: %v", err)
			}
		})
	}
	t.Run("a newer version whose CRC fails", func(t *testing.T) { // garbage after a crash: cut, as before
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		entry := newer("not what a newer ledgerd wrote")
		entry[len(entry)-1] ^= 0x10
		bad := append(readFile(t, tail), entry...)
		writeFile(t, tail, bad)
		checkRepaired(t, dir, n, bad)
	})
	t.Run("zeros after a whole length", func(t *testing.T) {
		dir := buildLog(t, n)
		tail := tailPath(t, dir)
		orig := readFile(t, tail)
		bad := append(binary.AppendUvarint(bytes.Clone(orig), 24), make([]byte, 24)...) // the length reached the disk, the frame did not
		writeFile(t, tail, bad)
		checkRepaired(t, dir, n, bad)
	})
}
