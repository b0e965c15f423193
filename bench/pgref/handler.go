package main

import (
	"context"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"ledgerd/api/httpx"
	"ledgerd/api/payshards"
)

// Error codes, as the PayShards spec spells them.
const (
	errInvalidRequest = "invalid_request"
	errMissingKey     = "missing_api_key"
	errInvalidKey     = "invalid_api_key"
	errInsufficient   = "insufficient_balance"
	errUnknownUser    = "unknown_user"
	errConflict       = "idempotency_conflict"
	errInternal       = "internal_error"
)

// requestTimeout bounds one request's wait for a connection and its
// transaction.
const requestTimeout = 10 * time.Second

type handler struct {
	store  *store
	apiKey []byte
	log    *slog.Logger
}

// newHandler serves ledgerd's PayShards deduct and balance routes on s.
func newHandler(s *store, apiKey string, log *slog.Logger) fasthttp.RequestHandler {
	h := &handler{store: s, apiKey: []byte(apiKey), log: log}
	r := router.New()
	r.GET(payshards.Base+"/balance", h.balance)
	r.POST(payshards.Base+"/deduct", h.deduct)
	return r.Handler
}

// authorize checks x-api-key, or writes the spec's 401 and returns false.
func (h *handler) authorize(ctx *fasthttp.RequestCtx) bool {
	key := ctx.Request.Header.Peek("x-api-key")
	switch {
	case len(key) == 0:
		writeError(ctx, fasthttp.StatusUnauthorized, errMissingKey)
	case subtle.ConstantTimeCompare(key, h.apiKey) != 1:
		writeError(ctx, fasthttp.StatusUnauthorized, errInvalidKey)
	default:
		return true
	}
	return false
}

func (h *handler) balance(ctx *fasthttp.RequestCtx) {
	if !h.authorize(ctx) {
		return
	}
	user, err := payshards.DecodeUserID(ctx.QueryArgs().Peek("userId"))
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, errInvalidRequest)
		return
	}
	c, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	balance, ok, err := h.store.balance(c, user)
	switch {
	case err != nil:
		h.fail(ctx, "balance", err)
	case !ok:
		writeError(ctx, fasthttp.StatusNotFound, errUnknownUser)
	default:
		var buf [256]byte
		httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(buf[:0]).Str("userId", user).Int("balance", balance).Close())
	}
}

func (h *handler) deduct(ctx *fasthttp.RequestCtx) {
	if !h.authorize(ctx) {
		return
	}
	body := ctx.PostBody()
	if len(body) > httpx.MaxBodyBytes {
		writeError(ctx, fasthttp.StatusBadRequest, errInvalidRequest)
		return
	}
	cmd, err := payshards.DecodeCommand(body) // copies every string it keeps
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, errInvalidRequest)
		return
	}
	c, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	r, err := h.store.deduct(c, cmd.UserID, cmd.Amount, cmd.Reference)
	if err != nil {
		h.fail(ctx, "deduct", err)
		return
	}
	var buf [96]byte
	switch r.Status {
	case statusOK:
		httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(buf[:0]).Bool("success", true).
			Int("newBalance", r.Balance).Bool("idempotent", r.Idempotent).Close())
	case statusInsufficient:
		httpx.Reply(ctx, fasthttp.StatusPaymentRequired, httpx.Object(buf[:0]).Str("error", errInsufficient).Int("balance", r.Balance).Close())
	case statusUnknownUser:
		writeError(ctx, fasthttp.StatusNotFound, errUnknownUser)
	case statusConflict:
		writeError(ctx, fasthttp.StatusConflict, errConflict)
	default:
		h.fail(ctx, "deduct", fmt.Errorf("pgref: unknown outcome status %d", r.Status))
	}
}

// fail logs a database failure and answers 500: nothing is promised about
// the request, and a retry with the same reference is safe.
func (h *handler) fail(ctx *fasthttp.RequestCtx, op string, err error) {
	h.log.Error("request failed", slog.String("op", op), slog.Any("err", err))
	writeError(ctx, fasthttp.StatusInternalServerError, errInternal)
}

func writeError(ctx *fasthttp.RequestCtx, status int, code string) {
	var buf [64]byte
	httpx.Reply(ctx, status, httpx.Object(buf[:0]).Str("error", code).Close())
}
