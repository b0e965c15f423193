package outbox

import (
	"fmt"
	"sync"
	"time"

	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// API is how one API's deliveries are sent.
type API struct {
	// Schedule is when a failed attempt is made again, as offsets from the
	// round's first attempt (the first attempt is at once); after the
	// last one fails the delivery is failed.
	Schedule []time.Duration
	// Resolve names where d goes, against the durable state (it runs inside
	// System.ReadState): the URL, the secret's id and rotation (Secret
	// derives the secret), and false when the endpoint is gone or disabled
	// (the attempt is then recorded as failed and the delivery is failed).
	Resolve func(st *engine.State, d *eob.Delivery) (url string, secretID string, rotation int64, ok bool)
	// Sign returns the headers of one attempt of d made at now (a new
	// timestamp each attempt). A missing Content-Type is application/json.
	Sign func(secret string, d *eob.Delivery, now time.Time) [][2]string
}

var apis sync.Map // name -> *API

// RegisterAPI declares how the deliveries of API name (Delivery.API) are
// sent. Call it before the Sender starts (from an init function or the
// API's constructor); registering a name again replaces it.
func RegisterAPI(name string, api API) {
	if name == "" || api.Resolve == nil || api.Sign == nil {
		panic(fmt.Sprintf("outbox: api %q needs a name, Resolve and Sign", name))
	}
	api.Schedule = append([]time.Duration(nil), api.Schedule...)
	apis.Store(name, &api)
}

func lookupAPI(name string) *API {
	if a, ok := apis.Load(name); ok {
		return a.(*API)
	}
	return nil
}

// nextAttempt is the delivery's outcome after a failed attempt number
// round (1-based, in the round that began at firstMs), decided at nowMs:
// pending and due at the schedule's next offset (at once if that is past),
// or failed when the schedule has run out.
func (a *API) nextAttempt(round, firstMs, nowMs int64) (outcome string, nextMs int64) {
	if round > int64(len(a.Schedule)) {
		return eob.StatusFailed, 0
	}
	next := firstMs + a.Schedule[round-1].Milliseconds()
	return eob.StatusPending, max(next, nowMs)
}
