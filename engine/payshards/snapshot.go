package payshards

import (
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// Snapshot section "payshards", version 1 (wire format: never change it;
// a new layout is a new version, read next to this one):
//
//	[wallets (array of [user, balance, [[partner, amount]...]], by user)]
//
// In a version 2 snapshot the wallets are element V2Wallets, in the same
// encoding.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "payshards", Version: 1, Reads: []int{1}, Order: 300,
		Stepped: copyWallets, EncodeCopy: encodeWallets, Decode: decodeSection,
		V2: func(v2 *engine.SnapshotV2, s *engine.State) error {
			r := v2.Reader(engine.V2Wallets)
			wallets := readWallets(r)
			if err := r.Done(); err != nil {
				return err
			}
			return loadWallets(s, wallets)
		},
	})
}

type walletEntry struct {
	user       string
	balance    int64
	refundable []Refundable
}

// copyWallets starts a copy in steps on the committer's goroutine: a
// wallet an event changes before the copy reached it is kept as it was
// (every payshards event names its wallet as its entity), and the
// refundable slices, which Apply changes in place, are cloned.
func copyWallets(s *engine.State) engine.SectionCopy {
	return engine.NewMapCopy(Wallets(s), WalletEntity, func(w *Wallet) Wallet { return *w.Clone() })
}

func encodeWallets(copy any, enc *msgpack.Encoder) error {
	entries := copy.([]engine.MapEntry[Wallet])
	ws := make([]walletEntry, len(entries))
	for i, e := range entries {
		ws[i] = walletEntry{user: e.ID, balance: e.Value.Balance, refundable: e.Value.Refundable}
	}
	engine.SortByKey(ws, func(e *walletEntry) string { return e.user })
	w := engine.NewWriter(enc)
	w.Len(1)
	w.Len(len(ws))
	for _, e := range ws {
		w.Len(3)
		w.Str(e.user)
		w.Int(e.balance)
		w.Len(len(e.refundable))
		for _, r := range e.refundable {
			w.Len(2)
			w.Str(r.Partner)
			w.Int(r.Amount)
		}
	}
	return w.Err()
}

func decodeSection(_ int, payload []byte, s *engine.State) error {
	r := engine.SectionReader(payload, 1)
	wallets := readWallets(r)
	if err := r.Done(); err != nil {
		return err
	}
	return loadWallets(s, wallets)
}

func readWallets(r *engine.Reader) []walletEntry {
	out := make([]walletEntry, r.Count(-1, 4))
	for i := range out {
		if r.Count(3, 1); r.Err() != nil {
			return nil
		}
		e := &out[i]
		e.user, e.balance = r.Str(), r.Int()
		if n := r.Count(-1, 3); n > 0 && r.Err() == nil {
			e.refundable = make([]Refundable, n)
			for j := range e.refundable {
				r.Count(2, 1)
				e.refundable[j] = Refundable{Partner: r.Str(), Amount: r.Int()}
			}
		}
	}
	return out
}

func loadWallets(s *engine.State, wallets []walletEntry) error {
	st := Of(s)
	if len(st.Wallets) == 0 {
		st.Wallets = make(map[string]*Wallet, len(wallets))
	}
	for _, e := range wallets {
		if err := checkWallet(e); err != nil || st.Wallets[e.user] != nil {
			return fmt.Errorf("wallet %q", e.user)
		}
		st.Wallets[e.user] = &Wallet{Balance: e.balance, Refundable: e.refundable}
	}
	return nil
}

func checkWallet(e walletEntry) error {
	if e.balance < 0 || e.balance > MaxBalance {
		return fmt.Errorf("balance %d", e.balance)
	}
	for _, r := range e.refundable {
		if r.Amount <= 0 || r.Amount > MaxBalance {
			return fmt.Errorf("refundable %d", r.Amount)
		}
	}
	return nil
}
