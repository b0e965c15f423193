package paychat

import (
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/engine"
)

// ErrBadSection is a snapshot section the decoder refuses.
var ErrBadSection = errors.New("paychat: bad snapshot section")

// Snapshot section "paychat", version 1 (wire format: never change it; a
// new layout is a new version, read next to this one):
//
//	[deposited, fee_account, void, schedule, [partner...], [user...], [payment...], [withdrawal...], [deposit...]]
//	partner = [partner, balance, [[type, ref, createdMs]...]]   sorted by id
//	user    = [telegram_id, balance, referrer, createdMs, [withdrawal id...]]   sorted by telegram id
//
// payments, withdrawals and deposits are sorted by id (tx hash), in the
// layouts of codec.go. Referral holdings, the held set and total, and the
// lookup maps are rebuilt; the decoder checks every reference and the
// conservation rule.
func init() {
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "paychat", Version: 1, Reads: []int{1}, Order: 800,
		Stepped: copySteps, EncodeCopy: encodeSection, Decode: decodeSection})
}

type partnerCopy struct {
	p       Partner
	balance int64
	txs     []Tx
}

type userCopy struct {
	u     User
	inbox []string
}

type sectionCopy struct {
	deposited, fees, void int64
	schedule              FeeSchedule
	partners              []partnerCopy
	users                 []userCopy
	payments              []*Payment
	withdrawals           []*Withdrawal
	deposits              []*Deposit
}

// stepCopy copies the section in steps on the committer's goroutine. The
// scalars, the fee schedule and the partners with their books (few: one
// per registered partner; each book's transaction list is append-only, so
// its prefix) are taken at the start. Users, their inboxes, payments,
// withdrawals and deposits (as many as the traffic made) are read from
// their maps a few per Step; before an event changes or creates one of
// them, Before keeps its value at the start (absent for a creation), which
// wins over whatever the map iteration reads. An event type Before does
// not know completes the copy first.
type stepCopy struct {
	head        sectionCopy // everything but the five below
	users       *engine.MapCopy[User]
	inbox       *inboxCopy
	payments    *engine.MapCopy[Payment]
	withdrawals *engine.MapCopy[Withdrawal]
	deposits    *engine.MapCopy[Deposit]
}

func value[T any](v *T) T { return *v }

func copySteps(st *engine.State) engine.SectionCopy {
	s := Of(st)
	c := &stepCopy{head: sectionCopy{deposited: s.Deposited, fees: s.FeeAccount, void: s.Void, schedule: s.Schedule},
		users: engine.NewMapCopy(s.Users, 0, value[User]), inbox: newInboxCopy(s.Inbox),
		payments: engine.NewMapCopy(s.Payments, 0, value[Payment]), withdrawals: engine.NewMapCopy(s.Withdrawals, 0, value[Withdrawal]),
		deposits: engine.NewMapCopy(s.Deposits, 0, value[Deposit])}
	c.head.partners = make([]partnerCopy, 0, len(s.Partners))
	for id, p := range s.Partners {
		b := s.Books[id]
		c.head.partners = append(c.head.partners, partnerCopy{p: *p, balance: b.Balance, txs: b.Txs[:len(b.Txs):len(b.Txs)]})
	}
	return c
}

func (c *stepCopy) Step(st *engine.State, n int) bool {
	for _, part := range [...]interface{ Step(*engine.State, int) bool }{c.users, c.inbox, c.payments, c.withdrawals, c.deposits} {
		if !part.Step(st, n) {
			return false
		}
	}
	return true
}

// keepUser keeps user id's account and inbox as they are now.
func (c *stepCopy) keepUser(s *State, id string) {
	c.users.Keep(id, s.Users[id])
	c.inbox.keep(id, s.Inbox)
}

