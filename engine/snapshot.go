package engine

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// SnapshotVersion is the snapshot payload's format. Never renumber.
const SnapshotVersion = 1

// snapshot is the msgpack form of a State. Slices are sorted by key so the
// same state always encodes to the same bytes (tests compare them).
type snapshot struct {
	_msgpack struct{}          `msgpack:",as_array"`
	Version  int               // SnapshotVersion
	Index    uint64            // last WAL index included
	Events   uint64            // events applied up to Index
	Partners []Partner         // sorted by ID
	Wallets  []walletEntry     // sorted by user
	Idem     []idemEntry       // sorted by key
	Extra    map[string][]byte // room for later state without a version bump
}

type walletEntry struct {
	_msgpack   struct{} `msgpack:",as_array"`
	User       string
	Balance    int64
	Refundable []Refundable
}

type idemEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Key      IdemKey
	Record   IdemRecord
}

// EncodeSnapshot returns the msgpack bytes of the whole state.
func (s *State) EncodeSnapshot() ([]byte, error) {
	snap := snapshot{Version: SnapshotVersion, Index: s.Index, Events: s.Events}
	for _, p := range s.Partners {
		snap.Partners = append(snap.Partners, *p)
	}
	slices.SortFunc(snap.Partners, func(a, b Partner) int { return cmp.Compare(a.ID, b.ID) })
	snap.Wallets = make([]walletEntry, 0, len(s.Wallets))
	for u, w := range s.Wallets {
		snap.Wallets = append(snap.Wallets, walletEntry{User: u, Balance: w.Balance, Refundable: w.Refundable})
	}
	slices.SortFunc(snap.Wallets, func(a, b walletEntry) int { return cmp.Compare(a.User, b.User) })
	snap.Idem = make([]idemEntry, 0, len(s.Idem))
	for _, k := range s.IdemKeys() {
		if r, ok := s.Idem[k]; ok {
			snap.Idem = append(snap.Idem, idemEntry{Key: k, Record: r})
		}
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	if err := enc.Encode(&snap); err != nil {
		return nil, fmt.Errorf("engine: encode snapshot: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeSnapshot rebuilds a State from EncodeSnapshot's bytes and checks
// the invariants a snapshot must satisfy.
func DecodeSnapshot(data []byte) (*State, error) {
	if err := checkShape(data); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrBadRecord, err)
	}
	var snap snapshot
	if err := msgpack.Unmarshal(data, &snap); err != nil {
		return nil, fmt.Errorf("%w: snapshot: %w", ErrBadRecord, err)
	}
	if snap.Version != SnapshotVersion {
		return nil, fmt.Errorf("%w: snapshot version %d", ErrBadRecord, snap.Version)
	}
	s := NewState()
	s.Index, s.Events = snap.Index, snap.Events
	for i := range snap.Partners {
		p := snap.Partners[i]
		var h [KeyHashLen]byte
		if p.ID == "" || len(p.KeyHash) != KeyHashLen || s.Partners[p.ID] != nil {
			return nil, fmt.Errorf("%w: snapshot partner %q", ErrBadRecord, p.ID)
		}
		copy(h[:], p.KeyHash)
		if _, dup := s.Keys[h]; dup {
			return nil, fmt.Errorf("%w: snapshot partner %q", ErrBadRecord, p.ID)
		}
		s.Partners[p.ID] = &p
		s.Keys[h] = p.ID
	}
	for _, e := range snap.Wallets {
		if err := checkWallet(e); err != nil || s.Wallets[e.User] != nil {
			return nil, fmt.Errorf("%w: snapshot wallet %q", ErrBadRecord, e.User)
		}
		s.Wallets[e.User] = &Wallet{Balance: e.Balance, Refundable: e.Refundable}
	}
	for _, e := range snap.Idem {
		if _, dup := s.Idem[e.Key]; dup {
			return nil, fmt.Errorf("%w: snapshot duplicate reference %q", ErrBadRecord, e.Key.Reference)
		}
		s.Idem[e.Key] = e.Record
		s.idemOrder = append(s.idemOrder, e.Key)
	}
	return s, nil
}

func checkWallet(e walletEntry) error {
	if e.Balance < 0 || e.Balance > MaxBalance {
		return fmt.Errorf("balance %d", e.Balance)
	}
	for _, r := range e.Refundable {
		if r.Amount <= 0 || r.Amount > MaxBalance {
			return fmt.Errorf("refundable %d", r.Amount)
		}
	}
	return nil
}

// checkShape walks data as one msgpack value without allocating, so that a
// length that announces more elements than the bytes can hold fails here
// instead of making the reflecting decoder allocate for it, and so that
// trailing bytes are refused.
func checkShape(data []byte) error {
	rd := bytes.NewReader(data)
	if err := msgpack.NewDecoder(rd).Skip(); err != nil {
		return err
	}
	if rd.Len() != 0 {
		return fmt.Errorf("%d trailing bytes", rd.Len())
	}
	return nil
}
