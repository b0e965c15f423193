package actors

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// ErrWALGap means the log no longer holds the entries the usable snapshot
// needs: nothing can rebuild the state safely.
var ErrWALGap = errors.New("actors: wal does not reach back to the snapshot")

// ErrUnknownFormat means the data dir holds a snapshot or WAL entry in a
// format this binary does not know (principle 8): start-up stops, and no
// file is moved, renamed or deleted. It wraps the engine's or the wal's
// own error, which names the version, section or event type.
var ErrUnknownFormat = errors.New("actors: data written in a format this binary does not know")

// unknownFormat reports whether err is about a format, not corruption: an
// unknown snapshot file version (wal) or payload format (engine).
func unknownFormat(err error) bool {
	return errors.Is(err, engine.ErrUnknownSnapshotFormat) || errors.Is(err, wal.ErrBadVersion)
}

const replayLogEvery = 2 * time.Second

// HalfMachineMemory is half the machine's memory (Linux /proc/meminfo), or
// 4 GiB when that cannot be read: the soft limit that makes the collector
// run during replay only if the heap gets that large, and ledgerd's
// default memory limit while it serves.
func HalfMachineMemory() int64 {
	const fallback = 4 << 30
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return fallback
	}
	var kb int64
	if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err != nil || kb <= 0 {
		return fallback
	}
	return kb * 1024 / 2
}

// Recover opens the WAL in dataDir (repairing a torn tail), loads the newest
// valid snapshot (falling back to older ones) and replays the log suffix.
// It returns how many events it replayed from the WAL.
func Recover(dataDir string, noSync bool, logger *slog.Logger) (*engine.State, *wal.Log, uint64, error) {
	return recoverWith(dataDir, wal.Options{NoSync: noSync, Logger: logger})
}

func recoverWith(dataDir string, opts wal.Options) (*engine.State, *wal.Log, uint64, error) {
	logger := opts.Logger
	// Replay only grows the heap: no collection while it runs (the
	// collector's scanning was a fifth of replay time) unless the heap nears
	// half the machine's memory, then back to normal.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(HalfMachineMemory()))
	l, err := wal.Open(filepath.Join(dataDir, "wal"), opts)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("actors: open wal: %w", err)
	}
	state, err := loadSnapshot(filepath.Join(dataDir, "snapshots"), l, logger)
	var fromSnapshot uint64
	if err == nil {
		fromSnapshot = state.Events
		err = replayLog(l, state, logger)
	}
	if err != nil {
		l.Close()
		return nil, nil, 0, err
	}
	return state, l, state.Events - fromSnapshot, nil
}

func loadSnapshot(dir string, l *wal.Log, logger *slog.Logger) (*engine.State, error) {
	infos, err := wal.NewestSnapshots(dir)
	if err != nil {
		return nil, fmt.Errorf("actors: list snapshots: %w", err)
	}
	for _, info := range infos {
		start := time.Now()
		snap, err := wal.ReadSnapshot(info.Path)
		var state *engine.State
		if err == nil {
			state, err = engine.DecodeSnapshot(snap.Payload)
		}
		if err == nil && state.Index != snap.Index {
			err = fmt.Errorf("snapshot file index %d, state index %d", snap.Index, state.Index)
		}
		if unknownFormat(err) {
			// Maybe good bytes, of a newer binary: neither used, nor moved,
			// nor passed over for an older snapshot.
			return nil, fmt.Errorf("%w: snapshot %s: %w; start-up stopped and no file changed "+
				"(written by a newer ledgerd? run that one)", ErrUnknownFormat, info.Path, err)
		}
		if err != nil {
			logger.Error("snapshot unusable, trying an older one", slog.String("path", info.Path), slog.Any("err", err))
			moveAside(info.Path, logger)
			continue
		}
		logger.Info("snapshot loaded", slog.String("path", info.Path), slog.Uint64("index", state.Index),
			slog.Int("wallets", len(payshards.Wallets(state))), slog.Duration("took", time.Since(start)))
		return state, nil
	}
	return engine.NewState(), nil
}

