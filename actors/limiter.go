package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Window is a sliding one-minute window of requests for one API key.
//
// Up to exactLimitMax requests per minute it keeps the time of every
// admitted request in a ring, so the answer is exact: the n+1st request
// inside any 60 s span is refused, and Retry-After is the time until the
// oldest of them leaves the window, rounded up to whole seconds. Above that,
// memory would grow with the limit, so it counts per second over the last
// 60 seconds instead (a sliding window with one-second resolution).
type Window struct {
	limit int64
	ring  []int64 // admit times in ns, oldest at head once full
	head  int
	count int
	secs  [windowSeconds]int64 // counts per second (large limits)
	stamp [windowSeconds]int64 // the second each slot counts
}

const (
	windowSeconds = 60
	windowNs      = int64(windowSeconds * time.Second)
	exactLimitMax = 10_000
)

// Allow admits a request at now, or reports the seconds until it could be.
func (w *Window) Allow(now time.Time, limit int64) (bool, int64) {
	d := w.Take(now, limit)
	return d.Allowed, d.RetryAfterSec
}

// Decision is a window's answer to one request, with what an API shows
// in X-RateLimit-* headers.
type Decision struct {
	Allowed       bool
	Limit         int64 // requests per minute
	Remaining     int64 // requests still admitted in the window after this one
	ResetUnix     int64 // unix seconds when the oldest counted request leaves the window (now when none)
	RetryAfterSec int64 // when refused: seconds until one would be admitted
}

// Take admits a request at now or refuses it, and describes the window
// after the decision.
func (w *Window) Take(now time.Time, limit int64) Decision {
	t := now.UnixNano()
	if limit != w.limit {
		w.resize(limit, t)
	}
	d := Decision{Limit: limit}
	if limit <= exactLimitMax {
		d.Allowed, d.RetryAfterSec = w.allowExact(t)
		d.Remaining, d.ResetUnix = w.exactState(t)
	} else {
		d.Allowed, d.RetryAfterSec = w.allowCounted(t)
		d.Remaining, d.ResetUnix = w.countedState(t)
	}
	return d
}

// exactState counts the admitted requests still inside the window (the
// ring is in admission order, so the live ones are a suffix) and when the
// oldest of them leaves it.
func (w *Window) exactState(t int64) (remaining, resetUnix int64) {
	live := 0
	oldest := int64(0)
	lo, hi := 0, w.count // first live position, by binary search
	for lo < hi {
		mid := (lo + hi) / 2
		if w.ring[(w.head+mid)%len(w.ring)] > t-windowNs {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	live = w.count - lo
	if live == 0 {
		return w.limit, ceilSeconds(t)
	}
	oldest = w.ring[(w.head+lo)%len(w.ring)]
	return w.limit - int64(live), ceilSeconds(oldest + windowNs)
}

func (w *Window) countedState(t int64) (remaining, resetUnix int64) {
	sec := t / int64(time.Second)
	var total int64
	oldest := sec + 1
	for i := range w.secs {
		if w.stamp[i] > sec-windowSeconds && w.secs[i] > 0 {
			total += w.secs[i]
			oldest = min(oldest, w.stamp[i])
		}
	}
	if total == 0 {
		return w.limit, sec
	}
	return max(0, w.limit-total), oldest + windowSeconds
}

// resize changes the limit and keeps the requests already in the window,
// so raising a partner's limit does not hand it a fresh minute.
func (w *Window) resize(limit, t int64) {
	old := *w
	*w = Window{limit: limit}
	if limit > exactLimitMax || old.limit > exactLimitMax || old.count == 0 {
		w.secs, w.stamp = old.secs, old.stamp // counted mode keeps its per-second counts
		return
	}
	w.ring = make([]int64, limit)
	first := max(0, old.count-int(limit)) // keep the newest that fit
	for i := first; i < old.count; i++ {
		if ts := old.ring[(old.head+i)%len(old.ring)]; ts > t-windowNs {
			w.ring[w.count] = ts
			w.count++
		}
	}
}

func (w *Window) allowExact(t int64) (bool, int64) {
	if w.ring == nil {
		w.ring = make([]int64, w.limit)
	}
	if w.count == len(w.ring) {
		oldest := w.ring[w.head]
		if wait := oldest + windowNs - t; wait > 0 {
			return false, ceilSeconds(wait)
		}
		w.ring[w.head] = t
		w.head = (w.head + 1) % len(w.ring)
		return true, 0
	}
	w.ring[(w.head+w.count)%len(w.ring)] = t
	w.count++
	return true, 0
}

func (w *Window) allowCounted(t int64) (bool, int64) {
	sec := t / int64(time.Second)
	var total int64
	for i := range w.secs {
		if w.stamp[i] > sec-windowSeconds {
			total += w.secs[i]
		}
	}
	if total >= w.limit {
		// the oldest counted second leaves the window first
		oldest := sec
		for i := range w.secs {
			if w.stamp[i] > sec-windowSeconds && w.secs[i] > 0 && w.stamp[i] < oldest {
				oldest = w.stamp[i]
			}
		}
		return false, max(1, oldest+windowSeconds-sec)
	}
	slot := sec % windowSeconds
	if w.stamp[slot] != sec {
		w.stamp[slot], w.secs[slot] = sec, 0
	}
	w.secs[slot]++
	return true, 0
}

func ceilSeconds(ns int64) int64 {
	return (ns + int64(time.Second) - 1) / int64(time.Second)
}

// MaxRateClasses bounds the limit classes one key may have (PAYchat has
// four: POST /payments, POST /withdrawals, GETs, the rest).
const MaxRateClasses = 8

// limiterActor holds one key's windows, one per limit class, and forwards
// admitted Ops.
type limiterActor struct {
	sys  *System
	wins [MaxRateClasses]*Window
	now  func() time.Time
}

func (l *limiterActor) Receive(ctx actor.Context) {
	op, ok := ctx.Message().(*Op)
	if !ok {
		return
	}
	c := op.RateClass
	if int(c) >= MaxRateClasses {
		op.finish(StatusOverloaded, 0, false) // a bug of the API: refuse rather than admit unlimited
		return
	}
	if l.wins[c] == nil {
		l.wins[c] = &Window{}
	}
	op.Rate = l.wins[c].Take(l.now(), op.RateLimit)
	if !op.Rate.Allowed {
		op.RetryAfterSec = op.Rate.RetryAfterSec
		op.finish(StatusRateLimited, 0, false)
		return
	}
	l.sys.route(op)
}
