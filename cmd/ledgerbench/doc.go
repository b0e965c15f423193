// Command ledgerbench is ledgerd's load generator and benchmark harness.
// Its logic lives in package bench; this file parses the subcommand and
// dispatches.
//
//	ledgerbench run     [--scenario payshards-deduct] [--conns 64] [--duration 10s] [--warmup 2s]
//	                    [--rate 0] [--users 1000] [--targets floor,ledgerd,ceiling] [--out DIR] [--seed N] ...
//	ledgerbench apis    [--conns 64] [--wide 256] [--duration 10s] [--out DIR]   (every API's main write vs floor and ceiling)
//	ledgerbench ceiling [--listen 127.0.0.1:0]
//	ledgerbench floor   [--listen 127.0.0.1:0] [--dir DIR]
//	ledgerbench recovery [--events 2000000] [--users 100000] [--snapshot-at 0.5]
//	ledgerbench wallets [--wallets 1000000] [--active 10000]
//	ledgerbench tracetop [-n 15] TRACE_FILE   (the longest runs, waits and GC phases of ledgerd --trace)
//
// It owns only the command line; scenarios, load generation, reports and
// the recovery and memory runs live in package bench.
package main
