package bench

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"ledgerd/actors"
	"ledgerd/engine"
)

// WalletsConfig sets up a memory measurement.
type WalletsConfig struct {
	Wallets  int           // wallets created (one operator credit each)
	Active   int           // of which this many keep being used
	Workers  int           // concurrent callers while creating them
	Idle     time.Duration // wallet actor idle time before passivation
	Activity time.Duration // how long the active wallets are used before measuring
}

// WalletsResult is what the wallets cost.
type WalletsResult struct {
	Wallets           int     `json:"wallets"`
	Active            int     `json:"active"`
	LiveActors        int64   `json:"live_wallet_actors"`
	RSSBytes          int64   `json:"rss_delta_bytes"`
	HeapBytes         int64   `json:"heap_delta_bytes"`
	RSSPerWallet      float64 `json:"rss_bytes_per_wallet"`
	HeapPerWallet     float64 `json:"heap_bytes_per_wallet"`
	HeapPerRefRecord  float64 `json:"heap_bytes_per_credit_reference"`
	HeapAfterExpiry   int64   `json:"heap_delta_after_references_expired"`
	HeapPerIdleWallet float64 `json:"heap_bytes_per_wallet_after_references_expired"`
	RSSPerIdleWallet  float64 `json:"rss_bytes_per_wallet_after_references_expired"`
}

// RunWallets creates cfg.Wallets wallets through the actors (each one an
// operator credit with its own reference), keeps cfg.Active of them busy,
// lets the rest passivate, and measures the process's memory. It then
// lets the credit references expire (as they do after the retention
// window) and measures again: what an idle wallet costs on its own.
func RunWallets(cfg WalletsConfig) (WalletsResult, error) {
	dir, err := os.MkdirTemp("", "ledgerbench-wallets-")
	if err != nil {
		return WalletsResult{}, err
	}
	defer os.RemoveAll(dir)
	var clock clockOffset
	sys, err := actors.Start(actors.Config{DataDir: dir, NoSync: true, SnapshotEvery: 1 << 40,
		WalletIdle: cfg.Idle, SweepEvery: cfg.Idle / 4, Now: clock.now, ExpiryEvery: 250 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return WalletsResult{}, err
	}
	defer sys.Stop()
	baseRSS, baseHeap := memory()
	if err := createWallets(sys, cfg); err != nil {
		return WalletsResult{}, err
	}
	use := func(until time.Time) {
		for i := 0; time.Now().Before(until); i++ {
			do(sys, actors.KindBalance, "u"+strconv.Itoa(i%cfg.Active), "", 0)
		}
	}
	use(time.Now().Add(cfg.Activity))
	res := WalletsResult{Wallets: cfg.Wallets, Active: cfg.Active}
	rss, heap := memory()
	res.RSSBytes, res.HeapBytes = rss-baseRSS, heap-baseHeap
	res.LiveActors = sys.LiveWallets()
	res.RSSPerWallet = float64(res.RSSBytes) / float64(cfg.Wallets)
	res.HeapPerWallet = float64(res.HeapBytes) / float64(cfg.Wallets)

	clock.add(actors.DefaultIdemRetention + time.Hour) // the credit references expire
	for pending(sys) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
	use(time.Now().Add(cfg.Activity))
	rss, heap = memory()
	res.RSSPerIdleWallet = float64(rss-baseRSS) / float64(cfg.Wallets)
	res.HeapAfterExpiry = heap - baseHeap
	res.HeapPerIdleWallet = float64(res.HeapAfterExpiry) / float64(cfg.Wallets)
	res.HeapPerRefRecord = float64(res.HeapBytes-res.HeapAfterExpiry) / float64(cfg.Wallets)
	return res, nil
}

func createWallets(sys *actors.System, cfg WalletsConfig) error {
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Workers)
	for w := range cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := w; u < cfg.Wallets; u += cfg.Workers {
				id := "u" + strconv.Itoa(u)
				if st := do(sys, actors.KindCredit, id, "c"+id, 1000); st != actors.StatusOK {
					errs <- fmt.Errorf("credit %s: status %d", id, st)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func do(sys *actors.System, kind actors.Kind, user, ref string, amount int64) actors.Status {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Partner, op.User, op.Reference, op.Amount = kind, "p", user, ref, amount
	sys.Do(op)
	return op.Status
}

func pending(sys *actors.System) int {
	var n int
	sys.ReadState(func(st *engine.State) { n = st.IdemLen() })
	return n
}

// memory returns the resident set size and the live heap after a full GC.
func memory() (rss, heap int64) {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b, err := os.ReadFile("/proc/self/statm")
	if err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseInt(f[1], 10, 64)
			rss = pages * int64(os.Getpagesize())
		}
	}
	return rss, int64(ms.HeapAlloc)
}

// clockOffset is a clock that can be moved forward, so retention windows
// pass without waiting for them.
type clockOffset struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clockOffset) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clockOffset) add(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}
