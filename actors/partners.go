package actors

import (
	"errors"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
)

// Partner directory errors.
var (
	ErrPartnerNotFound = errors.New("actors: partner not found")
	ErrPartnerExists   = errors.New("actors: partner id or key already exists")
)

// AuthTable is the read-mostly key → partner table. The committer builds a
// new one after every durable partner change and publishes it atomically;
// nobody mutates a published table.
type AuthTable struct {
	byKey map[[engine.KeyHashLen]byte]*engine.Partner
	byID  map[string]*engine.Partner
}

func buildAuth(s *engine.State) *AuthTable {
	t := &AuthTable{
		byKey: make(map[[engine.KeyHashLen]byte]*engine.Partner, len(s.Partners)),
		byID:  make(map[string]*engine.Partner, len(s.Partners)),
	}
	for _, p := range s.Partners {
		c := *p
		var h [engine.KeyHashLen]byte
		copy(h[:], p.KeyHash)
		t.byKey[h], t.byID[p.ID] = &c, &c
	}
	return t
}

// adminCmd is an operator command on partners, answered after commit.
type adminCmd struct {
	ev      engine.Event
	err     error
	partner engine.Partner
	done    chan struct{}
}

func (a *adminCmd) finish(s *engine.State) {
	if p := s.Partners[a.ev.Partner]; p != nil {
		a.partner = *p
	}
	close(a.done)
}

func (a *adminCmd) fail(err error) {
	a.err = err
	close(a.done)
}

// directoryActor validates partner commands against the partners it has
// seen: ids and key hashes are unique, a status change needs a partner.
type directoryActor struct {
	sys      *System
	partners map[string]bool
	keys     map[[engine.KeyHashLen]byte]bool
}

func (d *directoryActor) Receive(ctx actor.Context) {
	cmd, ok := ctx.Message().(*adminCmd)
	if !ok {
		return
	}
	cmd.ev.TimeMs = d.sys.cfg.Now().UnixMilli()
	switch cmd.ev.Type {
	case engine.EvPartnerCreated:
		var h [engine.KeyHashLen]byte
		copy(h[:], cmd.ev.KeyHash)
		if d.partners[cmd.ev.Partner] || d.keys[h] {
			cmd.fail(ErrPartnerExists)
			return
		}
		d.partners[cmd.ev.Partner], d.keys[h] = true, true
	case engine.EvPartnerStatus:
		if !d.partners[cmd.ev.Partner] {
			cmd.fail(ErrPartnerNotFound)
			return
		}
	}
	d.sys.committer.in <- item{kind: itemEvent, ev: cmd.ev, admin: cmd}
}
