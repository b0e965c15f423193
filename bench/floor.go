package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// The durable floor is the simplest server that never acknowledges what a
// crash could lose: the ceiling's handler, answering only after the
// request's bytes are written and fsynced. One goroutine commits in groups:
// everything pending is one write and one fsync, then every request of the
// group is answered. Nothing else: no parsing, no state, no checksums. A
// ledger that does auth, JSON, rate limits, idempotency and actors and still
// beats it commits smarter than the naive loop (issue 13).

// ErrFloorClosed is what a request waiting on a closed floor log gets.
var ErrFloorClosed = errors.New("bench: floor log closed")

// FloorLog is the floor's group-commit log: Append blocks until its bytes
// are on disk.
type FloorLog struct {
	f *os.File

	mu      sync.Mutex
	buf     []byte
	waiters []chan error
	closed  bool
	kick    chan struct{}
	done    chan struct{}
	err     error // the first write or sync error; every later Append gets it

	// Syncs and Records count fsyncs and the records they covered.
	Syncs, Records int64
}

// OpenFloorLog creates (truncating) path and starts its commit loop.
func OpenFloorLog(path string) (*FloorLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("bench: floor log: %w", err)
	}
	l := &FloorLog{f: f, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go l.loop()
	return l, nil
}

var floorWaiters = sync.Pool{New: func() any { return make(chan error, 1) }}

// Append copies rec into the pending group and returns once it is synced.
func (l *FloorLog) Append(rec []byte) error {
	ch := floorWaiters.Get().(chan error)
	l.mu.Lock()
	if l.closed || l.err != nil {
		err := l.err
		l.mu.Unlock()
		floorWaiters.Put(ch)
		if err == nil {
			err = ErrFloorClosed
		}
		return err
	}
	l.buf = append(l.buf, rec...)
	l.buf = append(l.buf, '\n')
	l.waiters = append(l.waiters, ch)
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	err := <-ch
	floorWaiters.Put(ch)
	return err
}

// loop writes and syncs whatever is pending, one group at a time.
func (l *FloorLog) loop() {
	defer close(l.done)
	var buf []byte
	var waiters []chan error
	for range l.kick {
		l.mu.Lock()
		buf, l.buf = l.buf, buf[:0]
		waiters, l.waiters = l.waiters, waiters[:0]
		closed := l.closed
		l.mu.Unlock()
		if len(waiters) > 0 {
			_, err := l.f.Write(buf)
			if err == nil {
				err = l.f.Sync()
			}
			if err != nil {
				err = fmt.Errorf("bench: floor log: %w", err)
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
			}
			l.Syncs++
			l.Records += int64(len(waiters))
			for _, w := range waiters {
				w <- err
			}
			clear(waiters)
		}
		if closed {
			return
		}
	}
}

// Close answers what is pending, then closes the file.
func (l *FloorLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.kick <- struct{}{}
	<-l.done
	return l.f.Close()
}

// NewFloorServer is the ceiling's server whose handler first appends the
// request body to log and waits for its fsync; a failed sync answers 500.
func NewFloorServer(log *FloorLog) *fasthttp.Server {
	return &fasthttp.Server{
		Name:        serverName,
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, WriteTimeout: 30 * time.Second,
		Handler: func(ctx *fasthttp.RequestCtx) {
			if err := log.Append(ctx.PostBody()); err != nil {
				ctx.Error("floor log failed", fasthttp.StatusInternalServerError)
				return
			}
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetContentType("application/json")
			ctx.SetBody(CeilingBody)
		},
	}
}

// FloorCmd is `ledgerbench floor [--listen 127.0.0.1:0] [--dir DIR]`: the
// durable floor, its log floor.log in DIR (default a new directory under
// the system temp dir, where ledgerbench puts ledgerd's data dir too, so
// both sync on the same file system). It prints its address as the first
// line of stdout and serves until SIGTERM or SIGINT, then removes a
// directory it created.
func FloorCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerbench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	dir := fs.String("dir", "", "directory of floor.log (default: a new temp dir, removed at exit)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "ledgerbench floor:", err)
		return 1
	}
	d := *dir
	if d == "" {
		var err error
		if d, err = os.MkdirTemp("", "ledgerbench-floor-"); err != nil {
			return fail(err)
		}
		defer os.RemoveAll(d)
	}
	log, err := OpenFloorLog(filepath.Join(d, "floor.log"))
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Close()
		return fail(err)
	}
	fmt.Fprintln(stdout, ln.Addr().String())
	srv := NewFloorServer(log)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		err = srv.Shutdown()
	}
	if cerr := log.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stderr, "ledgerbench floor: %d records in %d fsyncs\n", log.Records, log.Syncs)
	return 0
}
