package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"ledgerd/actors"
	"ledgerd/actors/outbox"
	"ledgerd/api"
	"ledgerd/api/checkout"
	"ledgerd/api/paychat"
	"ledgerd/wal"
)

type options struct {
	dataDir       string
	listen        string
	demo          bool
	snapshotEvery uint64
	snapshotFixed bool
	walSegment    int
	walPrefill    bool
	gcPercent     int
	logLevel      string
	cpuProfile    string
	execTrace     string
	tlsCert       string // PEM certificate chain; with tlsKey, serve HTTPS
	tlsKey        string
	requireHTTPS  bool
	feedExport    string // append every committed event to this file (change-data capture)
	publicURL     string // absolute base of the URLs handed out; "" = from the listen address
	// webhooksInsecure lets webhooks go to http:// and non-public (loopback,
	// private) addresses: development and tests; --demo implies it.
	webhooksInsecure bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("ledgerd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.dataDir, "data", envOr("LEDGERD_DATA", "./data"), "data directory (WAL, snapshots, admin token); env LEDGERD_DATA")
	fs.StringVar(&o.listen, "listen", envOr("LEDGERD_LISTEN", ":8080"), "listen address; env LEDGERD_LISTEN")
	fs.BoolVar(&o.demo, "demo", false, "seed a demo PayShards partner and user u_123 with 1500 shards, print the key")
	fs.Uint64Var(&o.snapshotEvery, "snapshot-every", 100_000, "events between snapshots (at least; also at least the state's size unless --snapshot-fixed)")
	fs.BoolVar(&o.snapshotFixed, "snapshot-fixed", false, "snapshot every --snapshot-every events whatever the state's size (tests, soaks)")
	fs.IntVar(&o.gcPercent, "gc-percent", defaultGCPercent, "garbage collector target, as GOGC (runtime/debug.SetGCPercent); the GOGC environment variable wins; the heap is also held to half the machine's memory unless GOMEMLIMIT is set")
	fs.BoolVar(&o.walPrefill, "wal-prefill", true, "write zeros ahead of the WAL's append position, so each fsync overwrites allocated space (false: append, for comparisons)")
	fs.IntVar(&o.walSegment, "wal-segment-size", wal.DefaultSegmentSize, "WAL segment file size in bytes; truncation after a snapshot deletes whole segments (tests and soaks set it small)")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (profiling)")
	fs.StringVar(&o.execTrace, "trace", "", "write a runtime execution trace of the whole run to this file (go tool trace; latency analysis)")
	fs.StringVar(&o.tlsCert, "tls-cert", os.Getenv("LEDGERD_TLS_CERT"), "serve HTTPS with this PEM certificate (chain) file; needs --tls-key; env LEDGERD_TLS_CERT")
	fs.StringVar(&o.tlsKey, "tls-key", os.Getenv("LEDGERD_TLS_KEY"), "PEM private key file of --tls-cert; env LEDGERD_TLS_KEY")
	requireHTTPS, envErr := envBool("LEDGERD_REQUIRE_HTTPS")
	fs.BoolVar(&o.requireHTTPS, "require-https", requireHTTPS,
		"reject plain-HTTP PayPay.cards calls (TLS here, or X-Forwarded-Proto: https from a proxy); env LEDGERD_REQUIRE_HTTPS=1")
	fs.StringVar(&o.feedExport, "feed-export", "", "append every committed event to this file, one line each (index, position, type, digest), resuming after a restart")
	fs.StringVar(&o.publicURL, "public-url", os.Getenv("LEDGERD_PUBLIC_URL"),
		"absolute base of the URLs ledgerd hands out (receipt_url, ...), e.g. https://pay.example.com; default from --listen (http://127.0.0.1:PORT); env LEDGERD_PUBLIC_URL")
	insecure, insecureErr := envBool("LEDGERD_WEBHOOKS_INSECURE")
	fs.BoolVar(&o.webhooksInsecure, "webhooks-insecure", insecure,
		"let webhooks go to http:// URLs and loopback or private addresses (development; --demo implies it); env LEDGERD_WEBHOOKS_INSECURE=1")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	err := errors.Join(envErr, insecureErr)
	if err == nil && (o.tlsCert == "") != (o.tlsKey == "") {
		err = errors.New("--tls-cert and --tls-key go together: give both or neither")
	}
	if err == nil && o.publicURL != "" {
		o.publicURL, err = checkPublicURL(o.publicURL)
	}
	if err == nil && o.walSegment < minWALSegment {
		err = fmt.Errorf("--wal-segment-size %d: at least %d bytes", o.walSegment, minWALSegment)
	}
	o.webhooksInsecure = o.webhooksInsecure || o.demo
	if err != nil {
		fmt.Fprintln(stderr, "ledgerd:", err)
	}
	return o, err
}

// defaultGCPercent is --gc-percent's default. The ledger's heap is mostly
// long-lived (idempotency records), and with GOGC=100 on two cores the
// collector's mark phases ran 50-170 ms, during which allocating
// goroutines, the committer among them, were charged mark assists of up to
// 83 ms (execution traces, 64-connection deducts): a larger target gives the
// collector more runway, so it runs less often and assists less.
const defaultGCPercent = 400

// tuneGC sets the collector's target unless GOGC is set, and a soft memory
// limit of half the machine unless GOMEMLIMIT is set, so the larger target
// never lets the heap grow past what the machine holds.
func tuneGC(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(actors.HalfMachineMemory())
	}
}

