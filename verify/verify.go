package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// ErrLocked means a running ledgerd (or another process) holds the data
// dir's lock.
var ErrLocked = errors.New("verify: data dir is locked (is ledgerd running?)")

// maxViolations bounds the list; the count stays exact.
const maxViolations = 200

// Options configures Run.
type Options struct {
	DataDir string // the ledgerd data dir: wal/, snapshots/, LOCK
	TempDir string // where the WAL copy goes; default os.TempDir()
}

// Violation is one broken invariant or damaged file.
type Violation struct {
	Check  string `json:"check"` // wal, snapshot, apply, rebuild, balance, refundable, idempotency, code, attempt, state
	Detail string `json:"detail"`
}

func (v Violation) String() string { return v.Check + ": " + v.Detail }

// SnapshotCheck is what the verifier found about one snapshot file.
type SnapshotCheck struct {
	Path  string `json:"path"`
	Index uint64 `json:"index"`
	// Valid: the file's CRC, header and msgpack payload are good.
	Valid bool `json:"valid"`
	// Rebuilt: the snapshot plus the WAL suffix after it was replayed to
	// the end of the log (false when the WAL does not reach back to it).
	Rebuilt bool `json:"rebuilt"`
	// Matches: the snapshot equals the state the log gives at its index
	// (checked when another rebuild passes through that index), and its
	// rebuild ends in the same state as the others.
	Matches bool   `json:"matches"`
	Error   string `json:"error,omitempty"`
}

// TornTail is a damaged end of the last WAL segment that ledgerd's start-up
// would cut off (those entries were never acknowledged).
type TornTail struct {
	File           string `json:"file"`
	Offset         int64  `json:"offset"`
	Bytes          int64  `json:"bytes"`
	FirstLostIndex uint64 `json:"first_lost_index"`
	Cause          string `json:"cause"`
}

// Report is the outcome of Run.
type Report struct {
	DataDir    string            `json:"data_dir"`
	OK         bool              `json:"ok"`
	WALFirst   uint64            `json:"wal_first"`
	WALLast    uint64            `json:"wal_last"`
	Segments   int               `json:"segments"`
	WALBytes   int64             `json:"wal_bytes"`
	TornTail   *TornTail         `json:"torn_tail,omitempty"`
	Entries    uint64            `json:"entries"` // WAL entries read, CRC-checked and decoded
	Events     uint64            `json:"events"`  // events in those entries
	ByType     map[string]uint64 `json:"events_by_type"`
	Rebuilds   []string          `json:"rebuilds"`
	Snapshots  []SnapshotCheck   `json:"snapshots"`
	Index      uint64            `json:"index"` // last WAL index of the rebuilt state
	Wallets    int               `json:"wallets"`
	Balance    int64             `json:"total_balance"`
	Refundable int64             `json:"total_refundable"`
	Partners   int               `json:"partners"`
	Codes      int               `json:"codes"`
	Redeemed   int               `json:"codes_redeemed"`
	Revoked    int               `json:"codes_revoked"`
	Idem       int               `json:"idempotency_records"`
	Attempts   int               `json:"attempt_records"`
	Notes      []string          `json:"notes,omitempty"`
	Violations []Violation       `json:"violations"`
	// ViolationCount is exact; Violations keeps the first maxViolations.
	ViolationCount int           `json:"violation_count"`
	Duration       time.Duration `json:"-"`
	DurationMs     int64         `json:"duration_ms"`
}

func (r *Report) violate(check, format string, a ...any) {
	r.ViolationCount++
	if len(r.Violations) < maxViolations {
		r.Violations = append(r.Violations, Violation{Check: check, Detail: fmt.Sprintf(format, a...)})
	}
}

func (r *Report) note(format string, a ...any) { r.Notes = append(r.Notes, fmt.Sprintf(format, a...)) }

