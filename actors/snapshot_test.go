package actors

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// TestExpiryFinishesCopy: an expiry event reaching the committer while a
// snapshot is still copying records, one at a time here, first completes
// the copy (beforeApply), so the snapshot is the state of its index,
// including the records the expiry then removes.
func TestExpiryFinishesCopy(t *testing.T) {
	dir := t.TempDir()
	sn := &snapshotter{dir: filepath.Join(dir, "snapshots"), every: 1, fixed: true, copyStep: 1,
		done: make(chan snapResult, 1), logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "t"})}
	st := engine.NewState()
	for i := range 100 {
		st.Apply(&payshards.Credited{Stamp: engine.Stamp{TimeMs: int64(i)}, User: fmt.Sprint("u", i), Reference: fmt.Sprint("c", i),
			Amount: 1, BalanceAfter: 1})
	}
	st.Index = 7
	want, err := st.EncodeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	sn.maybeStart(st, 1) // copies one record, 99 to go
	if sn.copying == nil {
		t.Fatal("the copy finished in one step of one record")
	}
	expiry := &engine.ReferencesExpired{Stamp: engine.Stamp{TimeMs: 1000}, CutoffMs: 90} // forgets c0..c89
	sn.beforeApply(st, expiry)
	st.Apply(expiry)
	st.Index = 8
	for sn.copying != nil { // the committer's loop would step it
		sn.step(st, sn.copyStep)
	}
	if !sn.inflight {
		t.Fatal("the snapshot was abandoned: the expiry overtook its copy")
	}
	if res := <-sn.done; res.err != nil || res.index != 7 {
		t.Fatalf("snapshot: index %d, %v", res.index, res.err)
	}
	infos, err := wal.NewestSnapshots(sn.dir)
	if err != nil || len(infos) != 1 || infos[0].Index != 7 {
		t.Fatalf("snapshots on disk: %v, %v", infos, err)
	}
	snap, err := wal.ReadSnapshot(infos[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(snap.Payload, want) {
		t.Fatal("the snapshot is not the state of its index")
	}
}
