package actors

import (
	"errors"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// Directory errors.
var (
	ErrPartnerNotFound = errors.New("actors: partner not found")
	ErrPartnerExists   = errors.New("actors: partner id or key already exists")
	ErrKeyNotFound     = errors.New("actors: key not found")
	ErrKeyRevoked      = errors.New("actors: key already revoked")
	ErrLastKey         = errors.New("actors: cannot revoke a partner's last live key")
	ErrCodeExists      = errors.New("actors: code already issued")
	ErrWrongAPI        = errors.New("actors: partner belongs to another API")
	ErrInvalidCommand  = errors.New("actors: invalid command")
)

// AuthTable is the read-mostly key → partner table. The committer builds a
// new one after every durable partner change and publishes it atomically;
// nobody mutates a published table. Revoked keys are not in it.
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
		c.Keys = append([]engine.APIKey(nil), p.Keys...)
		t.byID[p.ID] = &c
		for _, k := range c.Keys {
			if k.RevokedMs == 0 {
				var h [engine.KeyHashLen]byte
				copy(h[:], k.Hash)
				t.byKey[h] = &c
			}
		}
	}
	return t
}

// adminEvent is an operator command's event, stamped by the directory.
type adminEvent interface {
	engine.Event
	SetTime(ms int64)
}

// adminCmd is an operator command, answered after commit.
type adminCmd struct {
	ev      adminEvent
	err     error
	partner engine.Partner
	done    chan struct{}
}

func (a *adminCmd) finish(s *engine.State) {
	if p := s.Partners[partnerOf(a.ev)]; p != nil {
		a.partner = *p
		a.partner.Keys = append([]engine.APIKey(nil), p.Keys...)
	}
	close(a.done)
}

func (a *adminCmd) fail(err error) {
	a.err = err
	close(a.done)
}

// directoryActor owns what must be unique across the ledger: partner ids,
// API key hashes and redeem codes. It validates operator commands against
// what it has seen (loaded from the durable state at start, then kept up
// to date by the commands it lets through).
type directoryActor struct {
	sys      *System
	partners map[string]*dirPartner
	keys     map[[engine.KeyHashLen]byte]bool
	codes    map[string]struct{}
}

type dirPartner struct {
	api  string
	keys map[string]bool // key id -> live
}

func newDirectory(sys *System, state *engine.State) *directoryActor {
	d := &directoryActor{sys: sys, partners: make(map[string]*dirPartner),
		keys: make(map[[engine.KeyHashLen]byte]bool), codes: make(map[string]struct{}, len(paypay.Cards(state)))}
	for id, p := range state.Partners {
		dp := &dirPartner{api: p.API, keys: make(map[string]bool)}
		for _, k := range p.Keys {
			var h [engine.KeyHashLen]byte
			copy(h[:], k.Hash)
			d.keys[h], dp.keys[k.ID] = true, k.RevokedMs == 0
		}
		d.partners[id] = dp
	}
	for c := range paypay.Cards(state) {
		d.codes[c] = struct{}{}
	}
	return d
}

func (d *directoryActor) Receive(ctx actor.Context) {
	cmd, ok := ctx.Message().(*adminCmd)
	if !ok {
		return
	}
	cmd.ev.SetTime(d.sys.cfg.Now().UnixMilli())
	if err := d.check(cmd.ev); err != nil {
		cmd.fail(err)
		return
	}
	d.sys.committer.in <- item{kind: itemEvent, ev: cmd.ev, admin: cmd}
}

// partnerOf names the partner an operator command is about.
func partnerOf(ev engine.Event) string {
	if c, ok := ev.(*paypay.CodesIssued); ok {
		return c.Partner
	}
	return engine.PartnerOf(ev)
}

// check validates a command and, if it passes, records what it claims.
// An event the WAL decoder would refuse is refused here: it must never be
// acknowledged and then fail to replay.
func (d *directoryActor) check(ev engine.Event) error {
	if err := engine.Validate(ev); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidCommand, err)
	}
	if c, ok := ev.(*engine.PartnerCreated); ok {
		return d.claimPartner(c)
	}
	p := d.partners[partnerOf(ev)]
	if p == nil {
		return ErrPartnerNotFound
	}
	switch e := ev.(type) {
	case *engine.KeyAdded:
		return d.claimKey(p, e.Key)
	case *engine.KeyRevoked:
		return d.revokeKey(p, e.KeyID)
	case *paypay.CodesIssued:
		return d.claimCodes(p, e.Codes)
	}
	return nil
}

func (d *directoryActor) claimPartner(ev *engine.PartnerCreated) error {
	var h [engine.KeyHashLen]byte
	copy(h[:], ev.Key.Hash)
	if d.partners[ev.Partner] != nil || d.keys[h] {
		return ErrPartnerExists
	}
	d.partners[ev.Partner] = &dirPartner{api: ev.API, keys: map[string]bool{ev.Key.ID: true}}
	d.keys[h] = true
	return nil
}

func (d *directoryActor) claimKey(p *dirPartner, k engine.NewKeyRecord) error {
	var h [engine.KeyHashLen]byte
	copy(h[:], k.Hash)
	if d.keys[h] {
		return ErrPartnerExists
	}
	if _, dup := p.keys[k.ID]; dup {
		return ErrPartnerExists
	}
	d.keys[h], p.keys[k.ID] = true, true
	return nil
}

func (d *directoryActor) revokeKey(p *dirPartner, keyID string) error {
	live, ok := p.keys[keyID]
	switch {
	case !ok:
		return ErrKeyNotFound
	case !live:
		return ErrKeyRevoked
	}
	liveKeys := 0
	for _, l := range p.keys {
		if l {
			liveKeys++
		}
	}
	if liveKeys == 1 {
		return ErrLastKey
	}
	p.keys[keyID] = false
	return nil
}

func (d *directoryActor) claimCodes(p *dirPartner, codes []string) error {
	if p.api != "paypay" {
		return ErrWrongAPI
	}
	seen := make(map[string]struct{}, len(codes))
	for _, c := range codes {
		_, dup := seen[c]
		if _, exists := d.codes[c]; exists || dup {
			return ErrCodeExists
		}
		seen[c] = struct{}{}
	}
	for _, c := range codes {
		d.codes[c] = struct{}{}
	}
	return nil
}

// AuthResult is what an API key resolves to; each API maps it to its own
// envelope (PayShards: 401 missing/invalid, 403 inactive; PayPay.cards:
// 401 for all).
type AuthResult uint8

const (
	AuthOK       AuthResult = iota
	AuthMissing             // no key in the request
	AuthUnknown             // no live key with that hash, or a key of another API
	AuthInactive            // the key's partner is inactive
)

// Authenticate resolves an API key to an active partner of api: the one
// key → partner → API check every API shares. It hashes key at once and
// keeps nothing of it, so it may be a slice of a fasthttp request.
func (s *System) Authenticate(key []byte, api string) (*engine.Partner, [engine.KeyHashLen]byte, AuthResult) {
	if len(key) == 0 {
		return nil, [engine.KeyHashLen]byte{}, AuthMissing
	}
	hash := engine.HashKey(key)
	p, ok := s.PartnerByKey(hash)
	switch {
	case !ok || p.API != api:
		return nil, hash, AuthUnknown
	case !p.Active():
		return p, hash, AuthInactive
	}
	return p, hash, AuthOK
}
