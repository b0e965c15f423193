package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"ledgerd/api/httpx"
)

type options struct {
	listen      string
	dsn         string
	apiKey      string
	pool        int
	seedUsers   int
	seedBalance int64
	reset       bool
}

// defaultPool is one connection per load-generator connection (ledgerbench
// uses 64): no request queues for a connection, and up to 64 transactions
// can wait on one WAL flush, which PostgreSQL then shares among them (group
// commit); it stays under PostgreSQL's default max_connections (100). On a
// 2-CPU machine, 8, 16, 32 and 64 connections gave about 1,100, 2,300,
// 3,000 and 4,300 deducts/s: a commit-bound workload wants many
// transactions in flight, not the "2 × cores + disks" of CPU-bound ones.
const defaultPool = 64

// maxSeedUsers bounds --seed-users.
const maxSeedUsers = 100_000_000

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pgref:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("pgref", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "HTTP listen address (port 0: any free port)")
	fs.StringVar(&o.dsn, "dsn", "", "PostgreSQL connection string (empty: the PG* environment variables)")
	fs.StringVar(&o.apiKey, "api-key", "pk_test_pgref", "the one x-api-key accepted")
	fs.IntVar(&o.pool, "pool", defaultPool, "PostgreSQL connections, all opened at start")
	fs.IntVar(&o.seedUsers, "seed-users", 0, "create users u0..uN-1 (existing users keep their balance)")
	fs.Int64Var(&o.seedBalance, "seed-balance", 1_000_000, "balance of each seeded user")
	fs.BoolVar(&o.reset, "reset", false, "drop and recreate the tables first")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	case o.apiKey == "":
		return o, errors.New("--api-key must not be empty")
	case o.seedUsers < 0 || o.seedUsers > maxSeedUsers:
		return o, fmt.Errorf("--seed-users outside 0..%d", maxSeedUsers)
	case o.seedBalance < 0:
		return o, errors.New("--seed-balance must not be negative")
	}
	return o, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, o, log)
	if err != nil {
		return err
	}
	defer st.pool.Close()

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, ln.Addr().String())
	srv := httpx.NewServer(newHandler(st, o.apiKey, log))
	srv.Name = "pgref"
	log.Info("pgref listening", slog.String("addr", ln.Addr().String()), slog.Int("pool", o.pool), slog.Int("cpus", runtime.NumCPU()))
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("pgref stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	log.Info("pgref stopped")
	return nil
}

// openStore connects, checks the durability settings, creates the schema
// and seeds users.
func openStore(ctx context.Context, o options, log *slog.Logger) (*store, error) {
	config, err := pgx.ParseConfig(o.dsn)
	if err != nil {
		return nil, fmt.Errorf("--dsn: %w", err)
	}
	config.RuntimeParams["synchronous_commit"] = "on"
	config.RuntimeParams["application_name"] = "pgref"
	p, err := openPool(ctx, config, o.pool)
	if err != nil {
		return nil, err
	}
	st := &store{pool: p}
	if err := st.checkDurable(ctx, log); err != nil {
		p.Close()
		return nil, err
	}
	if err := st.migrate(ctx, o.reset); err != nil {
		p.Close()
		return nil, err
	}
	if o.seedUsers > 0 {
		start := time.Now()
		created, err := st.seed(ctx, o.seedUsers, o.seedBalance)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("pgref: seed: %w", err)
		}
		log.Info("users seeded", slog.Int("users", o.seedUsers), slog.Int64("created", created),
			slog.Int64("balance", o.seedBalance), slog.Duration("took", time.Since(start)))
	}
	return st, nil
}
