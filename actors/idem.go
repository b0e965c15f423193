package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// shardActor owns a slice of the reference space: every (partner,
// operation, reference) hashes to one shard, which lets exactly one request
// per reference through to a wallet and answers the others from the
// durable outcome.
//
// The durable outcomes are the engine's own records (State.Idem), read
// under System.idem's read lock; the committer is their only writer. A
// shard keeps only the references it let through that are not durable yet.
type shardActor struct {
	sys     *System
	pending map[engine.IdemKey]*pendingRef // sent to a wallet, not yet durable
}

type pendingRef struct {
	user    string
	amount  int64
	waiters []*Op
}

// releaseRef drops a pending reference whose command produced no event.
type releaseRef struct {
	key    engine.IdemKey
	status Status
}

func (s *shardActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Op:
		s.admit(m)
	case *shardCommitted:
		for _, n := range m.notices {
			s.committed(n)
		}
	case *releaseRef:
		if p := s.pending[m.key]; p != nil {
			delete(s.pending, m.key)
			for _, w := range p.waiters {
				w.finish(m.status, 0, false)
			}
		}
	}
}

func (s *shardActor) admit(op *Op) {
	k := op.idemKey()
	user, amount := op.fingerprint()
	if p := s.pending[k]; p != nil {
		if p.user != user || p.amount != amount {
			op.finish(StatusConflict, 0, false)
			return
		}
		p.waiters = append(p.waiters, op)
		return
	}
	if rec, ok := s.sys.idem.lookup(k); ok {
		if !rec.Matches(user, amount) {
			op.finish(StatusConflict, 0, false)
			return
		}
		replay(op, rec)
		return
	}
	s.pending[k] = &pendingRef{user: user, amount: amount}
	if !s.sys.toOwner(op) {
		delete(s.pending, k)
	}
}

// committed answers whoever waits on a reference that is now durable.
func (s *shardActor) committed(n notice) {
	p := s.pending[n.key]
	if p == nil {
		return
	}
	delete(s.pending, n.key)
	for _, w := range p.waiters {
		replay(w, n.rec)
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
	rec, ok := r.state.Idem[k]
	r.mu.RUnlock()
	return rec, ok
}

// replay answers a retry with the reference's first outcome.
func replay(op *Op, rec engine.IdemRecord) {
	st := statusOf(rec.Code)
	if rec.Detail != nil {
		op.Detail = *rec.Detail
		op.finish(st, 0, true)
		return
	}
	op.finish(st, rec.Value, st == StatusOK)
}
