package wal

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

const (
	// FormatVersion is the wire format version of frames and snapshots.
	// Never renumber it. Every frame version, this one and any later one,
	// starts with the same header: the version byte, then the CRC-32C (LE)
	// of every byte after the header; a new version may change only what
	// follows. So a ledgerd can tell a whole entry a newer one wrote (its
	// CRC holds) from a torn or garbage tail (newerEntry).
	FormatVersion = 1
	// MaxPayload is the largest payload a frame may carry.
	MaxPayload = 64 << 20

	frameHeaderSize = 1 + 4 // version + CRC-32C
	maxFrameSize    = frameHeaderSize + MaxPayload
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// AppendFrame appends the frame [version][crc32c(payload) LE][payload] to dst
// and returns the extended slice. It does not enforce MaxPayload; Log.Append
// does.
func AppendFrame(dst, payload []byte) []byte {
	dst = append(dst, FormatVersion)
	dst = binary.LittleEndian.AppendUint32(dst, checksum(payload))
	return append(dst, payload...)
}

// DecodeFrame validates a frame (length, version, size cap, CRC) and returns
// its payload, which aliases data.
func DecodeFrame(data []byte) (payload []byte, err error) {
	if len(data) < frameHeaderSize {
		return nil, fmt.Errorf("%w: %d bytes, need at least %d", ErrShortFrame, len(data), frameHeaderSize)
	}
	if data[0] != FormatVersion {
		return nil, fmt.Errorf("%w: %d", ErrBadVersion, data[0])
	}
	payload = data[frameHeaderSize:]
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(payload), MaxPayload)
	}
	want := binary.LittleEndian.Uint32(data[1:frameHeaderSize])
	if got := checksum(payload); got != want {
		return nil, fmt.Errorf("%w: got %08x, want %08x", ErrCRCMismatch, got, want)
	}
	return payload, nil
}

// frameOK is an allocation-free DecodeFrame for scanning.
func frameOK(data []byte) bool {
	return len(data) <= maxFrameSize && len(data) > 0 && data[0] == FormatVersion && crcHolds(data)
}

// crcHolds reports whether a frame of any version (FormatVersion: they all
// keep the header) has its header and a CRC-32C that matches what follows.
func crcHolds(data []byte) bool {
	return len(data) >= frameHeaderSize && checksum(data[frameHeaderSize:]) == binary.LittleEndian.Uint32(data[1:frameHeaderSize])
}
