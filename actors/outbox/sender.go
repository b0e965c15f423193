package outbox

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ledgerd/actors"
	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// Config sets up a Sender. Zero values take the defaults noted.
type Config struct {
	MasterKey       []byte                // secrets are derived from it (Secret); required
	AllowInsecure   bool                  // http:// and non-public addresses allowed (tests, --demo)
	Timeout         time.Duration         // one whole attempt; default 10 s
	PerEndpoint     int                   // attempts running per endpoint at most; default 4
	Total           int                   // attempts running in all at most; default 64
	Poll            time.Duration         // how often due deliveries are checked against System.Now; default 1 s
	MaxResponseRead int64                 // bytes of an answer read at most; default 64 KiB
	Registerer      prometheus.Registerer // metrics; default a private registry
	Logger          *slog.Logger          // default slog.Default()
}

func (c *Config) defaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 4
	}
	if c.Total <= 0 {
		c.Total = 64
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.MaxResponseRead <= 0 {
		c.MaxResponseRead = 64 << 10
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// ErrNoMasterKey: Config.MasterKey is empty.
var ErrNoMasterKey = errors.New("outbox: no webhook master key")

// Sender delivers the outbox's pending deliveries.
type Sender struct {
	sys     *actors.System
	cfg     Config
	client  *http.Client
	logger  *slog.Logger
	metrics *metrics
	sub     *actors.Subscription

	// Owned by the scheduler goroutine (run).
	entries   map[string]*entry
	due       dueHeap
	endpoints map[endpointKey]*endpoint
	running   int
	lastSeq   uint64
	unknown   map[string]bool // APIs met with no registration (logged once)
	stopping  bool

	results chan result
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

type endpointKey struct{ api, target string }

type endpoint struct {
	running int
	waiting []*entry // due, waiting for one of the endpoint's slots
}

type entryState uint8

const (
	idle     entryState = iota // in the heap
	waiting                    // due, in its endpoint's waiting list
	inFlight                   // an attempt is running
	parked                     // its API is not registered: never attempted
)

// entry is the sender's copy of one pending delivery.
type entry struct {
	d      eob.Delivery
	api    *API
	state  entryState
	index  int  // in the heap, when idle
	reload bool // retried while an attempt ran: read it again afterwards
}

// result is a finished attempt: the event it recorded (nil: none, the
// sender stopped) and Commit's error.
type result struct {
	e   *entry
	ev  *eob.DeliveryAttempted
	err error
}

// Start subscribes to sys's committed-event feed, reads every pending
// delivery and starts sending. Stop it before sys.
func Start(sys *actors.System, cfg Config) (*Sender, error) {
	cfg.defaults()
	if len(cfg.MasterKey) == 0 {
		return nil, ErrNoMasterKey
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	sub, err := sys.Subscribe(feedOptions)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	s := &Sender{sys: sys, cfg: cfg, client: newClient(cfg), logger: cfg.Logger.With(slog.String("component", "webhooks")),
		metrics: m, sub: sub, entries: make(map[string]*entry), endpoints: make(map[endpointKey]*endpoint),
		unknown: make(map[string]bool), results: make(chan result, cfg.Total), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.rescan() // after subscribing: nothing committed since is missed
	go s.run()
	return s, nil
}

// Stop ends the sender: attempts running are abandoned without a record
// (made again after a restart) and Stop waits for them.
func (s *Sender) Stop() {
	s.cancel()
	<-s.done
}

func newClient(cfg Config) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowInsecure {
		dialer.Control = dialControl
	}
	transport := &http.Transport{
		Proxy:               nil, // a proxy would connect for us, past the address check
		DialContext:         dialer.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConns:        cfg.Total,
		MaxIdleConnsPerHost: cfg.PerEndpoint,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: cfg.Timeout,
		DisableCompression:  true,
	}
	return &http.Client{Transport: transport, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// feedOptions: of each committed batch the sender reads only its
// retries; new deliveries it reads from the state (eob.Pending after
// lastSeq), so the feed skips every other event undecoded.
var feedOptions = actors.FeedOptions{Types: []engine.EventType{eob.EvDeliveryRetried}}

// run is the scheduler: it owns every entry and endpoint.
func (s *Sender) run() {
	defer close(s.done)
	defer s.client.CloseIdleConnections()
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	feed := s.sub.C()
	for {
		select {
		case b, ok := <-feed:
			if !ok {
				feed = s.resubscribe()
				continue
			}
			s.committed(b)
		case r := <-s.results:
			s.finished(r)
		case <-tick.C:
			s.gauge()
		case <-s.ctx.Done():
			s.stopping = true
			s.sub.Close()
			for s.running > 0 {
				s.finished(<-s.results)
			}
			return
		}
		s.dispatch()
	}
}

// resubscribe follows the feed again after it ended (its index was cut
// from the WAL, or the System stops) and reads every pending delivery,
// since batches may have been missed. It returns nil (no more feed) when
// the System stopped: the sender then idles until Stop.
func (s *Sender) resubscribe() <-chan actors.FeedBatch {
	err := s.sub.Err()
	if errors.Is(err, actors.ErrFeedClosed) {
		s.logger.Warn("feed closed: the System stopped before the sender")
		return nil
	}
	s.logger.Warn("feed ended; subscribing again", slog.Any("err", err))
	sub, err := s.sys.Subscribe(feedOptions)
	if err != nil {
		s.logger.Error("feed: cannot subscribe again; deliveries wait for a restart", slog.Any("err", err))
		return nil
	}
	s.sub = sub
	s.rescan()
	return sub.C()
}

// committed handles one batch from the feed, and the others already
// waiting: deliveries enqueued since lastSeq, and retried ones.
func (s *Sender) committed(b actors.FeedBatch) {
	var retried []string
drain:
	for {
		for _, ev := range b.Events {
			if r, ok := ev.(*eob.DeliveryRetried); ok {
				retried = append(retried, r.ID)
			}
		}
		select {
		case next, ok := <-s.sub.C():
			if !ok {
				break drain // the main loop sees the close
			}
			b = next
		default:
			break drain
		}
	}
	var fresh, again []eob.Delivery
	s.sys.ReadState(func(st *engine.State) {
		fresh = eob.Pending(st, s.lastSeq)
		s.lastSeq = eob.Of(st).Seq
		for _, id := range retried {
			if d, ok := eob.Get(st, id); ok && d.Status == eob.StatusPending {
				again = append(again, d)
			}
		}
	})
	for _, d := range fresh {
		s.track(d)
	}
	for _, d := range again {
		if e := s.entries[d.ID]; e != nil && e.state == inFlight {
			e.reload = true
			continue
		}
		s.track(d)
	}
}

// rescan reads every pending delivery (at start, and when the feed had to
// be followed again).
func (s *Sender) rescan() {
	var all []eob.Delivery
	s.sys.ReadState(func(st *engine.State) {
		all = eob.Pending(st, 0)
		s.lastSeq = eob.Of(st).Seq
	})
	for _, d := range all {
		if e := s.entries[d.ID]; e == nil || e.state != inFlight {
			s.track(d)
		}
	}
}

// track makes d (a copy of the durable delivery, pending) an entry, or
// replaces an entry that is not in flight.
func (s *Sender) track(d eob.Delivery) {
	if old := s.entries[d.ID]; old != nil {
		s.untrack(old)
	}
	e := &entry{d: d, api: lookupAPI(d.API), index: -1}
	s.entries[d.ID] = e
	if e.api == nil {
		e.state = parked
		if !s.unknown[d.API] {
			s.unknown[d.API] = true
			s.logger.Warn("deliveries of an API with no registration wait", slog.String("api", d.API))
		}
		return
	}
	e.state = idle
	heap.Push(&s.due, e)
}

// untrack removes an entry that is not in flight.
func (s *Sender) untrack(e *entry) {
	switch e.state {
	case idle:
		heap.Remove(&s.due, e.index)
	case waiting:
		ep := s.endpoints[keyOf(e)]
		for i, w := range ep.waiting {
			if w == e {
				ep.waiting = append(ep.waiting[:i], ep.waiting[i+1:]...)
				break
			}
		}
	}
	delete(s.entries, e.d.ID)
}

func keyOf(e *entry) endpointKey { return endpointKey{e.d.API, e.d.Target} }

// dispatch starts the due attempts the bounds allow.
func (s *Sender) dispatch() {
	if s.stopping {
		return
	}
	now := s.sys.Now().UnixMilli()
	for s.running < s.cfg.Total && s.due.Len() > 0 && s.due[0].d.NextMs <= now {
		e := heap.Pop(&s.due).(*entry)
		k := keyOf(e)
		ep := s.endpoints[k]
		if ep == nil {
			ep = &endpoint{}
			s.endpoints[k] = ep
		}
		if ep.running < s.cfg.PerEndpoint {
			s.start(e, ep)
		} else {
			e.state = waiting
			ep.waiting = append(ep.waiting, e)
		}
	}
}

func (s *Sender) start(e *entry, ep *endpoint) {
	e.state = inFlight
	ep.running++
	s.running++
	d := e.d // the goroutine's own copy
	go func() {
		ev := s.attempt(e.api, &d)
		if ev == nil { // the sender stopped during the attempt
			s.results <- result{e: e, err: context.Canceled}
			return
		}
		s.results <- result{e: e, ev: ev, err: s.sys.Commit(ev)}
	}()
}

// finished takes an attempt's result: the entry follows the recorded
// event (or is dropped when nothing was recorded), and the endpoint's
// freed slot goes to one of its waiting deliveries.
func (s *Sender) finished(r result) {
	e := r.e
	k := keyOf(e)
	ep := s.endpoints[k]
	ep.running--
	s.running--
	switch {
	case r.err != nil:
		if !errors.Is(r.err, context.Canceled) && !errors.Is(r.err, actors.ErrStopped) {
			s.logger.Error("attempt not recorded; the delivery waits for a restart",
				slog.String("delivery", e.d.ID), slog.Any("err", r.err))
		}
		delete(s.entries, e.d.ID)
	default:
		s.observe(e, r.ev)
		if e.d.Status == eob.StatusPending {
			e.state = idle
			heap.Push(&s.due, e)
		} else {
			delete(s.entries, e.d.ID)
			if e.reload && !s.stopping {
				s.reload(e.d.ID)
			}
		}
	}
	if len(ep.waiting) > 0 && !s.stopping && s.running < s.cfg.Total {
		w := ep.waiting[0]
		ep.waiting = ep.waiting[1:]
		s.start(w, ep)
	}
	if ep.running == 0 && len(ep.waiting) == 0 {
		delete(s.endpoints, k)
	}
}

// observe applies a recorded attempt to the entry's copy (as Apply did to
// the durable delivery) and counts it.
func (s *Sender) observe(e *entry, ev *eob.DeliveryAttempted) {
	d := &e.d
	if ev.Attempt == d.RoundStart+1 {
		d.FirstMs = ev.AtMs
	}
	d.Attempts, d.LastMs, d.LastStatus, d.LastError = ev.Attempt, ev.AtMs, ev.HTTPStatus, ev.Error
	d.Status, d.NextMs = ev.Outcome, ev.NextMs
	s.metrics.deliveries.WithLabelValues(d.API, ev.Outcome).Inc()
	s.metrics.attempt.WithLabelValues(d.API).Observe(float64(ev.LatencyMs) / 1000)
	level := slog.LevelDebug
	if ev.Outcome != eob.StatusSucceeded {
		level = slog.LevelInfo
	}
	s.logger.Log(context.Background(), level, "webhook attempt", slog.String("delivery", d.ID), slog.String("api", d.API),
		slog.String("target", d.Target), slog.Int64("attempt", ev.Attempt), slog.Int64("status", ev.HTTPStatus),
		slog.String("outcome", ev.Outcome), slog.String("error", ev.Error))
}

// reload reads a delivery retried while its attempt ran.
func (s *Sender) reload(id string) {
	var d eob.Delivery
	var ok bool
	s.sys.ReadState(func(st *engine.State) { d, ok = eob.Get(st, id) })
	if ok && d.Status == eob.StatusPending {
		s.track(d)
	}
}

// gauge sets the age of the oldest pending delivery the sender holds.
func (s *Sender) gauge() {
	var oldest int64 = -1
	for _, e := range s.entries {
		if oldest < 0 || e.d.CreatedMs < oldest {
			oldest = e.d.CreatedMs
		}
	}
	age := 0.0
	if oldest >= 0 {
		age = max(0, float64(s.sys.Now().UnixMilli()-oldest)/1000)
	}
	s.metrics.oldest.Set(age)
}

// dueHeap orders idle entries by due time, then by enqueue order.
type dueHeap []*entry

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if h[i].d.NextMs != h[j].d.NextMs {
		return h[i].d.NextMs < h[j].d.NextMs
	}
	return h[i].d.Seq < h[j].d.Seq
}
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *dueHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *dueHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*h = old[:len(old)-1]
	return e
}
