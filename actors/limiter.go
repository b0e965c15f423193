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
	t := now.UnixNano()
	if limit != w.limit {
		w.resize(limit, t)
	}
	if limit <= exactLimitMax {
		return w.allowExact(t)
	}
	return w.allowCounted(t)
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

// limiterActor applies one key's Window and forwards admitted Ops.
type limiterActor struct {
	sys *System
	win Window
	now func() time.Time
}

func (l *limiterActor) Receive(ctx actor.Context) {
	op, ok := ctx.Message().(*Op)
	if !ok {
		return
	}
	if allowed, retry := l.win.Allow(l.now(), op.RateLimit); !allowed {
		op.RetryAfterSec = retry
		op.finish(StatusRateLimited, 0, false)
		return
	}
	l.sys.route(op)
}
