package bench

import "testing"

func TestRunRecovery(t *testing.T) {
	for _, at := range []float64{0, 0.5} {
		res, err := RunRecovery(RecoveryConfig{Dir: t.TempDir(), Events: 20_000, Users: 500, Batch: 256, SnapshotAt: at})
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(20_000 + 501)
		if at > 0 {
			want = 10_000 // the snapshot covers the rest
		}
		if res.Replayed < want-256 || res.Replayed > want+256 {
			t.Errorf("snapshot at %.1f: replayed %d events, want about %d", at, res.Replayed, want)
		}
	}
}