// Run verifies the data dir. It returns an error only when it cannot
// verify at all (no such dir, lock held, I/O on the temp copy); everything
// wrong with the data is a Violation in the Report.
func Run(opts Options) (*Report, error) {
	start := time.Now()
	rep := &Report{DataDir: opts.DataDir, ByType: map[string]uint64{}, Violations: []Violation{},
		Snapshots: []SnapshotCheck{}, Rebuilds: []string{}}
	fi, err := os.Stat(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("verify: data dir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("verify: data dir %s is not a directory", opts.DataDir)
	}
	unlock, err := lockShared(opts.DataDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	v := &verifier{rep: rep, walDir: filepath.Join(opts.DataDir, "wal"), snapDir: filepath.Join(opts.DataDir, "snapshots")}
	tmp, err := os.MkdirTemp(opts.TempDir, "ledgerd-verify-*")
	if err != nil {
		return nil, fmt.Errorf("verify: temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	v.copyDir = filepath.Join(tmp, "wal")
	if err := v.copyWAL(); err != nil {
		return nil, err
	}
	v.run()
	rep.OK = rep.ViolationCount == 0
	rep.Duration = time.Since(start)
	rep.DurationMs = rep.Duration.Milliseconds()
	return rep, nil
}

// lockShared takes a shared, non-blocking flock on <dir>/LOCK. ledgerd
// holds it exclusively while it runs.
func lockShared(dir string) (func(), error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Never served from here; create the lock file ledgerd would create,
		// so that a ledgerd starting now waits for us.
		f, err = os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("verify: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s: %w", ErrLocked, path, err)
		}
		return nil, fmt.Errorf("verify: lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

type verifier struct {
	rep     *Report
	walDir  string // the original
	snapDir string
	copyDir string // the copy wal.Open may repair
}

// copyWAL copies every regular file of the WAL dir. A missing WAL dir is an
// empty log.
func (v *verifier) copyWAL() error {
	if err := os.MkdirAll(v.copyDir, 0o700); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	ents, err := os.ReadDir(v.walDir)
	if errors.Is(err, fs.ErrNotExist) {
		v.rep.note("no WAL directory %s: an empty log", v.walDir)
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: read WAL dir: %w", err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		n, err := copyFile(filepath.Join(v.walDir, name), filepath.Join(v.copyDir, name))
		if err != nil {
			return fmt.Errorf("verify: copy WAL: %w", err)
		}
		switch {
		case strings.HasSuffix(name, ".broken"):
			v.rep.note("%s: backup of an earlier torn-tail repair (ignored by the log)", filepath.Join(v.walDir, name))
		case len(name) >= 20 && strings.Trim(name[:20], "0123456789") == "":
			v.rep.Segments++
			v.rep.WALBytes += n
			if len(name) > 20 {
				v.rep.note("%s: a front truncation was interrupted; start-up finishes or discards it", filepath.Join(v.walDir, name))
			}
		}
	}
	return nil
}

func copyFile(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// orig maps paths in the copy back to the data dir, for messages.
func (v *verifier) orig(s string) string { return strings.ReplaceAll(s, v.copyDir, v.walDir) }

// rebuild is one independent reconstruction of the state.
type rebuild struct {
	name   string
	base   uint64 // index of the snapshot it starts from (0: empty state)
	state  *engine.State
	snap   *SnapshotCheck // nil for the rebuild from scratch
	broken bool           // Apply panicked: the state is no longer meaningful
}

// snapState is a valid snapshot waiting to be compared with the log.
type snapState struct {
	check   *SnapshotCheck
	encoded []byte // EncodeSnapshot of the decoded state: canonical bytes
}

func (v *verifier) run() {
	rep := v.rep
	capture := &captureHandler{}
	l, err := wal.Open(v.copyDir, wal.Options{NoSync: true, Logger: slog.New(capture)})
	v.tornTail(capture)
	snaps := v.loadSnapshots()
	if err != nil {
		rep.violate("wal", "start-up would refuse the log: %s", v.orig(err.Error()))
		return
	}
	defer l.Close()
	first, last, next := l.FirstIndex(), l.LastIndex(), l.NextIndex()
	rep.WALFirst, rep.WALLast = first, last
	if last == 0 {
		first = next // an empty log "starts" where the next entry will go
	}

	// The rebuilds: from scratch when the log starts at 1, and from every
	// valid snapshot the log reaches back to.
	var rebuilds []*rebuild
	if first == 1 {
		rebuilds = append(rebuilds, &rebuild{name: "log from index 1", state: engine.NewState()})
	}
	newestValid := true
	for i := len(snaps) - 1; i >= 0; i-- { // newest first, for newestValid
		s := snaps[i]
		c := s.check
		switch {
		case !c.Valid:
			continue
		case c.Index > max(last, next-1):
			c.Error = fmt.Sprintf("snapshot at index %d is ahead of the log, which ends at %d", c.Index, last)
			rep.violate("snapshot", "%s: %s", c.Path, c.Error)
		case c.Index+1 < first:
			c.Error = fmt.Sprintf("the log starts at %d, after the snapshot's index %d: cannot be rebuilt", first, c.Index)
			if newestValid {
				rep.violate("snapshot", "%s: %s (start-up would fail with a WAL gap)", c.Path, c.Error)
			} else {
				rep.note("%s: %s", c.Path, c.Error)
			}
		default:
			st, err := engine.DecodeSnapshot(s.decodedFrom)
			if err != nil { // decoded once already: cannot happen
				rep.violate("snapshot", "%s: %v", c.Path, err)
				continue
			}
			rebuilds = append(rebuilds, &rebuild{name: "snapshot " + filepath.Base(c.Path), base: c.Index, state: st, snap: c})
		}
		newestValid = false
	}
	slices.SortStableFunc(rebuilds, func(a, b *rebuild) int { return cmp.Compare(a.base, b.base) })
	if len(rebuilds) == 0 {
		rep.violate("wal", "nothing can rebuild the state: the log starts at index %d and no valid snapshot reaches it", first)
		return
	}
	primary := rebuilds[0]
	m := newModel(rep, primary.state, primary.base == 0 && primary.snap == nil)
	for _, r := range rebuilds {
		switch {
		case r.base == 0 && r.snap == nil:
			rep.Rebuilds = append(rep.Rebuilds, fmt.Sprintf("%s to %d", r.name, last))
		case r.base >= last:
			rep.Rebuilds = append(rep.Rebuilds, fmt.Sprintf("%s (the log ends there)", r.name))
		default:
			rep.Rebuilds = append(rep.Rebuilds, fmt.Sprintf("%s + log %d..%d", r.name, r.base+1, last))
		}
	}
	if primary.snap != nil {
		rep.note("the log starts at index %d: invariants are checked from %s on (its content is taken as given)", first, primary.name)
	}
	pending := map[uint64][]snapState{}
	for _, s := range snaps {
		if s.check.Valid && s.check.Index > primary.base {
			pending[s.check.Index] = append(pending[s.check.Index], snapState{check: s.check, encoded: s.encoded})
		}
	}

	completed := true
	if last > 0 && last >= first {
		// Every entry is read, so every CRC is checked, including those
		// before the oldest snapshot's index (which no rebuild applies).
		err = l.Replay(first, func(index uint64, payload []byte) error {
			batch, err := engine.DecodeBatch(payload)
			if err != nil {
				rep.violate("wal", "entry %d (CRC good) does not decode: %v", index, err)
				return errStop
			}
			rep.Entries++
			rep.Events += uint64(len(batch))
			for i := range batch {
				rep.ByType[TypeName(batch[i].EventType())]++
			}
			for _, r := range rebuilds {
				if !r.broken && r.state.Index == index-1 {
					r.apply(rep, index, batch)
				}
			}
			if index > primary.base {
				m.applyBatch(index, batch)
			}
			for _, s := range pending[index] {
				compareAt(rep, primary, s)
			}
			return nil
		})
		if err != nil {
			completed = false
			if !errors.Is(err, errStop) {
				rep.violate("wal", "%s", v.orig(err.Error()))
			}
		}
	}
	if !completed {
		rep.note("the replay stopped early: rebuild comparisons and final-state invariants were skipped; the summary is the state where it stopped")
		summarize(rep, primary.state)
		return
	}
	v.compareRebuilds(rebuilds, last)
	if primary.broken {
		rep.note("the rebuild %s broke: final-state invariants were skipped; the summary is the state where it broke", primary.name)
		summarize(rep, primary.state)
		return
	}
	final := primary.state
	m.finish(final)
	checkState(rep, final)
	summarize(rep, final)
}

var errStop = errors.New("stop")

// loaded is one snapshot file after ReadSnapshot and DecodeSnapshot.
type loaded struct {
	check       *SnapshotCheck
	decodedFrom []byte
	encoded     []byte
}

// loadSnapshots checks every snapshot file (oldest first in the result).
func (v *verifier) loadSnapshots() []loaded {
	rep := v.rep
	infos, err := wal.NewestSnapshots(v.snapDir)
	if err != nil {
		rep.violate("snapshot", "%v", err)
		return nil
	}
	if aside, _ := filepath.Glob(filepath.Join(v.snapDir, "*.corrupt")); len(aside) > 0 {
		rep.note("%d snapshot(s) moved aside by an earlier start-up as unusable: %s", len(aside), strings.Join(aside, ", "))
	}
	if temps, _ := filepath.Glob(filepath.Join(v.snapDir, "snap-*.tmp")); len(temps) > 0 {
		rep.note("%d unfinished snapshot temp file(s) in %s (ignored; pruned at the next snapshot)", len(temps), v.snapDir)
	}
	var out []loaded
	for i := len(infos) - 1; i >= 0; i-- {
		info := infos[i]
		rep.Snapshots = append(rep.Snapshots, SnapshotCheck{Path: info.Path, Index: info.Index})
	}
	for i := range rep.Snapshots {
		c := &rep.Snapshots[i]
		snap, err := wal.ReadSnapshot(c.Path)
		var st *engine.State
		if err == nil {
			st, err = engine.DecodeSnapshot(snap.Payload)
		}
		if err == nil && st.Index != snap.Index {
			err = fmt.Errorf("file index %d, state index %d", snap.Index, st.Index)
		}
		var enc []byte
		if err == nil {
			enc, err = st.EncodeSnapshot()
		}
		if err != nil {
			c.Error = err.Error()
			rep.violate("snapshot", "%s: %v", c.Path, err)
			out = append(out, loaded{check: c})
			continue
		}
		c.Valid = true
		out = append(out, loaded{check: c, decodedFrom: snap.Payload, encoded: enc})
	}
	return out
}

// apply applies one WAL entry's events; a panic is a broken invariant in
// the log, reported, and ends this rebuild.
func (r *rebuild) apply(rep *Report, index uint64, batch []engine.Event) {
	i := 0
	defer func() {
		if p := recover(); p != nil {
			r.broken = true
			ev := batch[i]
			rep.violate("apply", "%s: engine.Apply panicked at WAL index %d, event %d of %d (%s %#v): %v",
				r.name, index, i, len(batch), TypeName(ev.EventType()), ev, p)
			if r.snap != nil {
				r.snap.Rebuilt, r.snap.Matches = true, false
				r.snap.Error = fmt.Sprintf("its rebuild broke at WAL index %d", index)
			}
		}
	}()
	for i = range batch {
		r.state.Apply(batch[i])
	}
	r.state.Index = index
}

// compareAt compares a snapshot with the primary rebuild at the
// snapshot's index.
func compareAt(rep *Report, primary *rebuild, s snapState) {
	if primary.broken {
		return
	}
	enc, err := primary.state.EncodeSnapshot()
	if err != nil {
		rep.violate("rebuild", "encode the state at %d: %v", primary.state.Index, err)
		return
	}
	if string(enc) == string(s.encoded) {
		s.check.Matches = true
		return
	}
	s.check.Matches = false
	s.check.Error = "disagrees with the log at its index"
	snapSt, err := engine.DecodeSnapshot(s.encoded)
	detail := fmt.Sprint(err)
	if err == nil {
		detail = diffStates(primary.state, snapSt)
	}
	rep.violate("snapshot", "%s disagrees with the log at index %d (%s vs snapshot): %s",
		s.check.Path, s.check.Index, primary.name, detail)
}

// compareRebuilds requires every unbroken rebuild to end in the same state
// as the first one.
func (v *verifier) compareRebuilds(rebuilds []*rebuild, last uint64) {
	var ref *rebuild
	var refEnc []byte
	for _, r := range rebuilds {
		if r.broken {
			continue
		}
		r.state.Index = max(r.state.Index, last)
		enc, err := r.state.EncodeSnapshot()
		if err != nil {
			v.rep.violate("rebuild", "%s: encode: %v", r.name, err)
			continue
		}
		if ref == nil {
			ref, refEnc = r, enc
			if r.snap != nil {
				r.snap.Rebuilt, r.snap.Matches = true, r.snap.Error == ""
			}
			continue
		}
		if r.snap != nil {
			r.snap.Rebuilt = true
		}
		if string(enc) != string(refEnc) {
			v.rep.violate("rebuild", "%s and %s end in different states at index %d: %s",
				ref.name, r.name, last, diffStates(ref.state, r.state))
			if r.snap != nil {
				r.snap.Matches = false
				r.snap.Error = "its rebuild differs"
			}
		} else if r.snap != nil && r.snap.Error == "" {
			r.snap.Matches = true
		}
	}
}

// checkState checks invariants that hold in any state, whatever its history.
func checkState(rep *Report, s *engine.State) {
	wallets, pp := payshards.Wallets(s), paypay.Of(s)
	for _, u := range sortedKeys(wallets) {
		w := wallets[u]
		if w.Balance < 0 {
			rep.violate("balance", "user %q has a negative balance %d", u, w.Balance)
		}
		seen := map[string]bool{}
		for _, r := range w.Refundable {
			if r.Amount <= 0 {
				rep.violate("refundable", "user %q partner %q: refundable entry %d (must be > 0)", u, r.Partner, r.Amount)
			}
			if seen[r.Partner] {
				rep.violate("refundable", "user %q partner %q: two refundable entries", u, r.Partner)
			}
			seen[r.Partner] = true
		}
	}
	for _, code := range sortedKeys(pp.Cards) {
		c := pp.Cards[code]
		if c.RevokedMs != 0 && c.RedeemedMs != 0 {
			rep.violate("code", "code %q is both revoked and redeemed", code)
		}
		if (c.RedeemedMs != 0) != (c.RedemptionID != "") {
			rep.violate("code", "code %q: redeemed at %d with redemption id %q", code, c.RedeemedMs, c.RedemptionID)
		}
		if s.Partners[c.Partner] == nil {
			rep.violate("code", "code %q belongs to unknown partner %q", code, c.Partner)
		}
	}
	for _, p := range sortedKeys(pp.Attempts) {
		items := pp.Attempts[p].Items()
		for i, a := range items {
			if a.Seq == 0 || a.Seq > pp.Attempt {
				rep.violate("attempt", "partner %q: attempt sequence %d outside 1..%d", p, a.Seq, pp.Attempt)
			}
			if i > 0 && a.Seq <= items[i-1].Seq {
				rep.violate("attempt", "partner %q: attempt sequence %d after %d (must strictly increase)", p, a.Seq, items[i-1].Seq)
			}
		}
	}
	for h, id := range s.Keys {
		p := s.Partners[id]
		if p == nil {
			rep.violate("state", "key hash %x… belongs to unknown partner %q", h[:4], id)
			continue
		}
		if !slices.ContainsFunc(p.Keys, func(k engine.APIKey) bool { return string(k.Hash) == string(h[:]) }) {
			rep.violate("state", "partner %q does not list key hash %x…", id, h[:4])
		}
	}
}

func summarize(rep *Report, s *engine.State) {
	rep.Index = s.Index
	wallets, pp := payshards.Wallets(s), paypay.Of(s)
	rep.Wallets = len(wallets)
	for _, w := range wallets {
		rep.Balance += w.Balance
		for _, r := range w.Refundable {
			rep.Refundable += r.Amount
		}
	}
	rep.Partners = len(s.Partners)
	rep.Codes = len(pp.Cards)
	for _, c := range pp.Cards {
		if c.RedeemedMs != 0 {
			rep.Redeemed++
		}
		if c.RevokedMs != 0 {
			rep.Revoked++
		}
	}
	rep.Idem = s.IdemLen()
	for _, l := range pp.Attempts {
		rep.Attempts += len(l.Items())
	}
}

// tornTail reads what wal.Open said when it repaired the copy.
func (v *verifier) tornTail(c *captureHandler) {
	for _, r := range c.records() {
		if !strings.Contains(r.Message, "torn tail repaired") {
			continue
		}
		t := &TornTail{}
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "file":
				t.File = v.orig(a.Value.String())
			case "offset":
				t.Offset = a.Value.Int64()
			case "bytes_cut":
				t.Bytes = a.Value.Int64()
			case "first_lost_index":
				t.FirstLostIndex = a.Value.Uint64()
			case "cause":
				t.Cause = a.Value.String()
			}
			return true
		})
		v.rep.TornTail = t
		v.rep.note("torn WAL tail: would be cut at start-up: %d bytes of %s from offset %d (from index %d; never acknowledged): %s",
			t.Bytes, t.File, t.Offset, t.FirstLostIndex, t.Cause)
	}
}

// captureHandler keeps the records wal.Open logs about the copy.
type captureHandler struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *captureHandler) WithGroup(string) slog.Handler      { return h }
func (h *captureHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

// TypeName is an event type's registered name, for reports.
func TypeName(t engine.EventType) string {
	if n := engine.Name(t); n != "" {
		return n
	}
	return fmt.Sprintf("type%d", t)
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