// minWALSegment is the smallest --wal-segment-size: below a few entries
// per segment every append would create a file.
const minWALSegment = 4 << 10

// envBool reads a boolean variable: unset or empty is false; otherwise
// strconv.ParseBool's forms (1, true, 0, false, ...).
func envBool(name string) (bool, error) {
	v := os.Getenv(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want 1 or 0", name, v)
	}
	return b, nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "verify" {
		return runVerify(args[1:], stdout, stderr)
	}
	o, err := parseFlags(args, stderr)
	if err != nil {
		return 2
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		fmt.Fprintln(stderr, "ledgerd: bad --log-level:", err)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)
	tuneGC(o.gcPercent)
	if o.cpuProfile != "" {
		stopProfile, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			logger.Error("cpu profile", slog.Any("err", err))
			return 1
		}
		defer stopProfile()
	}
	if o.execTrace != "" {
		stopTrace, err := startTrace(o.execTrace)
		if err != nil {
			logger.Error("trace", slog.Any("err", err))
			return 1
		}
		defer stopTrace()
	}
	if err := serve(o, logger, stdout); err != nil {
		logger.Error("ledgerd stopped", slog.Any("err", err))
		return 1
	}
	return 0
}

func serve(o options, logger *slog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	unlock, err := lockDataDir(o.dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	token, err := adminToken(o.dataDir, logger)
	if err != nil {
		return err
	}
	if o.tlsCert != "" {
		// Load once before recovery, so a bad file stops start-up at once
		// with a clear message; ServeTLS loads the same files again.
		if _, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
	}
	start := time.Now()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sys, err := actors.Start(actors.Config{DataDir: o.dataDir, SnapshotEvery: o.snapshotEvery, SnapshotFixed: o.snapshotFixed, WALSegmentSize: o.walSegment, WALNoPrefill: !o.walPrefill, Logger: logger, Metrics: reg})
	if err != nil {
		return fmt.Errorf("recover ledger: %w", err)
	}
	logger.Info("ledger recovered", slog.String("data", o.dataDir), slog.Duration("took", time.Since(start)))
	// After recovery: a data dir this binary refuses gets no new file.
	webhookKey, err := outbox.LoadMasterKey(o.dataDir)
	if err != nil {
		sys.Stop()
		return err
	}
	exportDone := make(<-chan error) // never ready without an export
	var export *feedExport
	if o.feedExport != "" {
		if export, err = startFeedExport(sys, o.feedExport); err != nil {
			sys.Stop()
			return err
		}
		exportDone = export.done
		logger.Info("feed export", slog.String("path", o.feedExport))
	}
	if o.demo {
		if err := errors.Join(seedDemo(sys, stdout), seedPaySmartDemo(sys, stdout, webhookKey),
			paychat.SeedDemo(sys, stdout, webhookKey)); err != nil {
			sys.Stop()
			return err
		}
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		sys.Stop()
		return fmt.Errorf("listen: %w", err)
	}
	publicURL := o.publicURL
	if publicURL == "" {
		publicURL = defaultPublicURL(ln.Addr(), o.tlsCert != "")
	}
	srv := api.NewServer(sys, api.Config{AdminToken: token, RequireHTTPS: o.requireHTTPS, Metrics: reg,
		PublicURL: publicURL, WebhookKey: webhookKey, WebhooksInsecure: o.webhooksInsecure})
	webhooks, err := outbox.Start(sys, outbox.Config{MasterKey: webhookKey, AllowInsecure: o.webhooksInsecure, Registerer: reg, Logger: logger})
	if err != nil {
		ln.Close()
		sys.Stop()
		return fmt.Errorf("webhook sender: %w", err)
	}
	expirer, err := startCheckout(sys, o.demo, checkout.Config{PublicURL: publicURL, WebhookKey: webhookKey}, stdout)
	if err != nil {
		webhooks.Stop()
		ln.Close()
		sys.Stop()
		return err
	}
	logger.Info("ledgerd listening", slog.String("addr", ln.Addr().String()), slog.String("publicURL", publicURL),
		slog.Bool("requireHTTPS", o.requireHTTPS), slog.Bool("webhooksInsecure", o.webhooksInsecure))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	if o.tlsCert != "" {
		logger.Info("serving TLS", slog.String("cert", o.tlsCert))
		go func() { served <- srv.ServeTLS(ln, o.tlsCert, o.tlsKey) }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	select {
	case err = <-served:
	case err = <-exportDone: // the export failed: stop rather than let it fall behind for good
		export.done <- err // for wait
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		srv.Shutdown(shutdownCtx)
		cancel()
	case <-ctx.Done():
		logger.Info("shutting down: draining requests")
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = srv.Shutdown(shutdownCtx)
		cancel()
	}
	// HTTP is drained; then the sender (an attempt it abandons is made
	// again after a restart), then the ledger.
	expirer.Stop()
	webhooks.Stop()
	if stopErr := sys.Stop(); stopErr != nil {
		err = errors.Join(err, stopErr)
	}
	if export != nil {
		if exportErr := export.wait(); exportErr != nil && !errors.Is(err, exportErr) {
			err = errors.Join(err, exportErr)
		}
	}
	logger.Info("ledgerd stopped cleanly", slog.Uint64("events", sys.Stats().Events))
	return err
}

// checkPublicURL validates --public-url: an absolute http or https URL
// with a host, no query, fragment or user info; its trailing slashes are
// dropped so paths append to it.
func checkPublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("--public-url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("--public-url %q: want http(s)://host[:port][/path], without user info, query or fragment", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// defaultPublicURL is the public URL when --public-url is not given: the
// listening address, with the loopback address for an unspecified host
// (":8080", "0.0.0.0:8080", "[::]:8080").
func defaultPublicURL(addr net.Addr, tls bool) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return scheme + "://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

func startCPUProfile(path string) (func(), error) {
	return startRecording(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
}

func startTrace(path string) (func(), error) {
	return startRecording(path, trace.Start, trace.Stop)
}

// startRecording creates path and starts a whole-run recorder (CPU profile,
// execution trace) writing to it; the returned func stops it and closes the file.
func startRecording(path string, start func(io.Writer) error, stop func()) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { stop(); f.Close() }, nil
}

// lockDataDir takes an exclusive lock so two servers never share a WAL.
// The kernel drops it when the process dies, even by kill -9.
func lockDataDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data dir %s is in use by another ledgerd: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
