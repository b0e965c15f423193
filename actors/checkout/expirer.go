package checkout

import (
	"errors"
	"log/slog"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
	ck "ledgerd/engine/checkout"
)

// ExpirerConfig sets up an Expirer. Zero values take the defaults noted.
type ExpirerConfig struct {
	Every  time.Duration // how often due payments are looked for; default 1 s
	Batch  int           // payments expired per look at most; default 256
	Notice NoticeFunc    // the payment.failed webhook body; required
	Logger *slog.Logger  // default slog.Default()
}

// Expirer fails pending payments whose expiry has passed (failure reason
// expired, one payment.failed webhook each), on the System's clock. Each
// is decided at the payment's actor, so a card submitted at the same
// moment either completes it first or finds it expired.
type Expirer struct {
	sys  *actors.System
	cfg  ExpirerConfig
	stop chan struct{}
	done chan struct{}
}

// ErrNoNotice: ExpirerConfig.Notice is nil.
var ErrNoNotice = errors.New("checkout: expirer needs a Notice function")

// StartExpirer starts the expirer; Stop it before the System.
func StartExpirer(sys *actors.System, cfg ExpirerConfig) (*Expirer, error) {
	if cfg.Notice == nil {
		return nil, ErrNoNotice
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	x := &Expirer{sys: sys, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	go x.run()
	return x, nil
}

// Stop ends the expirer and waits for it.
func (x *Expirer) Stop() {
	close(x.stop)
	<-x.done
}

func (x *Expirer) run() {
	defer close(x.done)
	tick := time.NewTicker(x.cfg.Every)
	defer tick.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-tick.C:
			x.Sweep()
		}
	}
}

// Sweep expires every payment due now (in batches), and returns how many
// it failed.
func (x *Expirer) Sweep() int {
	failed := 0
	for {
		var due []ck.Due
		now := x.sys.Now().UnixMilli()
		x.sys.ReadState(func(st *engine.State) { due = ck.DuePayments(st, now, x.cfg.Batch) })
		expired := 0
		for _, d := range due {
			select {
			case <-x.stop:
				return failed
			default:
			}
			s, err := Expire(x.sys, d.ID, x.cfg.Notice)
			if err != nil {
				x.cfg.Logger.Warn("checkout: expire payment", slog.String("payment", d.ID), slog.Any("err", err))
				continue
			}
			if s.Outcome == OutcomeExpired {
				expired++
			}
		}
		failed += expired
		if len(due) < x.cfg.Batch || expired == 0 {
			return failed
		}
	}
}
