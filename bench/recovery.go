package bench

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// RecoveryConfig sets up a recovery measurement.
type RecoveryConfig struct {
	Dir        string  // where the data dir is built; a temp dir when empty
	Events     int     // events in the log
	Users      int     // wallets they touch
	Batch      int     // events per WAL entry, as the committer would write them
	SnapshotAt float64 // fraction of the log covered by a snapshot (0: none)
}

// RecoveryResult is what a cold start cost.
type RecoveryResult struct {
	Events       int           `json:"events"`
	WALBytes     int64         `json:"wal_bytes"`
	Build        time.Duration `json:"build_ns"`
	Recover      time.Duration `json:"recover_ns"`
	Replayed     uint64        `json:"replayed_events"`
	EventsPerSec float64       `json:"replayed_events_per_sec"`
}

// RunRecovery builds a WAL of cfg.Events deducts (after one credit per
// user), optionally snapshots part of it, then times actors.Recover on it:
// the same code path as a start-up after a crash.
func RunRecovery(cfg RecoveryConfig) (RecoveryResult, error) {
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "ledgerbench-recovery-")
		if err != nil {
			return RecoveryResult{}, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	start := time.Now()
	if err := buildLog(dir, cfg); err != nil {
		return RecoveryResult{}, err
	}
	res := RecoveryResult{Events: cfg.Events, Build: time.Since(start), WALBytes: dirSize(filepath.Join(dir, "wal"))}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	start = time.Now()
	state, l, replayed, err := actors.Recover(dir, true, quiet)
	if err != nil {
		return res, err
	}
	res.Recover, res.Replayed = time.Since(start), replayed
	res.EventsPerSec = float64(replayed) / res.Recover.Seconds()
	if got := int(state.Events); got != cfg.Events+cfg.Users+1 {
		return res, fmt.Errorf("recovered %d events, built %d", got, cfg.Events+cfg.Users+1)
	}
	return res, l.Close()
}

// buildLog writes a partner, a credit per user and deducts in batches,
// applying them to a State as it goes so every event is one the engine
// accepts, and snapshots the state at cfg.SnapshotAt.
func buildLog(dir string, cfg RecoveryConfig) error {
	l, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{NoSync: true})
	if err != nil {
		return err
	}
	defer l.Close()
	state := engine.NewState()
	enc := engine.NewEncoder()
	batch := make([]engine.Event, 0, cfg.Batch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		payload, err := enc.EncodeBatch(batch)
		if err == nil {
			state.Index, err = l.Append(payload)
		}
		batch = batch[:0]
		return err
	}
	add := func(ev engine.Event) error {
		state.Apply(ev)
		batch = append(batch, ev)
		if len(batch) == cfg.Batch {
			return flush()
		}
		return nil
	}
	hash := engine.HashKey([]byte("bench"))
	if err := add(&engine.PartnerCreated{Partner: "p", API: "payshards", Name: "bench", RateLimit: 1, Key: engine.NewKeyRecord{ID: "k", Hash: hash[:]}}); err != nil {
		return err
	}
	users := make([]string, cfg.Users)
	for u := range users {
		users[u] = "u" + strconv.Itoa(u)
		if err := add(&payshards.Credited{User: users[u], Reference: "c" + users[u], Amount: engine.MaxAmount, BalanceAfter: engine.MaxAmount}); err != nil {
			return err
		}
	}
	snapshotAt := int(float64(cfg.Events) * cfg.SnapshotAt)
	for i := range cfg.Events {
		if cfg.SnapshotAt > 0 && i == snapshotAt {
			if err := snapshot(dir, state, flush); err != nil {
				return err
			}
		}
		user := users[i%len(users)]
		ev := payshards.DecideDeduct(payshards.Wallets(state)[user], "p", user, "r"+strconv.Itoa(i), 1, int64(i))
		if err := add(ev); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	return l.Sync()
}

func snapshot(dir string, state *engine.State, flush func() error) error {
	if err := flush(); err != nil {
		return err
	}
	payload, err := state.EncodeSnapshot()
	if err != nil {
		return err
	}
	return wal.WriteSnapshot(filepath.Join(dir, "snapshots"), state.Index, payload)
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}
