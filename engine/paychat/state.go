package paychat

import (
	"ledgerd/engine"
	"ledgerd/engine/outbox"
)

// State is PAYchat's section of an engine.State. The committer owns it:
// only this package's Apply functions change it. Payments and deposits
// are never changed in place (a change stores a new object under its id),
// withdrawals never change, and the transaction lists only grow, so a
// snapshot's copy may hold their pointers and slices; partners, users and
// books are copied by value.
type State struct {
	Partners    map[string]*Partner
	ByTelegram  map[string]string // telegram id -> partner id
	ByMemo      map[string]string // deposit memo -> partner id
	Books       map[string]*Book  // partner id -> balance and transactions
	Users       map[string]*User  // telegram id -> account
	Inbox       map[string][]string
	Payments    map[string]*Payment
	Links       map[string]string // link id -> payment id
	Withdrawals map[string]*Withdrawal
	Deposits    map[string]*Deposit // by tx hash
	Held        map[string]struct{} // tx hashes of held deposits
	Schedule    FeeSchedule

	Deposited  int64 // every deposit received: the ledger's whole money
	FeeAccount int64 // fees charged
	HeldTotal  int64 // deposits held for an unknown memo
	Void       int64 // PaymentPaid events that found their link no longer payable
}

// Inbox holds, per Telegram user, the withdrawals it received in order:
// the notifications PAYchat would send by Telegram (shown on an admin
// route; there is no Telegram here).

// Book is one partner's balance, the balances of the users it referred,
// and its transactions in creation order (Tx i has id i+1).
type Book struct {
	Balance  int64
	Referral int64
	Txs      []Tx
}

// Tx is one entry of a partner's transaction list: Ref is the payment or
// withdrawal it is (or, for a fee, the one it was charged on).
type Tx struct {
	Type      string
	Ref       string
	CreatedMs int64
}

func newState() *State {
	return &State{Partners: map[string]*Partner{}, ByTelegram: map[string]string{}, ByMemo: map[string]string{},
		Books: map[string]*Book{}, Users: map[string]*User{}, Inbox: map[string][]string{}, Payments: map[string]*Payment{},
		Links: map[string]string{}, Withdrawals: map[string]*Withdrawal{}, Deposits: map[string]*Deposit{}, Held: map[string]struct{}{}}
}

// Entries is what a snapshot of the section holds (engine.State.Entries).
func (s *State) Entries() int {
	return len(s.Partners) + len(s.Users) + len(s.Payments) + len(s.Withdrawals) + len(s.Deposits)
}

var stateKey = engine.RegisterState("paychat", func() any { return newState() })

// Of is PAYchat's section of st.
func Of(st *engine.State) *State { return st.Module(stateKey).(*State) }

func broken(what string, ev engine.Event, v int64) {
	panic(engine.Invariant(what, ev, v))
}

// credit adds d (possibly negative) to user u's balance, and to its
// referrer's referral holdings.
func (s *State) credit(u *User, d int64, ev engine.Event) {
	u.Balance += d
	if u.Balance < 0 || u.Balance > MaxAmount {
		broken("user balance in 0..MaxAmount", ev, u.Balance)
	}
	if u.Referrer != "" {
		s.Books[u.Referrer].Referral += d
	}
}

// user is telegram id's account, created at timeMs on first use.
func (s *State) user(id string, timeMs int64) *User {
	u := s.Users[id]
	if u == nil {
		u = &User{TelegramID: id, CreatedMs: timeMs}
		s.Users[id] = u
	}
	return u
}

func (s *State) book(partner string, ev engine.Event) *Book {
	b := s.Books[partner]
	if b == nil {
		broken("partner registered", ev, 0)
	}
	return b
}

func (b *Book) add(d int64, ev engine.Event) {
	b.Balance += d
	if b.Balance < 0 || b.Balance > MaxAmount {
		broken("partner balance in 0..MaxAmount", ev, b.Balance)
	}
}

func applyPartnerRegistered(st *engine.State, ev *PartnerRegistered) {
	s := Of(st)
	p := ev.Partner
	_, dupTG := s.ByTelegram[p.TelegramID]
	_, dupMemo := s.ByMemo[p.Memo]
	if s.Partners[p.ID] != nil || dupTG || dupMemo {
		broken("partner id, telegram id and memo unique", ev, 0)
	}
	s.Partners[p.ID] = &p
	s.ByTelegram[p.TelegramID] = p.ID
	s.ByMemo[p.Memo] = p.ID
	s.Books[p.ID] = &Book{}
}

func applyWebhookSet(st *engine.State, ev *WebhookSet) {
	s := Of(st)
	p := s.Partners[ev.Partner]
	if p == nil {
		broken("partner registered", ev, 0)
	}
	np := *p
	np.WebhookURL = ev.URL
	s.Partners[p.ID] = &np
}

func applyPaymentCreated(st *engine.State, ev *PaymentCreated) {
	s := Of(st)
	p := ev.Payment
	if _, dup := s.Links[p.LinkID]; dup || s.Payments[p.ID] != nil {
		broken("payment id and link id unique", ev, 0)
	}
	b := s.book(p.Partner, ev)
	s.Payments[p.ID] = &p
	s.Links[p.LinkID] = p.ID
	b.Txs = append(b.Txs, Tx{Type: TxPayment, Ref: p.ID, CreatedMs: p.CreatedMs})
}

