package wal

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 4096, 1 << 16} {
		p := bytes.Repeat([]byte{byte(n)}, n)
		f := AppendFrame([]byte("prefix"), p)
		got, err := DecodeFrame(f[len("prefix"):])
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, p) {
			t.Fatalf("n=%d: payload mismatch", n)
		}
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	good := AppendFrame(nil, []byte("hello"))
	flip := func(i int) []byte { b := bytes.Clone(good); b[i] ^= 0x10; return b }
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrShortFrame},
		{"short", good[:4], ErrShortFrame},
		{"version", flip(0), ErrBadVersion},
		{"crc", flip(2), ErrCRCMismatch},
		{"payload", flip(6), ErrCRCMismatch},
		{"too large", AppendFrame(nil, make([]byte, MaxPayload+1)), ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := DecodeFrame(c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writeFile(t, path, got)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s changed:\n got %x\nwant %x", name, got, want)
	}
}

func TestFrameGolden(t *testing.T) {
	frame := AppendFrame(nil, []byte("ledgerd wal frame v1"))
	checkGolden(t, "frame_v1.golden", frame)
	if p, err := DecodeFrame(readFile(t, filepath.Join("testdata", "frame_v1.golden"))); err != nil || string(p) != "ledgerd wal frame v1" {
		t.Fatalf("golden decode: %q, %v", p, err)
	}
}
