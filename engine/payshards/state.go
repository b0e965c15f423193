package payshards

import "ledgerd/engine"

// State is PayShards' section of an engine.State: every user's wallet.
// The committer owns it (through the engine.State); read it with Of or
// Wallets.
type State struct {
	Wallets map[string]*Wallet // user id -> wallet
}

// Entries is what a snapshot of the section holds (engine.State.Entries).
func (s *State) Entries() int { return len(s.Wallets) }

var stateKey = engine.RegisterState("payshards", func() any { return &State{Wallets: make(map[string]*Wallet)} })

// Of is PayShards' section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

// Wallets is st's wallets by user id.
func Wallets(st *engine.State) map[string]*Wallet { return Of(st).Wallets }

// Refundable is what one partner has deducted from a wallet and not refunded.
type Refundable struct {
	Partner string
	Amount  int64
}

// Wallet is a PayShards user's shard balance. Users are global: every
// partner spends from the same balance.
type Wallet struct {
	Balance    int64
	Refundable []Refundable // few partners per user: a slice beats a map
}

// RefundableFor returns what partner may still refund to this wallet.
func (w *Wallet) RefundableFor(partner string) int64 {
	for _, r := range w.Refundable {
		if r.Partner == partner {
			return r.Amount
		}
	}
	return 0
}

// AddRefundable moves what partner may refund to this wallet by delta.
func (w *Wallet) AddRefundable(partner string, delta int64) {
	for i := range w.Refundable {
		if w.Refundable[i].Partner == partner {
			w.Refundable[i].Amount += delta
			if w.Refundable[i].Amount < 0 {
				panic("payshards: refundable below zero for partner " + partner)
			}
			if w.Refundable[i].Amount == 0 {
				w.Refundable = append(w.Refundable[:i], w.Refundable[i+1:]...)
			}
			return
		}
	}
	if delta < 0 {
		panic("payshards: refund without deduction for partner " + partner)
	}
	w.Refundable = append(w.Refundable, Refundable{Partner: partner, Amount: delta})
}

// Clone returns a deep copy, for handing a wallet to another owner.
func (w *Wallet) Clone() *Wallet {
	c := &Wallet{Balance: w.Balance}
	if len(w.Refundable) > 0 {
		c.Refundable = append([]Refundable(nil), w.Refundable...)
	}
	return c
}

// Equal reports whether two wallets hold the same state.
func (w *Wallet) Equal(o *Wallet) bool {
	if w.Balance != o.Balance || len(w.Refundable) != len(o.Refundable) {
		return false
	}
	for _, r := range w.Refundable {
		if o.RefundableFor(r.Partner) != r.Amount {
			return false
		}
	}
	return true
}
