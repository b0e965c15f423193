package engine

import (
	"bytes"
	"sync/atomic"
	"testing"
	"time"
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

// TestChunkBufPace: a pacing chunkBuf sleeps once per paceEvery bytes,
// each time about as long as the encoding since the sleep before, keeps
// doing so after reset and take, and holds the same bytes as one that
// does not pace.
func TestChunkBufPace(t *testing.T) {
	var slept []time.Duration
	record := func(d time.Duration) { slept = append(slept, d) }
	paced := chunkBuf{yield: true, pace: &pacer{sleep: record}}
	var plain chunkBuf
	p := bytes.Repeat([]byte("0123456789abcdef"), 256) // 4 KiB
	const total = 4 << 20
	for range total / len(p) {
		paced.Write(p)
		plain.Write(p)
	}
	if !bytes.Equal(paced.Bytes(), plain.Bytes()) {
		t.Fatal("a paced buffer holds other bytes")
	}
	if want := total/paceEvery - 1; len(slept) < want-1 || len(slept) > want+1 {
		t.Fatalf("%d sleeps for %d bytes, want about %d (one per %d bytes after the first)", len(slept), total, want, paceEvery)
	}
	for i, d := range slept {
		if d <= 0 {
			t.Fatalf("sleep %d: %v", i, d)
		}
	}
	slept = nil
	paced.reset()
	for range paceEvery * 4 / len(p) {
		paced.Write(p)
	}
	var o chunkBuf
	paced.take(&o)
	if len(slept) < 3 {
		t.Fatalf("%d sleeps after reset, want 3 or more", len(slept))
	}
	emptied := chunkBuf{yield: true, pace: &pacer{sleep: record}}
	emptied.Write(p)
	paced.take(&emptied)
	if emptied.pace == nil || emptied.pace.sleep == nil || !emptied.yield {
		t.Fatal("take dropped the buffer's pacing")
	}

	// Hurry (a stop under way): no more sleeps, the same bytes.
	var hurry atomic.Bool
	hurried := chunkBuf{yield: true, pace: &pacer{sleep: record, hurry: &hurry}}
	slept = nil
	for range paceEvery * 4 / len(p) {
		hurried.Write(p)
	}
	before := len(slept)
	hurry.Store(true)
	for range paceEvery * 8 / len(p) {
		hurried.Write(p)
	}
	if before < 3 || len(slept) != before {
		t.Fatalf("%d sleeps before the hurry, %d after it: want 3 or more, then none", before, len(slept)-before)
	}
	if hurried.Len() != paceEvery*12 {
		t.Fatalf("%d bytes, want %d", hurried.Len(), paceEvery*12)
	}
}
