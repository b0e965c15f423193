// Package httpx holds what every API package of ledgerd shares: a strict
// JSON reader for flat request objects, exact integer and string rules,
// JSON writers that append to the response without reflection, and the
// fasthttp server set-up.
//
// httpx knows fasthttp and JSON, not ledger rules or actors.
package httpx
