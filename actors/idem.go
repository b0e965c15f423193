package actors

import (
	"sync"

	"ledgerd/engine"
)

// idemShard owns a slice of the reference space: every (partner,
// operation, reference) hashes to one shard, which lets exactly one request
// per reference through to a wallet (or code) actor and answers the others
// from the durable outcome.
//
// The durable outcomes are the engine's own records (State.Record), read
// under idemRecords' read lock; the committer is their only writer. A shard
// keeps only the references it let through that are not durable yet, with
// the retries waiting on them.
//
// A shard is a mutex-guarded map, not an actor: it only decides "first,
// retry or conflict" and holds the lock for a map lookup or two, never
// while sending to an actor, so it needs no mailbox, and a request crosses
// it without an actor hop.
type idemShard struct {
	mu      sync.Mutex
	pending map[engine.IdemKey]*pendingRef // sent to a wallet or code, not yet durable
}

type pendingRef struct {
	user    string
	amount  int64
	waiters []*Op
}

// admit lets op through to its owner if its reference is new, answers it
// from the durable record if there is one, or makes it wait for the request
// in flight with the same reference.
func (s *idemShard) admit(sys *System, op *Op) {
	k := op.idemKey()
	user, amount := op.fingerprint()
	s.mu.Lock()
	if p := s.pending[k]; p != nil {
		if p.user != user || p.amount != amount {
			s.mu.Unlock()
			op.finish(StatusConflict, 0, false)
			return
		}
		p.waiters = append(p.waiters, op)
		s.mu.Unlock()
		return
	}
	if rec, ok := sys.idem.lookup(k); ok {
		s.mu.Unlock()
		if !rec.Matches(user, amount) {
			op.finish(StatusConflict, 0, false)
			return
		}
		replay(op, rec)
		return
	}
	s.pending[k] = &pendingRef{user: user, amount: amount}
	s.mu.Unlock()
	if !sys.toOwner(op) { // answered StatusOverloaded: so are its retries
		s.release(k, StatusOverloaded)
	}
}

// take removes a pending reference and returns the retries waiting on it.
func (s *idemShard) take(k engine.IdemKey) []*Op {
	s.mu.Lock()
	p := s.pending[k]
	delete(s.pending, k)
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.waiters
}

// committed answers whoever waits on a reference that is now durable.
func (s *idemShard) committed(k engine.IdemKey, rec engine.IdemRecord) {
	for _, w := range s.take(k) {
		replay(w, rec)
	}
}

// release drops a pending reference whose command produced no event; its
// retries get the same status.
func (s *idemShard) release(k engine.IdemKey, st Status) {
	for _, w := range s.take(k) {
		w.finish(st, 0, false)
	}
}

// idemRecords gives the idempotency shards read access to the durable
// records in the committer's engine state. The committer takes the write
// lock around every Apply (which may add, delete or rebuild records); the
// shards take the read lock for one lookup. Sharing the one map, instead of
// a copy per shard fed by the committer, saves a map insert and a record's
// memory per reference.
type idemRecords struct {
	mu    sync.RWMutex
	state *engine.State
}

func (r *idemRecords) lookup(k engine.IdemKey) (engine.IdemRecord, bool) {
	r.mu.RLock()
	rec, ok := r.state.Record(k)
	r.mu.RUnlock()
	return rec, ok
}

// replay answers a retry with the reference's first outcome.
func replay(op *Op, rec engine.IdemRecord) {
	if op.Scope != 0 { // a registered module's command: its stored answer, whole
		op.ResponseStatus, op.Response = rec.Status, rec.Response
		op.finish(StatusOK, rec.Value, true)
		return
	}
	st := statusOf(rec.Code)
	if rec.Detail != nil {
		op.Detail = *rec.Detail
		op.finish(st, 0, true)
		return
	}
	op.finish(st, rec.Value, st == StatusOK)
}
