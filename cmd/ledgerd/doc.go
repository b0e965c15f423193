// Command ledgerd serves the partner payment APIs on one in-memory ledger
// with a write-ahead log.
//
//	ledgerd [--data ./data] [--listen :8080] [--demo]
//	        [--tls-cert FILE --tls-key FILE] [--require-https]
//
// Environment: LEDGERD_DATA, LEDGERD_LISTEN, LEDGERD_ADMIN_TOKEN,
// LEDGERD_TLS_CERT, LEDGERD_TLS_KEY and LEDGERD_REQUIRE_HTTPS; a flag
// given on the command line wins over its variable. SIGTERM or SIGINT
// drains in-flight requests, writes a snapshot and exits 0.
//
// It owns the process: flags and environment, the admin token file, the
// data-dir lock, --demo seeding, TLS, signals and graceful shutdown, and the
// `ledgerd verify` subcommand's command line. It wires actors and api
// together and holds no ledger logic of its own.
package main
