package actors

import (
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
	"ledgerd/wal"
)

// Config sets up a System. Zero values take the defaults noted.
type Config struct {
	DataDir          string        // WAL in DataDir/wal, snapshots in DataDir/snapshots
	SnapshotEvery    uint64        // events between snapshots; default 100,000 (or the state's size, if larger)
	SnapshotFixed    bool          // snapshot every SnapshotEvery events whatever the state's size (tests)
	BatchMax         int           // events per WAL append at most; default 4,096
	QueueMax         int           // committer queue; default 16,384
	InflightMax      int32         // queued Ops per wallet before StatusOverloaded; default 4,096
	OpsMax           int64         // Ops in flight in the whole System before StatusOverloaded; default 32,768
	Shards           int           // idempotency shards; default 32
	IdemRetention    time.Duration // how long a reference is remembered; default 7 days ("references")
	KeyRetention     time.Duration // how long an Idempotency-Key's response is remembered; default 24 hours ("keys")
	AttemptRetention time.Duration // how long audit records are kept; default 90 days ("attempts")
	// Retention sets any registered expiry (engine.Expiries) by name; the
	// three fields above win for their names.
	Retention   map[string]time.Duration
	ExpiryEvery time.Duration // how often expired references are dropped; default 1 minute
	NoSync      bool          // skip fsync: benchmarks of everything else only
	Logger      *slog.Logger  // default slog.Default()
	Fatal       func(error)   // fail-stop; default logs and exits 70
	Now         func() time.Time
	Log         Log                   // optional: an in-memory log for tests (no recovery)
	Metrics     prometheus.Registerer // where the ledger's series go; default a private registry
	WalletIdle  time.Duration         // a resident entity actor (a wallet) unused this long retires; default 30 s
	SweepEvery  time.Duration         // how often idle actors are looked for; default 5 s
	FeedBuffer  int                   // WAL entries the committed-event feed keeps in memory; default FeedBufferDefault
	// WALSegmentSize is the WAL's segment file size; default
	// wal.DefaultSegmentSize. Truncation after a snapshot deletes whole
	// segments only, so tests and soaks that must see it set it small.
	WALSegmentSize int
	// WALNoPrefill makes the WAL append at its files' ends instead of
	// overwriting zeros written ahead of time (wal/prefill.go); for
	// side-by-side measurements.
	WALNoPrefill bool

	snapshotCopyStep int // records a snapshot copies between batches; default copyStep (tests set it small)
}

