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

// snapshot is the msgpack form of a State. Maps become slices sorted by
// key, and order-carrying lists keep their order, so the same state always
// encodes to the same bytes (tests compare them).
type snapshot struct {
	_msgpack struct{}          `msgpack:",as_array"`
	Version  int               // SnapshotVersion
	Index    uint64            // last WAL index included
	Events   uint64            // events applied up to Index
	Partners []Partner         // sorted by ID
	Wallets  []walletEntry     // sorted by user
	Idem     []idemEntry       // references, then Idempotency-Keys, each in the order recorded (expiry order)
	Cards    []cardEntry       // sorted by code
	Attempts []attemptEntry    // sorted by partner, each oldest first
	Attempt  uint64            // last Attempt.Seq given
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

type cardEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Code     string
	Card     Card
}

type attemptEntry struct {
	_msgpack struct{} `msgpack:",as_array"`
	Partner  string
	Items    []Attempt
}

// EncodeSnapshot returns the msgpack bytes of the whole state.
func (s *State) EncodeSnapshot() ([]byte, error) {
	snap := snapshot{Version: SnapshotVersion, Index: s.Index, Events: s.Events, Attempt: s.Attempt}
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
	snap.Cards = make([]cardEntry, 0, len(s.Cards))
	for c, card := range s.Cards {
		snap.Cards = append(snap.Cards, cardEntry{Code: c, Card: *card})
	}
	slices.SortFunc(snap.Cards, func(a, b cardEntry) int { return cmp.Compare(a.Code, b.Code) })
	for p, log := range s.Attempts {
		snap.Attempts = append(snap.Attempts, attemptEntry{Partner: p, Items: log.Items()})
	}
	slices.SortFunc(snap.Attempts, func(a, b attemptEntry) int { return cmp.Compare(a.Partner, b.Partner) })
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
	s.Index, s.Events, s.Attempt = snap.Index, snap.Events, snap.Attempt
	for _, load := range []func(*State, *snapshot) error{loadPartners, loadWallets, loadIdem, loadCards, loadAttempts} {
		if err := load(s, &snap); err != nil {
			return nil, fmt.Errorf("%w: snapshot: %w", ErrBadRecord, err)
		}
	}
	return s, nil
}

func loadPartners(s *State, snap *snapshot) error {
	for i := range snap.Partners {
		p := snap.Partners[i]
		if p.ID == "" || s.Partners[p.ID] != nil {
			return fmt.Errorf("partner %q", p.ID)
		}
		for _, k := range p.Keys {
			var h [KeyHashLen]byte
			if len(k.Hash) != KeyHashLen || k.ID == "" {
				return fmt.Errorf("partner %q key %q", p.ID, k.ID)
			}
			copy(h[:], k.Hash)
			if _, dup := s.Keys[h]; dup {
				return fmt.Errorf("partner %q: key hash used twice", p.ID)
			}
			s.Keys[h] = p.ID
		}
		s.Partners[p.ID] = &p
	}
	return nil
}

func loadWallets(s *State, snap *snapshot) error {
	for _, e := range snap.Wallets {
		if err := checkWallet(e); err != nil || s.Wallets[e.User] != nil {
			return fmt.Errorf("wallet %q", e.User)
		}
		s.Wallets[e.User] = &Wallet{Balance: e.Balance, Refundable: e.Refundable}
	}
	return nil
}

func loadIdem(s *State, snap *snapshot) error {
	for _, e := range snap.Idem {
		if _, dup := s.Idem[e.Key]; dup {
			return fmt.Errorf("duplicate reference %q", e.Key.Reference)
		}
		if e.Key.Op < OpDeduct || e.Key.Op > OpRedeemKey {
			return fmt.Errorf("reference %q with operation %d", e.Key.Reference, e.Key.Op)
		}
		s.Idem[e.Key] = e.Record
		s.order(e.Key.Op).keys = append(s.order(e.Key.Op).keys, e.Key)
	}
	return nil
}

func loadCards(s *State, snap *snapshot) error {
	for i := range snap.Cards {
		e := &snap.Cards[i]
		if e.Code == "" || s.Cards[e.Code] != nil || s.Partners[e.Card.Partner] == nil {
			return fmt.Errorf("code %q", e.Code)
		}
		s.Cards[e.Code] = &e.Card
	}
	return nil
}

func loadAttempts(s *State, snap *snapshot) error {
	for _, e := range snap.Attempts {
		if e.Partner == "" || s.Attempts[e.Partner] != nil || len(e.Items) == 0 {
			return fmt.Errorf("attempts of %q", e.Partner)
		}
		for i, a := range e.Items {
			if a.Seq > s.Attempt || (i > 0 && a.Seq <= e.Items[i-1].Seq) {
				return fmt.Errorf("attempts of %q out of order", e.Partner)
			}
		}
		s.Attempts[e.Partner] = &AttemptLog{items: e.Items}
	}
	return nil
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