// Payable reports whether a PaymentPaid at paidMs would complete p.
func Payable(p *Payment, paidMs int64) bool {
	return p.Status == StatusPending && paidMs >= p.CreatedMs && paidMs < p.ExpiresMs
}

func applyPaymentPaid(st *engine.State, ev *PaymentPaid) {
	s := Of(st)
	id, ok := s.Links[ev.Link]
	if !ok {
		broken("paid link exists", ev, 0)
	}
	p := s.Payments[id]
	if !Payable(p, ev.PaidMs) {
		s.Void++ // another payer was first, in log order: nothing moves
		return
	}
	if p.Amount != ev.Amount || p.Partner != ev.Partner || ev.Fee > p.Amount {
		broken("payment's amount, partner, and fee at most the amount", ev, p.Amount)
	}
	u := s.Users[ev.Payer]
	if u == nil || u.Balance < ev.Amount {
		broken("payer's balance covers the payment", ev, 0)
	}
	s.credit(u, -ev.Amount, ev)
	b := s.book(p.Partner, ev)
	b.add(ev.Amount-ev.Fee, ev)
	s.FeeAccount += ev.Fee
	np := *p
	np.Status, np.Payer, np.PaidMs, np.Fee = StatusCompleted, ev.Payer, ev.PaidMs, ev.Fee
	s.Payments[p.ID] = &np
	if ev.Fee > 0 {
		b.Txs = append(b.Txs, Tx{Type: TxFee, Ref: p.ID, CreatedMs: ev.PaidMs})
	}
	s.notify(st, p.Partner, &ev.Notice, ev)
}

func applyWithdrawn(st *engine.State, ev *Withdrawn) {
	s := Of(st)
	w := ev.Withdrawal
	if s.Withdrawals[w.ID] != nil {
		broken("withdrawal id unique", ev, 0)
	}
	b := s.book(w.Partner, ev)
	if b.Balance < w.Amount+w.Fee {
		broken("partner's balance covers amount and fee", ev, b.Balance)
	}
	b.add(-w.Amount-w.Fee, ev)
	s.FeeAccount += w.Fee
	u := s.user(w.User, ev.TimeMs)
	if u.Referrer == "" {
		u.Referrer = w.Partner // the first withdrawal to a user without a referrer
		b.Referral += u.Balance
	}
	s.credit(u, w.Amount, ev)
	s.Withdrawals[w.ID] = &w
	s.Inbox[w.User] = append(s.Inbox[w.User], w.ID)
	b.Txs = append(b.Txs, Tx{Type: TxWithdraw, Ref: w.ID, CreatedMs: w.CreatedMs})
	if w.Fee > 0 {
		b.Txs = append(b.Txs, Tx{Type: TxFee, Ref: w.ID, CreatedMs: w.CreatedMs})
	}
	s.notify(st, w.Partner, &ev.Notice, ev)
}

func applyDepositReceived(st *engine.State, ev *DepositReceived) {
	s := Of(st)
	d := ev.Deposit
	if s.Deposits[d.TxHash] != nil {
		broken("deposit tx hash unique", ev, 0)
	}
	if s.Deposited+d.Amount > MaxAmount {
		broken("deposits at most MaxAmount", ev, s.Deposited)
	}
	s.Deposited += d.Amount
	s.Deposits[d.TxHash] = &d
	switch {
	case d.Status == DepositHeld:
		s.Held[d.TxHash] = struct{}{}
		s.HeldTotal += d.Amount
	case d.Partner != "":
		s.book(d.Partner, ev).add(d.Amount, ev)
	default:
		s.credit(s.user(d.User, ev.TimeMs), d.Amount, ev)
	}
}

func applyDepositAssigned(st *engine.State, ev *DepositAssigned) {
	s := Of(st)
	d := s.Deposits[ev.TxHash]
	if d == nil || d.Status != DepositHeld {
		broken("assigned deposit held", ev, 0)
	}
	b := s.book(ev.Partner, ev)
	nd := *d
	nd.Status, nd.Partner, nd.AssignedMs = DepositCredited, ev.Partner, ev.TimeMs
	s.Deposits[d.TxHash] = &nd
	delete(s.Held, d.TxHash)
	s.HeldTotal -= d.Amount
	b.add(d.Amount, ev)
}

func applyWebhookTested(st *engine.State, ev *WebhookTested) {
	s := Of(st)
	if s.Partners[ev.Partner] == nil {
		broken("partner registered", ev, 0)
	}
	s.notify(st, ev.Partner, &ev.Notice, ev)
}

// notify enqueues n's delivery to the partner's webhook, when it has one
// now and n is not empty.
func (s *State) notify(st *engine.State, partner string, n *Notice, ev engine.Event) {
	p := s.Partners[partner]
	if n.ID == "" || p.WebhookURL == "" {
		return
	}
	outbox.Enqueue(st, outbox.Delivery{ID: outbox.DeliveryID(n.ID, partner), API: API, Partner: partner, Target: partner,
		EventID: n.ID, EventType: n.Type, Body: n.Body, CreatedMs: ev.Time()})
}
