package wal

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func FuzzDecodeFrame(f *testing.F) {
	valid := AppendFrame(nil, []byte("payload"))
	f.Add(valid)
	f.Add(AppendFrame(nil, nil))
	f.Add([]byte{})
	f.Add(valid[:3])
	f.Add(valid[:len(valid)-1])
	f.Add(append([]byte{2}, valid[1:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		payload, err := DecodeFrame(data)
		if frameOK(data) != (err == nil) {
			t.Fatalf("frameOK disagrees with DecodeFrame (%v)", err)
		}
		if err != nil {
			return
		}
		if re := AppendFrame(nil, payload); !bytes.Equal(re, data) {
			t.Fatalf("re-encode differs: %x vs %x", re, data)
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	p := []byte("state")
	valid := append(encodeSnapshotHeader(3, p), p...)
	f.Add(valid)
	f.Add(valid[:snapHeaderSize])
	f.Add(valid[:7])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		index, payload, err := decodeSnapshot(data)
		if err != nil {
			return
		}
		if re := append(encodeSnapshotHeader(index, payload), payload...); !bytes.Equal(re, data) {
			t.Fatalf("re-encode differs")
		}
	})
}

// FuzzScanSegment checks the repair scanner on arbitrary segment bytes.
func FuzzScanSegment(f *testing.F) {
	seg := appendEntry(appendEntry(nil, AppendFrame(nil, []byte("a"))), AppendFrame(nil, []byte("bb")))
	f.Add(seg)
	f.Add(append(bytes.Clone(seg), 0, 0, 0))
	f.Add(seg[:len(seg)-2])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		good, count, err := scanEntries(data)
		if good > len(data) || (err == nil) != (good == len(data)) || count > len(data) {
			t.Fatalf("good %d count %d err %v len %d", good, count, err, len(data))
		}
		if off, ok := nextValidEntry(data, good+1); ok && (off <= good || !validEntryAt(data, off)) {
			t.Fatalf("nextValidEntry returned %d", off)
		}
	})
}

// appendEntry appends a tidwall binary entry (uvarint length + data).
func appendEntry(dst, data []byte) []byte {
	var tmp [10]byte
	n := binary.PutUvarint(tmp[:], uint64(len(data)))
	return append(append(dst, tmp[:n]...), data...)
}
