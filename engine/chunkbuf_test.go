package engine

import (
	"bytes"
	"testing"
)

// TestChunkBuf: mixed writes across chunk edges keep every byte in order,
// no chunk exceeds chunkSize, take moves chunks without copying, and reset
// keeps only an unshared chunk.
func TestChunkBuf(t *testing.T) {
	var b, o chunkBuf
	var want bytes.Buffer
	for i := range 3000 {
		p := bytes.Repeat([]byte{byte(i)}, i*i%2500)
		b.Write(p)
		want.Write(p)
		b.WriteByte(byte(i >> 3))
		want.WriteByte(byte(i >> 3))
	}
	if b.Len() != want.Len() || len(b.Chunks()) < 3 {
		t.Fatalf("%d bytes in %d chunks, want %d bytes over several chunks", b.Len(), len(b.Chunks()), want.Len())
	}
	for i, c := range b.Chunks() {
		if len(c) > chunkSize {
			t.Fatalf("chunk %d: %d bytes", i, len(c))
		}
	}
	if !bytes.Equal(b.Bytes(), want.Bytes()) {
		t.Fatal("bytes differ")
	}
	o.Write([]byte("tail"))
	first := &o.Chunks()[0][0]
	b.take(&o)
	want.WriteString("tail")
	cs := b.Chunks()
	if &cs[len(cs)-1][0] != first || o.Len() != 0 || !bytes.Equal(b.Bytes(), want.Bytes()) {
		t.Fatal("take copied the chunk, or lost or reordered bytes")
	}
	var s chunkBuf
	s.Write([]byte("abc"))
	kept := &s.cur[0]
	s.reset()
	s.Write([]byte("xy"))
	if &s.cur[0] != kept || string(s.Bytes()) != "xy" || s.Len() != 2 {
		t.Fatalf("reset: %q, reused %v", s.Bytes(), &s.cur[0] == kept)
	}
}