func (c *Config) defaults() {
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 100_000
	}
	if c.BatchMax == 0 {
		c.BatchMax = 4096
	}
	if c.QueueMax == 0 {
		c.QueueMax = 1 << 14 // an item is ~370 bytes: the buffer is allocated up front
	}
	if c.OpsMax == 0 {
		c.OpsMax = 1 << 15
	}
	if c.InflightMax == 0 {
		c.InflightMax = 4096
	}
	if c.Shards == 0 {
		c.Shards = 32
	}
	if c.IdemRetention == 0 {
		c.IdemRetention = DefaultIdemRetention
	}
	if c.KeyRetention == 0 {
		c.KeyRetention = DefaultKeyRetention
	}
	if c.AttemptRetention == 0 {
		c.AttemptRetention = DefaultAttemptRetention
	}
	if c.ExpiryEvery == 0 {
		c.ExpiryEvery = time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.WalletIdle == 0 {
		c.WalletIdle = 30 * time.Second
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = 5 * time.Second
	}
	if c.FeedBuffer <= 0 {
		c.FeedBuffer = FeedBufferDefault
	}
	if c.snapshotCopyStep == 0 {
		c.snapshotCopyStep = copyStep
	}
	if c.Metrics == nil {
		c.Metrics = prometheus.NewRegistry()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Fatal == nil {
		logger := c.Logger
		c.Fatal = func(err error) {
			logger.Error("fail-stop: the ledger cannot continue safely", slog.Any("err", err))
			os.Exit(70)
		}
	}
}

// retention is how long e's records are kept.
func (c *Config) retention(e engine.ExpiryDef) time.Duration {
	switch {
	case e.Name == "references" && c.IdemRetention != 0:
		return c.IdemRetention
	case e.Name == "keys" && c.KeyRetention != 0:
		return c.KeyRetention
	case e.Name == "attempts" && c.AttemptRetention != 0:
		return c.AttemptRetention
	case c.Retention[e.Name] != 0:
		return c.Retention[e.Name]
	}
	return e.Default
}

// DefaultIdemRetention is how long a reference's outcome is remembered: a
// retry within it gets the original result; after it the reference is new.
const DefaultIdemRetention = 7 * 24 * time.Hour

// Retention of PayPay.cards Idempotency-Key responses (the spec's 24 hours)
// and of redemption-attempt audit records.
const (
	DefaultKeyRetention     = 24 * time.Hour
	DefaultAttemptRetention = 90 * 24 * time.Hour
)

// System is the running ledger: actors, committer and WAL.
type System struct {
	cfg        Config
	logger     *slog.Logger
	as         *actor.ActorSystem
	root       *actor.RootContext
	committer  *committer
	wal        *wal.Log
	entities   map[engine.EntityKind]*registry // one per registered entity kind
	owners     map[Kind]*EntityDef             // which kind owns an Op kind
	wallets    *registry                       // entities[payshards.WalletEntity]
	codes      *registry                       // entities[paypay.CodeEntity]
	shards     []idemShard
	shardSeed  maphash.Seed
	idem       idemRecords // the durable idempotency records, shared with the shards
	limiters   sync.Map    // [KeyHashLen]byte -> *actor.PID
	directory  *actor.PID
	dispatcher inlineDispatcher
	out        *outbox // the committer's messages to actors
	metrics    *metrics
	feed       *feedHub

	sweeperStop, sweeperDone chan struct{}
	auth                     atomic.Pointer[AuthTable]
	inflight                 atomic.Int64 // Ops inside Do
	fatalOnce                sync.Once
	stopOnce                 sync.Once
}

// Start recovers the state from DataDir (newest valid snapshot plus the WAL
// suffix) and starts the actors and the committer.
func Start(cfg Config) (*System, error) {
	cfg.defaults()
	s := &System{cfg: cfg, logger: cfg.Logger, shardSeed: maphash.MakeSeed()}
	s.metrics = newMetrics(cfg.Metrics, s)
	start := time.Now()
	state, log, replayed, err := s.open()
	if err != nil {
		return nil, err
	}
	s.metrics.replay.Set(time.Since(start).Seconds())
	s.metrics.replayed.Set(float64(replayed))
	s.as = actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return cfg.Logger.With(slog.String("component", "protoactor"))
	}))
	s.root = s.as.Root
	s.dispatcher = inlineDispatcher{throughput: 300}
	s.out = newOutbox(s.root)
	s.idem.state = state
	s.shards = make([]idemShard, cfg.Shards)
	for i := range s.shards {
		s.shards[i].pending = make(map[engine.IdemKey]*pendingRef)
	}
	s.spawnDirectory(state)
	s.initEntities()
	s.wallets, s.codes = s.entities[payshards.WalletEntity], s.entities[paypay.CodeEntity]
	s.publishAuth(state)
	snaps := &snapshotter{
		dir: filepath.Join(cfg.DataDir, "snapshots"), every: cfg.SnapshotEvery, fixed: cfg.SnapshotFixed,
		last: state.Index, size: stateSize(state), copyStep: cfg.snapshotCopyStep, done: make(chan snapResult, 1), logger: cfg.Logger, took: s.metrics.snapshot,
	}
	s.feed = newFeedHub(feedSource(s.wal, log), cfg.FeedBuffer, state.Index, cfg.Metrics)
	snaps.feed = s.feed
	s.committer = newCommitter(s, log, state, snaps)
	go s.committer.run()
	s.sweeperStop, s.sweeperDone = make(chan struct{}), make(chan struct{})
	go s.sweep()
	return s, nil
}

// sweep passivates idle actors of every resident entity kind (wallets):
// their state lives on in the engine, so an idle entity costs only its
// durable state, and the next request spawns an actor again.
func (s *System) sweep() {
	defer close(s.sweeperDone)
	tick := time.NewTicker(s.cfg.SweepEvery)
	defer tick.Stop()
	var resident []*registry
	for kind, def := range entityDefs {
		if def.Resident {
			resident = append(resident, s.entities[kind])
		}
	}
	for _, r := range resident {
		r.clock.Store(s.cfg.Now().Unix())
	}
	for {
		select {
		case <-s.sweeperStop:
			return
		case <-tick.C:
			now := s.cfg.Now()
			for _, r := range resident {
				r.clock.Store(now.Unix())
				r.sweep(s.root, now.Add(-s.cfg.WalletIdle).Unix())
			}
		}
	}
}

