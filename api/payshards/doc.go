// Package payshards serves the PayShards partner API (specs/payshards.txt)
// under /payshards/api/partner: balance, deduct and refund on user shard
// wallets, authenticated by x-api-key.
//
// It owns the HTTP shape of the API (paths, headers, status codes, JSON
// envelopes) and the strict decoding of its request bodies. It knows the
// actors' messages, not the WAL or the engine's internals.
package payshards
