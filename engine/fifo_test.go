package engine

import (
	"strconv"
	"testing"
)

// TestFifoBlocks: across block edges, numbers stay put, at and span agree
// with a plain slice, popping frees whole blocks (and zeroes what it
// dropped), and pushing after a pop or into an emptied fifo continues the
// numbering.
func TestFifoBlocks(t *testing.T) {
	var f fifo
	var all []IdemKey
	key := func(i int) IdemKey { return IdemKey{Partner: "p", Reference: "r" + strconv.Itoa(i)} }
	n := 3*fifoBlock + 17
	for i := range n {
		f.push(key(i), IdemRecord{TimeMs: int64(i)})
		all = append(all, key(i))
	}
	check := func(head int) {
		t.Helper()
		if from, to := f.span(); from != uint64(head) || to != uint64(len(all)) {
			t.Fatalf("span [%d, %d), want [%d, %d)", from, to, head, len(all))
		}
		for _, i := range []int{head - 1, head, head + 1, fifoBlock - 1, fifoBlock, 2*fifoBlock + 5, len(all) - 1, len(all)} {
			sl, live := f.at(uint64(i))
			if want := i >= head && i < len(all); live != want || (live && (sl.key != all[i] || sl.rec.TimeMs != int64(i))) {
				t.Fatalf("at(%d) = %v %v, want live %v (head %d)", i, sl, live, want, head)
			}
		}
		got := f.appendLive(nil)
		if len(got) != len(all)-head || (len(got) > 0 && (got[0] != all[head] || got[len(got)-1] != all[len(all)-1])) {
			t.Fatalf("appendLive: %d keys, want %d from %d", len(got), len(all)-head, head)
		}
	}
	check(0)
	for range fifoBlock + 3 {
		f.pop()
	}
	check(fifoBlock + 3)
	if len(f.blocks) != 3 || f.base != fifoBlock {
		t.Fatalf("after popping a block and 3: %d blocks from %d, want 3 from %d", len(f.blocks), f.base, fifoBlock)
	}
	for range len(all) - (fifoBlock + 3) {
		f.pop()
	}
	check(len(all))
	if len(f.blocks) != 1 || f.blocks[0][len(f.blocks[0])-1] != (idemSlot{}) {
		t.Fatalf("emptied: %d blocks, last key %v, want the partly filled one, zeroed", len(f.blocks), f.blocks[0][len(f.blocks[0])-1])
	}
	for i := range fifoBlock {
		f.push(key(n+i), IdemRecord{TimeMs: int64(n + i)})
		all = append(all, key(n+i))
	}
	check(n)
}
