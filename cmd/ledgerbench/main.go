package main

import (
	"fmt"
	"io"
	"os"

	"ledgerd/bench"
)

// command is one subcommand: it gets the arguments after its name and
// returns the exit code. Add a subcommand by adding a row.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) int
}

var commands = []command{
	{"run", "drive targets (ledgerd, the ceiling, external servers) with a scenario and report", bench.RunCmd},
	{"apis", "every API's main write against the floor and the ceiling, with a deduct before and after (issue 13's table)", bench.ApisCmd},
	{"ceiling", "bare fasthttp server answering a deduct-sized JSON body (prints its address)", bench.CeilingCmd},
	{"floor", "the ceiling answering only after a group-commit fsync of each request (prints its address)", bench.FloorCmd},
	{"recovery", "build a WAL of N events and time a cold start (snapshot + replay)", bench.RecoveryCmd},
	{"wallets", "memory per wallet with many wallets of which few are active", bench.WalletsCmd},
	{"stalls", "how long the machine itself pauses threads (spinners beside an fsync loop)", bench.StallsCmd},
	{"tracetop", "the longest runs, waits and runtime ranges of an execution trace (ledgerd --trace)", bench.TraceTopCmd},
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		for _, c := range commands {
			if c.name == args[0] {
				return c.run(args[1:], stdout, stderr)
			}
		}
		if args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "ledgerbench: unknown command %q\n", args[0])
		}
	}
	fmt.Fprintln(stderr, "usage: ledgerbench <command> [flags]  (ledgerbench <command> -h for its flags)")
	for _, c := range commands {
		fmt.Fprintf(stderr, "  %-10s %s\n", c.name, c.summary)
	}
	return 2
}
