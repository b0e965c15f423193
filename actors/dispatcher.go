package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// inlineDispatcher runs an idle actor's mailbox on the goroutine that sends
// to it, instead of handing it to another goroutine. A request then travels
// limiter → shard → wallet on its own HTTP goroutine when those actors are
// idle, without a goroutine hand-off per hop; when an actor is already
// running on another goroutine, the message is queued and that goroutine
// processes it. The mailbox's own lock-free state still lets exactly one
// goroutine process an actor's messages at a time, one message at a time.
//
// Nothing may send to an actor while holding a lock the actor takes
// (registry stripes), and the committer never sends directly: it posts to
// an outbox (below), so no actor code runs on its goroutine.
type inlineDispatcher struct{ throughput int }

func (d inlineDispatcher) Schedule(fn func()) { fn() }
func (d inlineDispatcher) Throughput() int    { return d.throughput }

// outbox carries the committer's messages to actors on its own goroutine.
// It is unbounded on purpose: the committer must never wait on an actor
// (an actor may be waiting on the committer's queue); what it holds is
// bounded by the Ops admitted into the System.
type outbox struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []outMsg
	closed bool
	done   chan struct{}
}

type outMsg struct {
	pid *actor.PID
	msg any
}

func newOutbox(root *actor.RootContext) *outbox {
	o := &outbox{done: make(chan struct{})}
	o.cond = sync.NewCond(&o.mu)
	go o.run(root)
	return o
}

func (o *outbox) post(pid *actor.PID, msg any) {
	o.mu.Lock()
	o.queue = append(o.queue, outMsg{pid, msg})
	o.mu.Unlock()
	o.cond.Signal()
}

func (o *outbox) run(root *actor.RootContext) {
	defer close(o.done)
	var batch []outMsg
	for {
		o.mu.Lock()
		for len(o.queue) == 0 && !o.closed {
			o.cond.Wait()
		}
		if len(o.queue) == 0 && o.closed {
			o.mu.Unlock()
			return
		}
		batch, o.queue = o.queue, batch[:0]
		o.mu.Unlock()
		for i, m := range batch {
			root.Send(m.pid, m.msg)
			batch[i] = outMsg{}
		}
	}
}

func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cond.Signal()
	<-o.done
}
