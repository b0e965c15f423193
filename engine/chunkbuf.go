package engine

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"time"
)

// chunkSize is the size of one chunkBuf chunk.
const chunkSize = 1 << 20

// chunkBuf is an append-only byte buffer kept as a list of chunks of at
// most chunkSize bytes: a snapshot of tens of MiB is encoded without ever
// allocating, zeroing or copying one block that size. Each of those is a
// single memclr or memmove the scheduler cannot preempt; in an execution
// trace, growing a bytes.Buffer held a P for 45–57 ms while the GC held the
// other, and every request waited for it.
type chunkBuf struct {
	chunks [][]byte // full chunks
	cur    []byte   // the chunk being filled (len <= cap = chunkSize)
	n      int      // total bytes
	// yield: give up the P (runtime.Gosched) every yieldEvery bytes, so a
	// background encoding runs in short slices instead of the 10-20 ms the
	// scheduler's preemption allows it; in traces those slices were the
	// longest runs left while requests waited for a P. It yielded at every
	// 1-MiB chunk until 2026-12-03; traces of payshards-deduct then still
	// showed slices of 3-9 ms, and requests waiting 5-27 ms for a P only
	// while a snapshot was copied and encoded.
	yield     bool
	nextYield int    // b.n at which to yield next
	pace      *pacer // with yield: sleep instead, now and then (nil: never)
}

// pacer makes an encoding, across every buffer it writes, sleep every
// paceEvery bytes as long as it worked since its last sleep, so a snapshot
// encoded beside the requests holds at most about half a core
// (EncodeChunksPaced).
type pacer struct {
	last  time.Time           // the last sleep's end (zero: none yet)
	bytes int                 // encoded since then
	sleep func(time.Duration) // time.Sleep when nil (tests record it)
	hurry *atomic.Bool        // when set, pace no more (Capture.Hurry)
}

// pause is a yield point after n more bytes.
func (p *pacer) pause(n int) {
	switch {
	case p.hurry != nil && p.hurry.Load():
		runtime.Gosched()
	case p.last.IsZero():
		p.last = time.Now()
	case p.bytes+n < paceEvery:
		p.bytes += n
		runtime.Gosched()
	default:
		sleep := p.sleep
		if sleep == nil {
			sleep = time.Sleep
		}
		sleep(time.Since(p.last))
		p.last, p.bytes = time.Now(), 0
	}
}

// yieldEvery is how many bytes a yielding chunkBuf takes between two
// runtime.Gosched calls (~0.2-0.5 ms of encoding).
const yieldEvery = 64 << 10

// paceEvery is how many bytes a pacing chunkBuf encodes between two sleeps
// (~1-2 ms of encoding: a sleep much shorter than the timer's granularity
// would last far longer than asked).
const paceEvery = 256 << 10

func (b *chunkBuf) room() {
	if b.yield && b.n >= b.nextYield {
		b.nextYield = b.n + yieldEvery
		if b.pace != nil {
			b.pace.pause(yieldEvery)
		} else {
			runtime.Gosched()
		}
	}
	if len(b.cur) == cap(b.cur) {
		if b.cur != nil {
			b.chunks = append(b.chunks, b.cur)
		}
		b.cur = make([]byte, 0, chunkSize)
	}
}

// Write appends p; it never fails.
func (b *chunkBuf) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b.room()
		k := copy(b.cur[len(b.cur):cap(b.cur)], p)
		b.cur, p = b.cur[:len(b.cur)+k], p[k:]
	}
	b.n += n
	return n, nil
}

// WriteByte appends c (msgpack's encoder writes single bytes directly to a
// writer that has it).
func (b *chunkBuf) WriteByte(c byte) error {
	b.room()
	b.cur = append(b.cur, c)
	b.n++
	return nil
}

// Len is the number of bytes written.
func (b *chunkBuf) Len() int { return b.n }

// Chunks returns the bytes in order; b must not be written to afterwards.
func (b *chunkBuf) Chunks() [][]byte {
	if len(b.cur) == 0 {
		return b.chunks
	}
	return append(b.chunks, b.cur)
}

// Bytes returns the bytes as one slice: the chunk itself when there is
// only one, otherwise a joined copy (for small buffers and tests).
func (b *chunkBuf) Bytes() []byte {
	cs := b.Chunks()
	if len(cs) == 1 {
		return cs[0]
	}
	return bytes.Join(cs, nil)
}

// reset empties b, keeping its current chunk for reuse unless the bytes
// were handed on (Chunks of a buffer with more than one chunk).
func (b *chunkBuf) reset() {
	if len(b.chunks) > 0 {
		*b = chunkBuf{yield: b.yield, pace: b.pace}
		return
	}
	b.cur, b.n, b.nextYield = b.cur[:0], 0, 0
}

// take appends o's chunks to b without copying their bytes (the partly
// filled chunk of b is closed first) and empties o.
func (b *chunkBuf) take(o *chunkBuf) {
	if len(b.cur) > 0 {
		b.chunks = append(b.chunks, b.cur)
	}
	b.chunks = append(b.chunks, o.Chunks()...)
	b.cur = nil
	b.n += o.n
	*o = chunkBuf{yield: o.yield, pace: o.pace}
}