func (c *stepCopy) Before(st *engine.State, ev engine.Event) {
	s := Of(st)
	switch e := ev.(type) {
	case *PartnerRegistered, *WebhookSet, *FeeScheduleSet, *WebhookTested:
		// partners, books and the schedule were taken at the start
	case *PaymentCreated:
		c.payments.Keep(e.Payment.ID, s.Payments[e.Payment.ID])
	case *PaymentPaid:
		if id, ok := s.Links[e.Link]; ok {
			c.payments.Keep(id, s.Payments[id])
		}
		c.keepUser(s, e.Payer)
	case *Withdrawn:
		c.withdrawals.Keep(e.Withdrawal.ID, s.Withdrawals[e.Withdrawal.ID])
		c.keepUser(s, e.Withdrawal.User)
	case *DepositReceived:
		c.deposits.Keep(e.Deposit.TxHash, s.Deposits[e.Deposit.TxHash])
		if e.Deposit.User != "" {
			c.keepUser(s, e.Deposit.User)
		}
	case *DepositAssigned:
		c.deposits.Keep(e.TxHash, s.Deposits[e.TxHash])
	default:
		if strings.HasPrefix(engine.Name(ev.EventType()), "paychat.") {
			c.Step(st, math.MaxInt)
		}
	}
}

func ptrs[T any](es []engine.MapEntry[T]) []*T {
	out := make([]*T, len(es))
	for i := range es {
		out[i] = &es[i].Value
	}
	return out
}

func (c *stepCopy) Value() any {
	out := c.head
	inbox := c.inbox.entries()
	users := c.users.Entries()
	out.users = make([]userCopy, len(users))
	for i, e := range users {
		out.users[i] = userCopy{u: e.Value, inbox: inbox[e.ID]}
	}
	out.payments, out.withdrawals, out.deposits = ptrs(c.payments.Entries()), ptrs(c.withdrawals.Entries()), ptrs(c.deposits.Entries())
	return &out
}

// inboxCopy is a MapCopy of the inboxes (append-only lists, so a list as
// it was is its prefix).
type inboxCopy struct {
	next func() (string, []string, bool)
	stop func()
	read map[string][]string
	pre  map[string][]string // user -> inbox at the start; nil: none
	done bool
}

func newInboxCopy(m map[string][]string) *inboxCopy {
	c := &inboxCopy{read: map[string][]string{}, pre: map[string][]string{}, done: len(m) == 0}
	if !c.done {
		c.next, c.stop = iter.Pull2(maps.All(m))
	}
	return c
}

func (c *inboxCopy) Step(_ *engine.State, n int) bool {
	for ; !c.done && n > 0; n-- {
		id, l, ok := c.next()
		if !ok {
			c.done = true
			c.stop()
			break
		}
		if _, changed := c.pre[id]; !changed {
			c.read[id] = l[:len(l):len(l)]
		}
	}
	return c.done
}

func (c *inboxCopy) keep(id string, m map[string][]string) {
	if _, had := c.pre[id]; had || c.done {
		return
	}
	l := m[id]
	c.pre[id] = l[:len(l):len(l)]
}

// entries is the inboxes at the start: what was read, unless kept.
func (c *inboxCopy) entries() map[string][]string {
	for id, l := range c.pre {
		if len(l) == 0 {
			delete(c.read, id)
		} else {
			c.read[id] = l
		}
	}
	return c.read
}

func encodeSection(copy any, enc *msgpack.Encoder) error {
	c := copy.(*sectionCopy)
	engine.SortByKey(c.partners, func(e *partnerCopy) string { return e.p.ID })
	engine.SortByKey(c.users, func(e *userCopy) string { return e.u.TelegramID })
	engine.SortByKey(c.payments, func(p **Payment) string { return (*p).ID })
	engine.SortByKey(c.withdrawals, func(w **Withdrawal) string { return (*w).ID })
	engine.SortByKey(c.deposits, func(d **Deposit) string { return (*d).TxHash })
	w := engine.NewWriter(enc)
	w.Len(9)
	w.Int(c.deposited)
	w.Int(c.fees)
	w.Int(c.void)
	writeSchedule(w, &c.schedule)
	w.Len(len(c.partners))
	for i := range c.partners {
		p := &c.partners[i]
		w.Len(3)
		writePartner(w, &p.p)
		w.Int(p.balance)
		w.Len(len(p.txs))
		for _, t := range p.txs {
			w.Len(3)
			w.Str(t.Type)
			w.Str(t.Ref)
			w.Int(t.CreatedMs)
		}
	}
	w.Len(len(c.users))
	for i := range c.users {
		u := &c.users[i]
		w.Len(5)
		w.Str(u.u.TelegramID)
		w.Int(u.u.Balance)
		w.Str(u.u.Referrer)
		w.Int(u.u.CreatedMs)
		w.Strs(u.inbox)
	}
	w.Len(len(c.payments))
	for _, p := range c.payments {
		writePayment(w, p)
	}
	w.Len(len(c.withdrawals))
	for _, d := range c.withdrawals {
		writeWithdrawal(w, d)
	}
	w.Len(len(c.deposits))
	for _, d := range c.deposits {
		writeDeposit(w, d)
	}
	return w.Err()
}

