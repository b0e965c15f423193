package paychat

import (
	"cmp"
	"errors"
	"slices"

	"ledgerd/engine"
)

// Read helpers for the API layer. They run inside sys.ReadState (on the
// committer's goroutine) and return copies, so the caller renders outside
// it. A copy's byte slices (Metadata, SecretHash) are the state's own,
// which nobody changes: never modify them.

// List limits of GET /transactions.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// ErrBadQuery is a transactions query out of range.
var ErrBadQuery = errors.New("paychat: bad transactions query")

// GetPartner is partner id.
func GetPartner(st *engine.State, id string) (Partner, bool) {
	if p := Of(st).Partners[id]; p != nil {
		return *p, true
	}
	return Partner{}, false
}

// PartnerByTelegram is the partner registered for a Telegram id.
func PartnerByTelegram(st *engine.State, telegramID string) (Partner, bool) {
	s := Of(st)
	if id, ok := s.ByTelegram[telegramID]; ok {
		return *s.Partners[id], true
	}
	return Partner{}, false
}

// PartnerByMemo is the partner whose deposit memo is memo.
func PartnerByMemo(st *engine.State, memo string) (Partner, bool) {
	s := Of(st)
	if id, ok := s.ByMemo[memo]; ok {
		return *s.Partners[id], true
	}
	return Partner{}, false
}

// Balance is a partner's balance as GET /balance shows it.
type Balance struct {
	Available int64
	Referral  int64 // the balances of the users it referred
	Total     int64 // Available + Referral
}

// BalanceOf is partner id's balance (zero for an unknown partner).
func BalanceOf(st *engine.State, id string) Balance {
	b := Of(st).Books[id]
	if b == nil {
		return Balance{}
	}
	return Balance{Available: b.Balance, Referral: b.Referral, Total: b.Balance + b.Referral}
}

// GetUser is a Telegram user's account.
func GetUser(st *engine.State, telegramID string) (User, bool) {
	if u := Of(st).Users[telegramID]; u != nil {
		return *u, true
	}
	return User{}, false
}

// GetPayment is partner's payment by its pay_ id or its link id.
func GetPayment(st *engine.State, partner, ref string) (Payment, bool) {
	p, ok := PaymentByLink(st, ref)
	if !ok {
		if q := Of(st).Payments[ref]; q != nil {
			p, ok = *q, true
		}
	}
	if !ok || p.Partner != partner {
		return Payment{}, false
	}
	return p, true
}

// PaymentByLink is the payment of a link id, whoever's it is (the pay page).
func PaymentByLink(st *engine.State, link string) (Payment, bool) {
	s := Of(st)
	if id, ok := s.Links[link]; ok {
		return *s.Payments[id], true
	}
	return Payment{}, false
}

// GetWithdrawal is withdrawal id.
func GetWithdrawal(st *engine.State, id string) (Withdrawal, bool) {
	if w := Of(st).Withdrawals[id]; w != nil {
		return *w, true
	}
	return Withdrawal{}, false
}

// Notifications are the withdrawals a Telegram user received, oldest first.
func Notifications(st *engine.State, telegramID string) []Withdrawal {
	s := Of(st)
	ids := s.Inbox[telegramID]
	out := make([]Withdrawal, len(ids))
	for i, id := range ids {
		out[i] = *s.Withdrawals[id]
	}
	return out
}

// GetDeposit is the deposit of a transaction hash.
func GetDeposit(st *engine.State, txHash string) (Deposit, bool) {
	if d := Of(st).Deposits[txHash]; d != nil {
		return *d, true
	}
	return Deposit{}, false
}

// HeldDeposits are the deposits held for an unknown memo, oldest first.
func HeldDeposits(st *engine.State) []Deposit {
	s := Of(st)
	out := make([]Deposit, 0, len(s.Held))
	for h := range s.Held {
		out = append(out, *s.Deposits[h])
	}
	slices.SortFunc(out, func(a, b Deposit) int {
		return cmp.Or(cmp.Compare(a.CreatedMs, b.CreatedMs), cmp.Compare(a.TxHash, b.TxHash))
	})
	return out
}

// Schedule is the fee schedule in force.
func Schedule(st *engine.State) FeeSchedule { return Of(st).Schedule }

// Totals are the ledger's whole money and where it is.
type Totals struct {
	Deposited, Partners, Users, FeeAccount, Held int64
}

// TotalsOf sums every balance (the conservation rule: Partners + Users +
// FeeAccount + Held = Deposited).
func TotalsOf(st *engine.State) Totals {
	s := Of(st)
	t := Totals{Deposited: s.Deposited, FeeAccount: s.FeeAccount, Held: s.HeldTotal}
	for _, b := range s.Books {
		t.Partners += b.Balance
	}
	for _, u := range s.Users {
		t.Users += u.Balance
	}
	return t
}

// TxQuery selects a partner's transactions. Type and Status "" are all;
// Status is as read at NowMs (a pending payment past its expiry is
// expired). From and To bound CreatedMs, inclusive, when Has* is set.
type TxQuery struct {
	Type, Status   string
	FromMs, ToMs   int64
	HasFrom, HasTo bool
	Limit, Offset  int
	NowMs          int64
}

// TxView is one transaction as GET /transactions shows it. TelegramID is
// the payer (payments; "" while pending), the recipient (withdrawals), or
// the other side of the call a fee was charged on.
type TxView struct {
	ID         int
	Type       string
	Ref        string
	TelegramID string
	Amount     int64
	Status     string
	CreatedMs  int64
}

// Transactions is a page of partner's transactions that q selects, newest
// first, and how many it selects in all.
func Transactions(st *engine.State, partner string, q TxQuery) (page []TxView, total int, err error) {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit || q.Offset < 0 {
		return nil, 0, ErrBadQuery
	}
	s := Of(st)
	b := s.Books[partner]
	if b == nil {
		return nil, 0, nil
	}
	for i := len(b.Txs) - 1; i >= 0; i-- {
		t := &b.Txs[i]
		if (q.Type != "" && t.Type != q.Type) || (q.HasFrom && t.CreatedMs < q.FromMs) || (q.HasTo && t.CreatedMs > q.ToMs) {
			continue
		}
		v := s.txView(i, t, q.NowMs)
		if q.Status != "" && v.Status != q.Status {
			continue
		}
		if total >= q.Offset && len(page) < q.Limit {
			page = append(page, v)
		}
		total++
	}
	return page, total, nil
}

func (s *State) txView(i int, t *Tx, nowMs int64) TxView {
	v := TxView{ID: i + 1, Type: t.Type, Ref: t.Ref, CreatedMs: t.CreatedMs, Status: StatusCompleted}
	if p := s.Payments[t.Ref]; p != nil {
		v.TelegramID = p.Payer
		if t.Type == TxFee {
			v.Amount = p.Fee
		} else {
			v.Amount, v.Status = p.Amount, p.StatusAt(nowMs)
		}
		return v
	}
	w := s.Withdrawals[t.Ref]
	v.TelegramID, v.Amount = w.User, w.Amount
	if t.Type == TxFee {
		v.Amount = w.Fee
	}
	return v
}