func replayLog(l *wal.Log, state *engine.State, logger *slog.Logger) error {
	first, last := l.FirstIndex(), l.LastIndex()
	if last == 0 || last <= state.Index {
		if last < state.Index {
			return fmt.Errorf("%w: snapshot at %d, log ends at %d", ErrWALGap, state.Index, last)
		}
		return nil
	}
	if first > state.Index+1 {
		return fmt.Errorf("%w: snapshot at %d, log starts at %d", ErrWALGap, state.Index, first)
	}
	start, lastLog := time.Now(), time.Now()
	events := state.Events
	presize(state, l.Dir(), float64(last-state.Index)/float64(last-first+1))
	// Two stages on two cores: one goroutine reads, checks and decodes
	// entries while this one applies them in log order. A decode error
	// stops the reader; everything before it is applied, nothing after.
	decoded := make(chan replayed, replayAhead)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(decoded)
		err := l.Replay(state.Index+1, func(index uint64, payload []byte) error {
			batch, err := engine.DecodeBatch(payload)
			if errors.Is(err, engine.ErrUnknownEventType) {
				return fmt.Errorf("%w: wal entry %d: %w; start-up stopped and no file changed "+
					"(written by a newer ledgerd? run that one)", ErrUnknownFormat, index, err)
			}
			if err != nil {
				return fmt.Errorf("actors: wal entry %d: %w", index, err)
			}
			select {
			case decoded <- replayed{index: index, batch: batch}:
				return nil
			case <-stop:
				return errReplayStopped
			}
		})
		if err != nil {
			select {
			case decoded <- replayed{err: err}:
			case <-stop:
			}
		}
	}()
	for r := range decoded {
		if r.err != nil {
			return r.err
		}
		for i := range r.batch {
			state.Apply(r.batch[i])
		}
		state.Index = r.index
		if time.Since(lastLog) > replayLogEvery {
			lastLog = time.Now()
			logger.Info("replaying wal", slog.Uint64("index", r.index), slog.Uint64("last", last))
		}
	}
	took := time.Since(start)
	logger.Info("wal replayed", slog.Uint64("from", first), slog.Uint64("to", last),
		slog.Uint64("events", state.Events-events), slog.Duration("took", took))
	return nil
}

// replayed is one decoded WAL entry on its way from the reader to the
// applier, or the error that stopped the reader.
type replayed struct {
	index uint64
	batch []engine.Event
	err   error
}

// replayAhead is how many decoded entries the reader may run ahead.
const replayAhead = 8

var errReplayStopped = errors.New("actors: replay stopped")

// Each logged event takes at least this many bytes of WAL, and leaves at
// most one idempotency record.
const minEventBytes = 24

// presize grows the idempotency map once, to what the WAL suffix to replay
// (that fraction of the log's bytes) can hold, before
// replay fills it: growing it step by step rehashed every record again and
// again (half of replay time). The estimate errs high by at most the
// bytes per event ratio, and the map is compacted after the first expiry.
func presize(state *engine.State, walDir string, suffix float64) {
	var bytes int64
	entries, _ := os.ReadDir(walDir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			bytes += info.Size()
		}
	}
	want := state.IdemLen() + int(min(int64(float64(bytes)*suffix)/minEventBytes, maxPresize))
	if want > 2*state.IdemLen()+shrinkMin {
		state.GrowIdem(want)
	}
}

// maxPresize bounds the guess (a corrupt size must not exhaust memory).
const maxPresize = 64 << 20

// moveAside renames an unusable snapshot to <name>.corrupt: its bytes stay
// for inspection, but it no longer counts as one of the snapshots kept, so
// pruning can never delete the good older one in its favour.
func moveAside(path string, logger *slog.Logger) {
	if err := os.Rename(path, path+".corrupt"); err != nil {
		logger.Error("could not move the unusable snapshot aside", slog.String("path", path), slog.Any("err", err))
		return
	}
	logger.Warn("unusable snapshot moved aside", slog.String("path", path+".corrupt"))
}
