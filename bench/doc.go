// Package bench is ledgerbench's logic: load scenarios against ledgerd's
// HTTP APIs, a closed-loop and an open-loop (coordinated-omission-free)
// driver on fasthttp's client, the bare-fasthttp ceiling server, target
// processes (ledgerd, ceiling, external servers), latency histograms
// (HdrHistogram) and the text, JSON and HTML reports.
//
// It talks to ledgerd only over HTTP (public and admin APIs, /metrics) and
// imports nothing of ledgerd's internals outside tests. bench/pgref,
// recovery.go and wallets.go belong to other commands.
package bench