// loader rebuilds the state from a section, checking as it goes.
type loader struct {
	r   *engine.Reader
	s   *State
	bad error
}

func (l *loader) fail(format string, args ...any) {
	if l.bad == nil {
		l.bad = fmt.Errorf("%w: "+format, append([]any{ErrBadSection}, args...)...)
	}
}

// list reads an array of objects, each taking at least minBytes, in
// strictly ascending key order.
func (l *loader) list(minBytes int, what string, read func() string) {
	n := l.r.Count(-1, minBytes)
	prev := ""
	for i := 0; i < n && l.r.Err() == nil && l.bad == nil; i++ {
		k := read()
		if l.r.Err() == nil && i > 0 && k <= prev {
			l.fail("%s %q out of order", what, k)
		}
		prev = k
	}
}

func decodeSection(_ int, payload []byte, st *engine.State) error {
	r := engine.SectionReader(payload, 9)
	l := &loader{r: r, s: Of(st)}
	s := l.s
	s.Deposited, s.FeeAccount, s.Void = r.Int(), r.Int(), r.Int()
	s.Schedule = readSchedule(r)
	if r.Err() == nil {
		if err := ValidSchedule(&s.Schedule); err != nil {
			l.fail("schedule: %v", err)
		}
	}
	partnerTxs := map[string][]Tx{}
	l.list(12, "partner", func() string { return l.partner(partnerTxs) })
	l.list(6, "user", l.user)
	l.list(13, "payment", l.payment)
	l.list(8, "withdrawal", l.withdrawal)
	l.list(9, "deposit", l.deposit)
	if err := r.Done(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadSection, err)
	}
	if l.bad != nil {
		return l.bad
	}
	return l.finish(partnerTxs)
}

func (l *loader) partner(txs map[string][]Tx) string {
	r, s := l.r, l.s
	if !r.Array(3) {
		return ""
	}
	p := &Partner{}
	readPartner(r, p)
	balance := r.Int()
	n := r.Count(-1, 4)
	var list []Tx
	for i := 0; i < n && r.Err() == nil; i++ {
		if r.Array(3) {
			list = append(list, Tx{Type: r.Str(), Ref: r.Str(), CreatedMs: r.Int()})
		}
	}
	if r.Err() != nil {
		return p.ID
	}
	_, dupTG := s.ByTelegram[p.TelegramID]
	_, dupMemo := s.ByMemo[p.Memo]
	if err := validPartner(p); err != nil || dupTG || dupMemo || balance < 0 || balance > MaxAmount {
		l.fail("partner %q: %v", p.ID, err)
		return p.ID
	}
	s.Partners[p.ID], s.ByTelegram[p.TelegramID], s.ByMemo[p.Memo] = p, p.ID, p.ID
	s.Books[p.ID] = &Book{Balance: balance}
	txs[p.ID] = list
	return p.ID
}

func (l *loader) user() string {
	r, s := l.r, l.s
	if !r.Array(5) {
		return ""
	}
	u := &User{TelegramID: r.Str(), Balance: r.Int(), Referrer: r.Str(), CreatedMs: r.Int()}
	inbox := r.Strs(1 << 30)
	if r.Err() != nil {
		return u.TelegramID
	}
	if err := validTelegram(u.TelegramID); err != nil || u.Balance < 0 || u.Balance > MaxAmount || u.CreatedMs < 0 ||
		(u.Referrer != "" && s.Partners[u.Referrer] == nil) {
		l.fail("user %q: %v", u.TelegramID, err)
		return u.TelegramID
	}
	s.Users[u.TelegramID] = u
	if len(inbox) > 0 {
		s.Inbox[u.TelegramID] = inbox
	}
	if u.Referrer != "" {
		s.Books[u.Referrer].Referral += u.Balance
	}
	return u.TelegramID
}

