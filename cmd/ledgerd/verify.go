package main

// ledgerd verify: the offline verifier's command line (logic in ledgerd/verify).
//
//	ledgerd verify [--data DIR] [--json]
//
// Exit status: 0 clean, 1 violations found, 2 usage error, data dir locked
// (a ledgerd is running on it) or unreadable.

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"ledgerd/verify"
)

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerd verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", envOr("LEDGERD_DATA", "./data"), "data directory to verify (not modified); env LEDGERD_DATA")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ledgerd verify [--data DIR] [--json]")
		fmt.Fprintln(stderr, "Replays the WAL from scratch and from every snapshot without serving, checks the ledger's")
		fmt.Fprintln(stderr, "invariants, and exits 0 when clean, 1 on any violation, 2 on usage or lock errors.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ledgerd verify: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	rep, err := verify.Run(verify.Options{DataDir: *dataDir})
	if err != nil {
		// The package's errors start with "verify: ".
		fmt.Fprintf(stderr, "ledgerd %v\n", err)
		if errors.Is(err, verify.ErrLocked) {
			fmt.Fprintln(stderr, "stop ledgerd (or wait for it to exit) and run verify again")
		}
		return 2
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "ledgerd verify: %v\n", err)
			return 2
		}
	} else {
		printReport(stdout, rep)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

func printReport(w io.Writer, r *verify.Report) {
	fmt.Fprintf(w, "ledgerd verify %s\n", r.DataDir)
	fmt.Fprintf(w, "  wal          %d segment(s), %d bytes, entries %d..%d; %d entries and %d events checked\n",
		r.Segments, r.WALBytes, r.WALFirst, r.WALLast, r.Entries, r.Events)
	if len(r.ByType) > 0 {
		types := make([]string, 0, len(r.ByType))
		for t := range r.ByType {
			types = append(types, t)
		}
		slices.Sort(types)
		parts := make([]string, len(types))
		for i, t := range types {
			parts[i] = fmt.Sprintf("%s %d", t, r.ByType[t])
		}
		fmt.Fprintf(w, "  events       %s\n", strings.Join(parts, ", "))
	}
	if t := r.TornTail; t != nil {
		fmt.Fprintf(w, "  torn tail    would be cut at start-up: %d bytes of %s from offset %d (index %d on; never acknowledged)\n",
			t.Bytes, t.File, t.Offset, t.FirstLostIndex)
	}
	for _, s := range r.Snapshots {
		status := "ok"
		switch {
		case !s.Valid:
			status = "INVALID: " + s.Error
		case s.Error != "":
			status = s.Error
		case !s.Rebuilt:
			status = "valid, not rebuilt"
		}
		fmt.Fprintf(w, "  snapshot     %s (index %d): %s\n", s.Path, s.Index, status)
	}
	for _, b := range r.Rebuilds {
		fmt.Fprintf(w, "  rebuild      %s\n", b)
	}
	if len(r.Rebuilds) == 0 {
		fmt.Fprintf(w, "  state        not rebuilt\n")
	} else {
		fmt.Fprintf(w, "  state        index %d; %d wallets, total balance %d (refundable %d); %d partners\n",
			r.Index, r.Wallets, r.Balance, r.Refundable, r.Partners)
		fmt.Fprintf(w, "               %d codes (%d redeemed, %d revoked); %d idempotency records; %d attempt records\n",
			r.Codes, r.Redeemed, r.Revoked, r.Idem, r.Attempts)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note         %s\n", n)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  VIOLATION    %s\n", v)
	}
	if more := r.ViolationCount - len(r.Violations); more > 0 {
		fmt.Fprintf(w, "  VIOLATION    ... and %d more\n", more)
	}
	verdict := "OK"
	if !r.OK {
		verdict = fmt.Sprintf("FAILED: %d violation(s)", r.ViolationCount)
	}
	fmt.Fprintf(w, "%s in %v\n", verdict, r.Duration.Round(time.Millisecond))
}
