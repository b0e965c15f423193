package actors

import "runtime"

// poolDispatcher runs mailboxes on long-lived worker goroutines instead of
// protoactor's default of one new goroutine per mailbox activation: a new
// goroutine starts with a small stack that every activation grows again
// (copystack was ~10% of CPU under load). When every worker is busy and the
// queue is full it falls back to a fresh goroutine, so a worker blocked on
// the committer's queue can never stall the others.
type poolDispatcher struct {
	work       chan func()
	throughput int
}

func newPoolDispatcher(workers, throughput int) *poolDispatcher {
	d := &poolDispatcher{work: make(chan func(), 4096), throughput: throughput}
	for range workers {
		go func() {
			for fn := range d.work {
				fn()
			}
		}()
	}
	return d
}

func (d *poolDispatcher) Schedule(fn func()) {
	select {
	case d.work <- fn:
	default:
		go fn()
	}
}

func (d *poolDispatcher) Throughput() int { return d.throughput }

func defaultWorkers() int { return 4 * runtime.GOMAXPROCS(0) }
