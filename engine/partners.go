package engine

import (
	"errors"
	"fmt"
)

// PartnerCreated records a partner account of one API and its first key.
type PartnerCreated struct {
	Stamp
	Partner   string
	API       string
	Name      string
	RateLimit int64 // requests per minute per key
	Key       NewKeyRecord
}

// NewKeyRecord is an API key as the log stores it: never the key itself.
type NewKeyRecord struct {
	ID   string
	Hash []byte // SHA-256 of the key
	Hint string // for listing keys: its last 4 characters, or its first 8, "…" and its last 4 (APIs whose keys carry several prefixes)
}

// PartnerStatusChanged records that a partner became active or inactive.
type PartnerStatusChanged struct {
	Stamp
	Partner string
	Status  string
}

// KeyAdded gives a partner another API key.
type KeyAdded struct {
	Stamp
	Partner string
	Key     NewKeyRecord
}

// KeyRevoked records that an API key stopped working.
type KeyRevoked struct {
	Stamp
	Partner string
	KeyID   string
}

// PartnerRateLimitChanged records a partner's new requests per minute.
type PartnerRateLimitChanged struct {
	Stamp
	Partner   string
	RateLimit int64
}

func (*PartnerCreated) EventType() EventType          { return EvPartnerCreated }
func (*PartnerStatusChanged) EventType() EventType    { return EvPartnerStatus }
func (*KeyAdded) EventType() EventType                { return EvKeyAdded }
func (*KeyRevoked) EventType() EventType              { return EvKeyRevoked }
func (*PartnerRateLimitChanged) EventType() EventType { return EvPartnerRateLimit }

// PartnerOf names the partner a partner or key event is about.
func PartnerOf(ev Event) string {
	switch e := ev.(type) {
	case *PartnerCreated:
		return e.Partner
	case *PartnerStatusChanged:
		return e.Partner
	case *KeyAdded:
		return e.Partner
	case *KeyRevoked:
		return e.Partner
	case *PartnerRateLimitChanged:
		return e.Partner
	}
	return ""
}

func (w *Writer) key(k NewKeyRecord) {
	w.Str(k.ID)
	w.Bytes(k.Hash)
	w.Str(k.Hint)
}

func (r *Reader) key() NewKeyRecord {
	return NewKeyRecord{ID: r.Str(), Hash: r.Bytes(), Hint: r.Str()}
}

func validKey(partner string, k NewKeyRecord) error {
	if partner == "" || k.ID == "" || len(k.Hash) != KeyHashLen {
		return errors.New("partner or key fields out of range")
	}
	return nil
}

