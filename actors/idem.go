package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// shardActor owns a slice of the reference space: every (partner,
// operation, reference) hashes to one shard, which lets exactly one request
// per reference through to a wallet and answers the others from the
// durable outcome.
type shardActor struct {
	sys     *System
	done    map[engine.IdemKey]engine.IdemRecord // durable outcomes
	peak    int                                  // most entries in done since it was last rebuilt
	pending map[engine.IdemKey]*pendingRef       // sent to a wallet, not yet durable
}

type pendingRef struct {
	user    string
	amount  int64
	waiters []*Op
}

// shrinkMin is the size below which a shard's map is not rebuilt.
const shrinkMin = 1024

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
		s.peak = max(s.peak, len(s.done))
		if s.peak > shrinkMin && len(s.done) < s.peak/4 { // expiry emptied it: give memory back
			s.done, s.peak = engine.CompactMap(s.done), len(s.done)
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
	if rec, ok := s.done[k]; ok {
		if !rec.Matches(user, amount) {
			op.finish(StatusConflict, 0, false)
			return
		}
		replay(op, rec)
		return
	}
	if p := s.pending[k]; p != nil {
		if p.user != user || p.amount != amount {
			op.finish(StatusConflict, 0, false)
			return
		}
		p.waiters = append(p.waiters, op)
		return
	}
	s.pending[k] = &pendingRef{user: user, amount: amount}
	if !s.sys.toOwner(op) {
		delete(s.pending, k)
	}
}

func (s *shardActor) committed(n notice) {
	if n.expired {
		delete(s.done, n.key)
		return
	}
	s.done[n.key] = n.rec
	p := s.pending[n.key]
	if p == nil {
		return
	}
	delete(s.pending, n.key)
	for _, w := range p.waiters {
		replay(w, n.rec)
	}
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
