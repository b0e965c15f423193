package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// RecoveryCmd is `ledgerbench recovery`: build a WAL of N events, then time
// a cold start (snapshot + replay) of it.
func RecoveryCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("recovery", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg RecoveryConfig
	fs.IntVar(&cfg.Events, "events", 2_000_000, "deduct events in the log")
	fs.IntVar(&cfg.Users, "users", 100_000, "wallets they touch")
	fs.IntVar(&cfg.Batch, "batch", 1024, "events per WAL entry (one group commit)")
	fs.Float64Var(&cfg.SnapshotAt, "snapshot-at", 0, "fraction of the log a snapshot covers (0: replay it all)")
	fs.StringVar(&cfg.Dir, "dir", "", "data dir to build in (default: a temp dir, removed after)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	res, err := RunRecovery(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench recovery:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, stderr, res)
	}
	fmt.Fprintf(stdout, "built %d events (%.1f MB of WAL) in %v\nrecovered in %v: %d events replayed, %.0f events/s\n",
		res.Events, float64(res.WALBytes)/1e6, res.Build.Round(time.Millisecond), res.Recover.Round(time.Millisecond),
		res.Replayed, res.EventsPerSec)
	return 0
}

// WalletsCmd is `ledgerbench wallets`: memory per wallet with many wallets
// of which few are active.
func WalletsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wallets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg WalletsConfig
	fs.IntVar(&cfg.Wallets, "wallets", 1_000_000, "wallets to create")
	fs.IntVar(&cfg.Active, "active", 10_000, "of which this many stay in use")
	fs.IntVar(&cfg.Workers, "workers", 64, "concurrent callers while creating them")
	fs.DurationVar(&cfg.Idle, "idle", 2*time.Second, "wallet actor idle time before it passivates")
	fs.DurationVar(&cfg.Activity, "activity", 5*time.Second, "how long the active wallets are used before measuring")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if fs.Parse(args) != nil {
		return 2
	}
	if cfg.Active < 1 || cfg.Active > cfg.Wallets || cfg.Workers < 1 {
		fmt.Fprintln(stderr, "ledgerbench wallets: need 1 <= active <= wallets and workers >= 1")
		return 2
	}
	res, err := RunWallets(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench wallets:", err)
		return 1
	}
	if *asJSON {
		return printJSON(stdout, stderr, res)
	}
	fmt.Fprintf(stdout, "%d wallets, %d active (%d live wallet actors)\n", res.Wallets, res.Active, res.LiveActors)
	fmt.Fprintf(stdout, "with their credit references: RSS %.0f B/wallet, heap %.0f B/wallet\n", res.RSSPerWallet, res.HeapPerWallet)
	fmt.Fprintf(stdout, "after the references expired: heap %.0f B/wallet, RSS %.0f B/wallet\n", res.HeapPerIdleWallet, res.RSSPerIdleWallet)
	return 0
}

func printJSON(stdout, stderr io.Writer, v any) int {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