func init() {
	Register(EventDef[*PartnerCreated]{Type: EvPartnerCreated, Name: "partner.created", Fields: 7, Auth: true,
		Encode: func(w *Writer, ev *PartnerCreated) {
			w.Str(ev.Partner)
			w.Str(ev.API)
			w.Str(ev.Name)
			w.Int(ev.RateLimit)
			w.key(ev.Key)
		},
		Decode: func(r *Reader, t int64) *PartnerCreated {
			ev := &PartnerCreated{Stamp: Stamp{t}, Partner: r.Str(), API: r.Str(), Name: r.Str(), RateLimit: r.Int()}
			ev.Key = r.key()
			return ev
		},
		Validate: func(ev *PartnerCreated) error {
			if ev.RateLimit < 0 {
				return errors.New("rate limit out of range")
			}
			return validKey(ev.Partner, ev.Key)
		},
		Apply: func(s *State, ev *PartnerCreated) {
			if _, dup := s.Partners[ev.Partner]; dup {
				panic(Invariant("partner id unique", ev, 0))
			}
			p := &Partner{ID: ev.Partner, API: ev.API, Name: ev.Name, Status: StatusActive, RateLimit: ev.RateLimit, CreatedMs: ev.TimeMs}
			s.Partners[ev.Partner] = p
			s.addKey(p, ev.Key, ev)
		},
	})
	Register(EventDef[*PartnerStatusChanged]{Type: EvPartnerStatus, Name: "partner.status", Fields: 2, Auth: true,
		Encode: func(w *Writer, ev *PartnerStatusChanged) { w.Str(ev.Partner); w.Str(ev.Status) },
		Decode: func(r *Reader, t int64) *PartnerStatusChanged {
			return &PartnerStatusChanged{Stamp: Stamp{t}, Partner: r.Str(), Status: r.Str()}
		},
		Validate: func(ev *PartnerStatusChanged) error {
			if ev.Status != StatusActive && ev.Status != StatusInactive {
				return fmt.Errorf("status %q", ev.Status)
			}
			return nil
		},
		Apply: func(s *State, ev *PartnerStatusChanged) { s.mustPartner(ev.Partner, ev).Status = ev.Status },
	})
	Register(EventDef[*KeyAdded]{Type: EvKeyAdded, Name: "partner.key_added", Fields: 4, Auth: true,
		Encode:   func(w *Writer, ev *KeyAdded) { w.Str(ev.Partner); w.key(ev.Key) },
		Decode:   func(r *Reader, t int64) *KeyAdded { return &KeyAdded{Stamp: Stamp{t}, Partner: r.Str(), Key: r.key()} },
		Validate: func(ev *KeyAdded) error { return validKey(ev.Partner, ev.Key) },
		Apply:    func(s *State, ev *KeyAdded) { s.addKey(s.mustPartner(ev.Partner, ev), ev.Key, ev) },
	})
	Register(EventDef[*KeyRevoked]{Type: EvKeyRevoked, Name: "partner.key_revoked", Fields: 2, Auth: true,
		Encode: func(w *Writer, ev *KeyRevoked) { w.Str(ev.Partner); w.Str(ev.KeyID) },
		Decode: func(r *Reader, t int64) *KeyRevoked {
			return &KeyRevoked{Stamp: Stamp{t}, Partner: r.Str(), KeyID: r.Str()}
		},
		Validate: func(ev *KeyRevoked) error {
			if ev.Partner == "" || ev.KeyID == "" {
				return errors.New("key revocation without partner or key")
			}
			return nil
		},
		Apply: func(s *State, ev *KeyRevoked) {
			k := s.mustPartner(ev.Partner, ev).Key(ev.KeyID)
			if k == nil || k.RevokedMs != 0 {
				panic(Invariant("revoke a live key", ev, 0))
			}
			k.RevokedMs = ev.TimeMs
		},
	})
	Register(EventDef[*PartnerRateLimitChanged]{Type: EvPartnerRateLimit, Name: "partner.rate_limit", Fields: 2, Auth: true,
		Encode: func(w *Writer, ev *PartnerRateLimitChanged) { w.Str(ev.Partner); w.Int(ev.RateLimit) },
		Decode: func(r *Reader, t int64) *PartnerRateLimitChanged {
			return &PartnerRateLimitChanged{Stamp: Stamp{t}, Partner: r.Str(), RateLimit: r.Int()}
		},
		Validate: func(ev *PartnerRateLimitChanged) error {
			if ev.Partner == "" || ev.RateLimit < 1 {
				return errors.New("rate limit out of range")
			}
			return nil
		},
		Apply: func(s *State, ev *PartnerRateLimitChanged) { s.mustPartner(ev.Partner, ev).RateLimit = ev.RateLimit },
	})
}

func (s *State) mustPartner(id string, ev Event) *Partner {
	p := s.Partners[id]
	if p == nil {
		panic(Invariant("partner exists", ev, 0))
	}
	return p
}

func (s *State) addKey(p *Partner, k NewKeyRecord, ev Event) {
	var h [KeyHashLen]byte
	if copy(h[:], k.Hash) != KeyHashLen || len(k.Hash) != KeyHashLen {
		panic(Invariant("key hash length", ev, int64(len(k.Hash))))
	}
	if _, dup := s.Keys[h]; dup || p.Key(k.ID) != nil {
		panic(Invariant("key unique", ev, 0))
	}
	s.Keys[h] = p.ID
	p.Keys = append(p.Keys, APIKey{ID: k.ID, Hash: h[:], Hint: k.Hint, CreatedMs: ev.Time()})
}