func (s *System) open() (*engine.State, Log, uint64, error) {
	if s.cfg.Log != nil {
		return engine.NewState(), s.cfg.Log, 0, nil
	}
	state, l, replayed, err := recoverWith(s.cfg.DataDir, wal.Options{NoSync: s.cfg.NoSync, Logger: s.logger, SegmentSize: s.cfg.WALSegmentSize, NoPrefill: s.cfg.WALNoPrefill})
	if err != nil {
		return nil, nil, 0, err
	}
	s.wal = l
	return state, l, replayed, nil
}

// failStop is the supervisor of every ledger actor: a panic inside one is a
// broken invariant, and restarting the actor would let its working state
// drift from the log. The process stops instead.
type failStop struct{ sys *System }

func (f failStop) HandleFailure(_ *actor.ActorSystem, _ actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, msg any) {
	f.sys.fatal(fmt.Errorf("actors: %s panicked on %T: %v", child.Id, msg, reason))
}

func (s *System) props(producer actor.Producer, opts ...actor.PropsOption) *actor.Props {
	return actor.PropsFromProducer(producer, append(opts, actor.WithGuardian(failStop{s}), actor.WithDispatcher(s.dispatcher))...)
}

func (s *System) spawnDirectory(state *engine.State) {
	d := newDirectory(s, state)
	s.directory = s.root.SpawnPrefix(s.props(func() actor.Actor { return d }, actor.WithMailbox(actor.Bounded(1024))), "directory/")
}

func (s *System) shard(k engine.IdemKey) *idemShard {
	return &s.shards[maphash.Comparable(s.shardSeed, k)%uint64(len(s.shards))]
}

func (s *System) limiter(hash [engine.KeyHashLen]byte) *actor.PID {
	if pid, ok := s.limiters.Load(hash); ok {
		return pid.(*actor.PID)
	}
	p := s.props(func() actor.Actor { return &limiterActor{sys: s, now: s.cfg.Now} }, actor.WithMailbox(actor.Bounded(4096)))
	pid := s.root.SpawnPrefix(p, "ratelimit/")
	if prev, loaded := s.limiters.LoadOrStore(hash, pid); loaded {
		s.root.Stop(pid)
		return prev.(*actor.PID)
	}
	return pid
}

func (s *System) fatal(err error) {
	s.fatalOnce.Do(func() { s.cfg.Fatal(err) })
	select {} // fail-stop: never answer anyone after a failed write
}

func (s *System) publishAuth(state *engine.State) { s.auth.Store(buildAuth(state)) }

// Do runs op through the rate limiter (when op.RateLimit > 0), the
// idempotency shard and the wallet, and returns once its result is durable.
//
// Admission is bounded: with more than OpsMax Ops in flight, op gets
// StatusOverloaded at once, so a flood meets fast refusals instead of
// queues that grow without bound.
func (s *System) Do(op *Op) {
	if s.inflight.Add(1) > s.cfg.OpsMax {
		s.inflight.Add(-1)
		op.Status = StatusOverloaded
		return
	}
	defer s.inflight.Add(-1)
	if op.RateLimit > 0 {
		s.root.Send(s.limiter(op.KeyHash), op)
	} else {
		s.route(op)
	}
	<-op.done
	if c := op.claim; c != nil {
		op.claim = nil
		c.settle(s.root)
	}
}

// route sends an admitted op to its owner.
func (s *System) route(op *Op) {
	switch op.Kind {
	case KindNone:
		op.reply()
	case KindDeduct, KindRefund, KindCredit:
		s.shard(op.idemKey()).admit(s, op)
	default:
		if op.Reference != "" && (op.Kind == KindRedeem || op.Scope != 0) {
			s.shard(op.idemKey()).admit(s, op)
			return
		}
		if s.owners[op.Kind] == nil {
			op.reply()
			return
		}
		s.toOwner(op)
	}
}

