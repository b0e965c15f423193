// Package api assembles ledgerd's HTTP front end: one fasthttp/router with
// every partner API under its base path and the admin API under /admin.
// The API packages (api/payshards, api/admin, ...) own their routes and
// envelopes; api/httpx holds what they share.
package api
