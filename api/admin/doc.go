// Package admin serves the operator API under /admin: partners and their
// keys, partner status, and PayShards top-ups. Every route needs the admin
// bearer token; partner API keys are refused here.
//
// It knows the actors' messages, not the WAL or the engine's internals.
package admin