// toOwner sends an op past its idempotency shard to the actor that owns
// its entity.
//
// A Fresh Op creates its entity under an id drawn at random: while the
// registry holds that id for it, it is decided here, on this goroutine,
// against no state, as a new actor would decide it, without spawning one
// that would load nothing and retire at once (6.5–7.5 µs of protoactor's
// spawn and stop per create, and a load through the committer). An Op of
// an Inline kind (a code) is decided the same way by the committer,
// against the entity's durable state (committer.decide). Nothing else
// decides on the id meanwhile: what is sent to it waits for the actor
// that starts once the Op is answered (claim.settle), and the committer
// refuses a Fresh Op's event, before the log, if the entity has a state
// after all (committer.taken). An id that already has an actor goes to it.
func (s *System) toOwner(op *Op) bool {
	def := s.owners[op.Kind]
	if def == nil {
		op.finish(StatusOverloaded, 0, false)
		return false
	}
	reg, id := s.entities[def.Kind], def.ID(op)
	if op.Fresh || def.Inline {
		if c := reg.claim(id); c != nil {
			op.claim = c // before Handle: the committer may answer op at once
			if !op.Fresh {
				s.committer.in <- item{kind: itemDecide, op: op, entity: engine.Entity{Kind: def.Kind, ID: id}, wallet: c.e}
				return true
			}
			e := Entity{sys: s, id: id, entry: c.e, fresh: true, reload: noReload}
			s.handleOutside(def, &e, op)
			return true
		}
	}
	if !reg.send(s.root, id, op) {
		op.finish(StatusOverloaded, 0, false)
		return false
	}
	return true
}

// handleOutside runs a module's Handle where no actor's supervisor
// watches it (a Fresh Op on its caller's goroutine, an Inline one on the
// committer's): a panic is a broken invariant there too, and fail-stops
// the process rather than leave the id held, or the committer gone.
func (s *System) handleOutside(def *EntityDef, e *Entity, op *Op) {
	defer func() {
		if r := recover(); r != nil {
			s.fatal(fmt.Errorf("actors: %v/%s panicked on %T: %v", def.Kind, e.id, op.Cmd, r))
		}
	}()
	def.Handle(e, op)
}

// releaseReference frees a reference whose command produced no event.
func (s *System) releaseReference(op *Op, st Status) {
	k := op.idemKey()
	s.shard(k).release(k, st)
	op.finish(st, 0, false)
}

// PartnerByKey looks up an API key's hash in the published auth table.
func (s *System) PartnerByKey(hash [engine.KeyHashLen]byte) (*engine.Partner, bool) {
	p, ok := s.auth.Load().byKey[hash]
	return p, ok
}

// PartnerByID looks up a partner in the published auth table.
func (s *System) PartnerByID(id string) (*engine.Partner, bool) {
	p, ok := s.auth.Load().byID[id]
	return p, ok
}

// NewKey describes an API key to store: its id, SHA-256 and last 4
// characters. The key itself is never stored.
type NewKey struct {
	ID   string
	Hash [engine.KeyHashLen]byte
	Hint string
}

func (k NewKey) record() engine.NewKeyRecord {
	return engine.NewKeyRecord{ID: k.ID, Hash: append([]byte(nil), k.Hash[:]...), Hint: k.Hint}
}

// CreatePartner records a new partner with its first API key.
func (s *System) CreatePartner(id, api, name string, rateLimit int64, key NewKey) (engine.Partner, error) {
	return s.admin(&engine.PartnerCreated{Partner: id, API: api, Name: name, RateLimit: rateLimit, Key: key.record()})
}

// AddKey gives a partner another API key (rotation without downtime: add
// the new one, move clients, revoke the old one).
func (s *System) AddKey(partnerID string, key NewKey) (engine.Partner, error) {
	return s.admin(&engine.KeyAdded{Partner: partnerID, Key: key.record()})
}

// RevokeKey stops a key from working; a partner keeps at least one live key.
func (s *System) RevokeKey(partnerID, keyID string) (engine.Partner, error) {
	return s.admin(&engine.KeyRevoked{Partner: partnerID, KeyID: keyID})
}

// SetPartnerRateLimit changes a partner's requests per minute per key.
func (s *System) SetPartnerRateLimit(id string, perMinute int64) (engine.Partner, error) {
	return s.admin(&engine.PartnerRateLimitChanged{Partner: id, RateLimit: perMinute})
}

// IssueCodes records a batch of new PayPay.cards codes for a partner. The
// caller generates them (crypto/rand); ErrCodeExists means one collided with
// an issued code and nothing was issued.
func (s *System) IssueCodes(partnerID string, codes []string, tier, label string, expiresMs int64) (engine.Partner, error) {
	return s.admin(&paypay.CodesIssued{Partner: partnerID, Codes: codes, Tier: tier, Label: label, ExpiresMs: expiresMs})
}