func (l *loader) payment() string {
	p := &Payment{}
	readPayment(l.r, p)
	if l.r.Err() != nil {
		return p.ID
	}
	s := l.s
	_, dup := s.Links[p.LinkID]
	if err := validPayment(p, true); err != nil || dup || s.Partners[p.Partner] == nil {
		l.fail("payment %q: %v", p.ID, err)
		return p.ID
	}
	s.Payments[p.ID], s.Links[p.LinkID] = p, p.ID
	return p.ID
}

func (l *loader) withdrawal() string {
	w := &Withdrawal{}
	readWithdrawal(l.r, w)
	if l.r.Err() != nil {
		return w.ID
	}
	if err := validWithdrawal(w); err != nil || l.s.Partners[w.Partner] == nil {
		l.fail("withdrawal %q: %v", w.ID, err)
		return w.ID
	}
	l.s.Withdrawals[w.ID] = w
	return w.ID
}

func (l *loader) deposit() string {
	d := &Deposit{}
	readDeposit(l.r, d)
	if l.r.Err() != nil {
		return d.TxHash
	}
	s := l.s
	if err := validDeposit(d, true); err != nil || (d.Partner != "" && s.Partners[d.Partner] == nil) {
		l.fail("deposit %q: %v", d.TxHash, err)
		return d.TxHash
	}
	s.Deposits[d.TxHash] = d
	if d.Status == DepositHeld {
		s.Held[d.TxHash] = struct{}{}
		s.HeldTotal += d.Amount
	}
	return d.TxHash
}

// finish checks the transaction lists and inboxes against the objects,
// and the conservation rule.
func (l *loader) finish(txs map[string][]Tx) error {
	s := l.s
	for id, list := range txs {
		for i, t := range list {
			if !txMatches(s, id, &t) {
				return fmt.Errorf("%w: partner %q transaction %d (%s %q) names no such %s of it", ErrBadSection, id, i+1, t.Type, t.Ref, t.Type)
			}
		}
		s.Books[id].Txs = list
	}
	for u, in := range s.Inbox {
		for _, wid := range in {
			if w := s.Withdrawals[wid]; w == nil || w.User != u {
				return fmt.Errorf("%w: user %q notified of withdrawal %q, not theirs", ErrBadSection, u, wid)
			}
		}
	}
	t := Totals{Deposited: s.Deposited, FeeAccount: s.FeeAccount, Held: s.HeldTotal}
	for _, b := range s.Books {
		t.Partners += b.Balance
	}
	for _, u := range s.Users {
		t.Users += u.Balance
	}
	if s.Deposited < 0 || s.Deposited > MaxAmount || s.FeeAccount < 0 || s.Void < 0 ||
		t.Partners+t.Users+t.FeeAccount+t.Held != t.Deposited {
		return fmt.Errorf("%w: balances %+v do not add up to the deposits", ErrBadSection, t)
	}
	return nil
}

func txMatches(s *State, partner string, t *Tx) bool {
	switch t.Type {
	case TxPayment:
		p := s.Payments[t.Ref]
		return p != nil && p.Partner == partner && p.CreatedMs == t.CreatedMs
	case TxWithdraw:
		w := s.Withdrawals[t.Ref]
		return w != nil && w.Partner == partner && w.CreatedMs == t.CreatedMs
	case TxFee:
		if p := s.Payments[t.Ref]; p != nil {
			return p.Partner == partner && p.Fee > 0 && p.PaidMs == t.CreatedMs
		}
		w := s.Withdrawals[t.Ref]
		return w != nil && w.Partner == partner && w.Fee > 0 && w.CreatedMs == t.CreatedMs
	}
	return false
}
