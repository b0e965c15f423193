package admin

import (
	"errors"
	"fmt"

	"github.com/valyala/fasthttp"

	"ledgerd/actors"
	"ledgerd/api/httpx"
	"ledgerd/engine"
)

// payshardsRoutes are the operator routes of PayShards: top-ups.
func (a *API) payshardsRoutes(r *httpx.Router) {
	r.POST(Base+"/payshards/users/{userId}/credit", a.credit)
}

func (a *API) credit(ctx *fasthttp.RequestCtx) {
	user, ok := pathParam(ctx, "userId")
	req, err := DecodeCredit(body(ctx))
	if err == nil && (!ok || !httpx.Printable([]byte(user), engine.MaxUserIDLen)) {
		err = errors.New("userId must be 1-128 printable characters")
	}
	if err != nil {
		writeError(ctx, fasthttp.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.User, op.Amount, op.Reference = actors.KindCredit, user, req.Amount, req.Reference
	a.sys.Do(op)
	switch op.Status {
	case actors.StatusOK:
		var buf [256]byte
		httpx.Reply(ctx, fasthttp.StatusOK, httpx.Object(buf[:0]).Str("userId", user).Int("balance", op.Balance).Close())
	case actors.StatusConflict:
		writeError(ctx, fasthttp.StatusConflict, "idempotency_conflict", "reference already used with another user or amount")
	case actors.StatusBalanceLimit:
		writeError(ctx, fasthttp.StatusConflict, "balance_limit", fmt.Sprintf("balance would exceed %d", int64(engine.MaxBalance)))
	default:
		writeError(ctx, fasthttp.StatusServiceUnavailable, "overloaded", "try again")
	}
}