// RevokeCode revokes an unredeemed code. The result is in op.Status:
// StatusNotFound, StatusAlreadyRedeemed (op.Detail.RedeemedMs) or
// StatusOK (also when it was already revoked); Partner tells whose it is.
func (s *System) RevokeCode(code string) (status Status, partner string) {
	op := NewOp()
	defer op.Release()
	op.Kind, op.Card = KindRevokeCode, code
	s.Do(op)
	if op.Status == StatusOK {
		s.ReadState(func(st *engine.State) {
			if c := paypay.Cards(st)[code]; c != nil {
				partner = c.Partner
			}
		})
	}
	return op.Status, partner
}

// Attempts returns up to limit of a partner's audit records with Seq below
// before (0: from the newest), newest first, and whether older ones exist.
// It reads the durable state.
func (s *System) Attempts(partnerID string, before uint64, limit int) (out []paypay.Attempt, more bool) {
	s.ReadState(func(st *engine.State) {
		log := paypay.Attempts(st)[partnerID]
		if log == nil {
			return
		}
		items := log.Items()
		end := len(items)
		if before != 0 {
			end = sort.Search(len(items), func(i int) bool { return items[i].Seq >= before })
		}
		for i := end - 1; i >= 0 && len(out) < limit; i-- {
			out = append(out, items[i])
		}
		more = end-len(out) > 0
	})
	return out, more
}

// SetPartnerStatus makes a partner active or inactive.
func (s *System) SetPartnerStatus(id, status string) (engine.Partner, error) {
	return s.admin(&engine.PartnerStatusChanged{Partner: id, Status: status})
}

func (s *System) admin(ev adminEvent) (engine.Partner, error) {
	cmd := &adminCmd{ev: ev, done: make(chan struct{})}
	s.root.Send(s.directory, cmd)
	<-cmd.done
	return cmd.partner, cmd.err
}

// Now is the System's clock (Config.Now): API layers use it for the times
// they show and check, so tests can move time.
func (s *System) Now() time.Time { return s.cfg.Now() }

// LiveWallets is the number of wallet actors alive now (the others are
// passivated: their state is only in the engine).
func (s *System) LiveWallets() int64 { return s.wallets.count.Load() }

// Stats returns the committer's counters.
func (s *System) Stats() CommitStats { return s.committer.stats() }

// ReadState runs fn on the committer's goroutine against the durable state,
// after everything queued before it is durable. The next batch may be
// being written meanwhile (the committer keeps the disk busy).
func (s *System) ReadState(fn func(*engine.State)) { s.readState(fn, false) }

// readQuiet is ReadState with no batch being written while fn runs: the
// WAL holds exactly what the state has applied, so a copy of the data dir
// taken in fn is the state's own crash image (tests). It costs the
// pipeline's overlap for one batch; the API paths use ReadState.
func (s *System) readQuiet(fn func(*engine.State)) { s.readState(fn, true) }

func (s *System) readState(fn func(*engine.State), quiet bool) {
	done := make(chan struct{})
	s.committer.in <- item{kind: itemFunc, quiet: quiet, fn: func(st *engine.State) { fn(st); close(done) }}
	<-done
}

// Stop drains the committer, writes a final snapshot and closes the WAL.
// Callers stop sending Ops first (the HTTP server drains in-flight ones).
func (s *System) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		close(s.sweeperStop)
		<-s.sweeperDone
		s.committer.in <- item{kind: itemStop}
		<-s.committer.stopped
		s.feed.close()
		s.out.close()
		s.as.Shutdown()
		if s.wal != nil {
			err = s.wal.Close()
		}
	})
	return err
}

// CheckConsistency compares every live wallet actor's working state with
// the durable state. Call it when the system is quiet.
func (s *System) CheckConsistency() error {
	var errs []error
	type live struct {
		user string
		w    *payshards.Wallet
	}
	var actorsState []live
	s.wallets.live(func(user string, e *entry) {
		reply := make(chan any, 1)
		s.root.Send(e.pid, &inspect{reply: reply})
		select {
		case w := <-reply:
			wallet, _ := w.(*payshards.Wallet)
			actorsState = append(actorsState, live{user, wallet})
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("wallet %q did not answer", user))
		}
	})
	s.ReadState(func(st *engine.State) {
		for _, l := range actorsState {
			d := payshards.Wallets(st)[l.user]
			switch {
			case d == nil && l.w == nil:
			case d == nil || l.w == nil || !d.Equal(l.w):
				errs = append(errs, fmt.Errorf("wallet %q: actor %+v, durable %+v", l.user, l.w, d))
			}
		}
	})
	return errors.Join(errs...)
}
