package actors

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
)

// Partner keys, rate limits and code issuance through the directory actor.

// gatedLog is an in-memory Log whose appends can be held, to observe what
// is visible before a change is durable.
type gatedLog struct {
	mu      sync.Mutex
	n       uint64
	hold    bool
	entered chan struct{} // an append is being held
	release chan struct{}
}

func newGatedLog() *gatedLog {
	return &gatedLog{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (l *gatedLog) Append(payloads ...[]byte) (uint64, error) {
	l.mu.Lock()
	hold := l.hold
	l.hold = false
	l.mu.Unlock()
	if hold {
		l.entered <- struct{}{}
		<-l.release
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.n += uint64(len(payloads))
	return l.n, nil
}

func (l *gatedLog) DropBefore(uint64) error { return nil }

// releaser returns a func that lets the held append go on, once however
// often it is called: a test defers it so that a failure before the
// release does not leave Stop waiting for the held batch.
func (l *gatedLog) releaser() func() {
	var once sync.Once
	return func() { once.Do(func() { l.release <- struct{}{} }) }
}

func (l *gatedLog) holdNext() {
	l.mu.Lock()
	l.hold = true
	l.mu.Unlock()
}

func resolves(s *System, k NewKey) string {
	if p, ok := s.PartnerByKey(k.Hash); ok {
		return p.ID
	}
	return ""
}

// TestKeyChangesVisibleOnlyWhenDurable: a key added (or revoked) is not
// seen by authentication while its event waits for the WAL, and is seen as
// soon as the call returns.
func TestKeyChangesVisibleOnlyWhenDurable(t *testing.T) {
	log := newGatedLog()
	s, err := Start(Config{DataDir: t.TempDir(), Log: log, Logger: quietLogger(), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	k1, k2 := testKey("k1"), testKey("k2")
	if _, err := s.CreatePartner("pa", "paypay", "A", 60, k1); err != nil {
		t.Fatal(err)
	}
	held := func(what string, call func() error, during func()) {
		t.Helper()
		log.holdNext()
		errc := make(chan error, 1)
		go func() { errc <- call() }()
		select {
		case <-log.entered:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no append", what)
		}
		during()
		select {
		case err := <-errc:
			t.Fatalf("%s returned (%v) before its event was durable", what, err)
		default:
		}
		log.release <- struct{}{}
		if err := <-errc; err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	held("AddKey", func() error { _, err := s.AddKey("pa", k2); return err }, func() {
		if got := resolves(s, k2); got != "" {
			t.Errorf("a key not yet durable resolves to %q", got)
		}
	})
	if resolves(s, k2) != "pa" || resolves(s, k1) != "pa" {
		t.Fatalf("after AddKey: k1 -> %q, k2 -> %q", resolves(s, k1), resolves(s, k2))
	}
	held("RevokeKey", func() error { _, err := s.RevokeKey("pa", k1.ID); return err }, func() {
		if resolves(s, k1) != "pa" {
			t.Error("a revocation not yet durable took effect")
		}
	})
	if resolves(s, k1) != "" || resolves(s, k2) != "pa" {
		t.Fatalf("after RevokeKey: k1 -> %q, k2 -> %q", resolves(s, k1), resolves(s, k2))
	}
	held("SetPartnerRateLimit", func() error { _, err := s.SetPartnerRateLimit("pa", 999); return err }, func() {
		if p, _ := s.PartnerByID("pa"); p.RateLimit != 60 {
			t.Error("a rate limit not yet durable took effect")
		}
	})
	if p, _ := s.PartnerByID("pa"); p.RateLimit != 999 {
		t.Fatalf("rate limit %d", p.RateLimit)
	}
}

func TestKeysLifecycle(t *testing.T) {
	clock := newCardsClock()
	dir := t.TempDir()
	s := startCards(t, dir, clock)
	k1, k2, k3 := testKey("k1"), testKey("k2"), testKey("k3")
	p, err := s.CreatePartner("pa", "paypay", "A", 60, k1)
	if err != nil || len(p.Keys) != 1 {
		t.Fatal(p, err)
	}
	if _, err := s.CreatePartner("ps", "payshards", "S", 60, testKey("s1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeKey("pa", k1.ID); !errors.Is(err, ErrLastKey) {
		t.Fatalf("revoke the only key: %v", err)
	}
	p, err = s.AddKey("pa", k2)
	if err != nil || len(p.Keys) != 2 || p.Keys[1].ID != k2.ID || p.Keys[1].Hint != k2.Hint || p.Keys[1].CreatedMs != clock.ms() {
		t.Fatalf("AddKey: %+v %v", p, err)
	}
	if resolves(s, k1) != "pa" || resolves(s, k2) != "pa" {
		t.Fatal("both keys must resolve")
	}
	clock.add(time.Second)
	p, err = s.RevokeKey("pa", k1.ID)
	if err != nil || p.Key(k1.ID).RevokedMs != clock.ms() || p.Key(k2.ID).RevokedMs != 0 {
		t.Fatalf("RevokeKey: %+v %v", p, err)
	}
	if resolves(s, k1) != "" || resolves(s, k2) != "pa" {
		t.Fatalf("after revoke: k1 -> %q, k2 -> %q", resolves(s, k1), resolves(s, k2))
	}
	errCases := []struct {
		name string
		err  error
		call func() error
	}{
		{"revoke the last live key", ErrLastKey, func() error { _, err := s.RevokeKey("pa", k2.ID); return err }},
		{"revoke a revoked key", ErrKeyRevoked, func() error { _, err := s.RevokeKey("pa", k1.ID); return err }},
		{"revoke an unknown key", ErrKeyNotFound, func() error { _, err := s.RevokeKey("pa", "key_nope"); return err }},
		{"revoke another partner's key", ErrKeyNotFound, func() error { _, err := s.RevokeKey("pa", testKey("s1").ID); return err }},
		{"revoke a key of an unknown partner", ErrPartnerNotFound, func() error { _, err := s.RevokeKey("nope", k1.ID); return err }},
		{"add a revoked key's hash again", ErrPartnerExists, func() error {
			_, err := s.AddKey("pa", NewKey{ID: "key_new", Hash: k1.Hash})
			return err
		}},
		{"add another partner's key hash", ErrPartnerExists, func() error {
			_, err := s.AddKey("pa", NewKey{ID: "key_new", Hash: testKey("s1").Hash})
			return err
		}},
		{"add a used key id", ErrPartnerExists, func() error { _, err := s.AddKey("pa", NewKey{ID: k1.ID, Hash: k3.Hash}); return err }},
		{"add a key to an unknown partner", ErrPartnerNotFound, func() error { _, err := s.AddKey("nope", k3); return err }},
		{"rate limit of an unknown partner", ErrPartnerNotFound, func() error { _, err := s.SetPartnerRateLimit("nope", 5); return err }},
		{"issue codes for a payshards partner", ErrWrongAPI, func() error {
			_, err := s.IssueCodes("ps", []string{"S1"}, "t", "l", clock.ms()+1000)
			return err
		}},
		{"issue codes for an unknown partner", ErrPartnerNotFound, func() error {
			_, err := s.IssueCodes("nope", []string{"S1"}, "t", "l", clock.ms()+1000)
			return err
		}},
	}
	for _, c := range errCases {
		if err := c.call(); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
	// A failed AddKey claims nothing: the id and hash are still free.
	if _, err := s.AddKey("pa", k3); err != nil {
		t.Fatalf("add k3 after failed attempts: %v", err)
	}
	if resolves(s, k3) != "pa" {
		t.Fatal("k3")
	}

	p, err = s.SetPartnerRateLimit("pa", 100000)
	if err != nil || p.RateLimit != 100000 {
		t.Fatal(p, err)
	}
	if p, _ := s.PartnerByID("pa"); p.RateLimit != 100000 {
		t.Fatalf("PartnerByID rate limit %d", p.RateLimit)
	}
	if p, _ := s.PartnerByKey(k2.Hash); p.RateLimit != 100000 {
		t.Fatalf("PartnerByKey rate limit %d", p.RateLimit)
	}

	// Codes: a batch with a code already issued (or twice in itself)
	// issues nothing.
	exp := clock.ms() + 3600_000
	if _, err := s.IssueCodes("pa", []string{"C1", "C2"}, "gold", "G", exp); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueCodes("pa", []string{"N1", "C2", "N2"}, "gold", "G", exp); !errors.Is(err, ErrCodeExists) {
		t.Fatalf("collision: %v", err)
	}
	if _, err := s.IssueCodes("pa", []string{"N3", "N3"}, "gold", "G", exp); !errors.Is(err, ErrCodeExists) {
		t.Fatalf("duplicate in batch: %v", err)
	}
	// Another partner cannot take a code either.
	if _, err := s.CreatePartner("pb", "paypay", "B", 60, testKey("b1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueCodes("pb", []string{"C1"}, "gold", "G", exp); !errors.Is(err, ErrCodeExists) {
		t.Fatalf("other partner's code: %v", err)
	}
	s.ReadState(func(st *engine.State) {
		for _, c := range []string{"N1", "N2", "N3"} {
			if paypay.Cards(st)[c] != nil {
				t.Errorf("%s issued by a failed batch", c)
			}
		}
		if len(paypay.Cards(st)) != 2 || paypay.Cards(st)["C1"].Partner != "pa" {
			t.Errorf("cards %d", len(paypay.Cards(st)))
		}
	})
	if r := cardDo(s, KindValidate, "pa", "N1", ""); r.Status != StatusNotFound {
		t.Fatalf("N1 %+v", r)
	}
	// The failed batch claimed nothing: its new codes can be issued.
	if _, err := s.IssueCodes("pa", []string{"N1", "N2", "N3"}, "silver", "S", exp); err != nil {
		t.Fatalf("codes of a failed batch: %v", err)
	}

	check := func(s *System) {
		t.Helper()
		if resolves(s, k1) != "" || resolves(s, k2) != "pa" || resolves(s, k3) != "pa" || resolves(s, testKey("s1")) != "ps" {
			t.Errorf("keys: k1 %q k2 %q k3 %q", resolves(s, k1), resolves(s, k2), resolves(s, k3))
		}
		p, ok := s.PartnerByID("pa")
		if !ok || p.RateLimit != 100000 || len(p.Keys) != 3 || p.Key(k1.ID).RevokedMs == 0 {
			t.Errorf("pa after restart: %+v", p)
		}
		if r := cardDo(s, KindValidate, "pa", "N2", ""); r.Status != StatusOK || r.Detail.Tier != "silver" {
			t.Errorf("N2 %+v", r)
		}
		if r := cardDo(s, KindValidate, "pa", "C1", ""); r.Status != StatusOK || r.Detail.Tier != "gold" {
			t.Errorf("C1 %+v", r)
		}
		if _, err := s.IssueCodes("pb", []string{"N3"}, "t", "l", exp); !errors.Is(err, ErrCodeExists) {
			t.Errorf("issued code free after restart: %v", err)
		}
		if _, err := s.RevokeKey("pa", k1.ID); !errors.Is(err, ErrKeyRevoked) {
			t.Errorf("revoked key after restart: %v", err)
		}
		if _, err := s.AddKey("pb", NewKey{ID: "key_x", Hash: k1.Hash}); !errors.Is(err, ErrPartnerExists) {
			t.Errorf("revoked key hash free after restart: %v", err)
		}
	}
	check(s)
	img, before := crashImage(t, s, false) // WAL only: full replay of every new event type
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, dir, clock)
	check(s)
	if _, err := s.RevokeKey("pa", k2.ID); err != nil { // k3 remains
		t.Fatalf("revoke k2 after restart: %v", err)
	}
	if _, err := s.RevokeKey("pa", k3.ID); !errors.Is(err, ErrLastKey) {
		t.Fatalf("last key after restart: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	s = startCards(t, img, clock)
	defer s.Stop()
	sameState(t, "WAL replay", durable(t, s), before)
}

// TestAdminCommandsTheWALCannotReplay: every admin command the actors
// accept is written to the WAL; on a crash restart, DecodeBatch replays it
// with Event.Validate. A command that passes the directory but fails
// Validate is acknowledged, then makes the data directory unrecoverable.
// Each must either be refused or survive a crash restart.
func TestAdminCommandsTheWALCannotReplay(t *testing.T) {
	cases := []struct {
		name string
		call func(s *System) error
	}{
		{"rate limit 0", func(s *System) error { _, err := s.SetPartnerRateLimit("pa", 0); return err }},
		{"rate limit -5", func(s *System) error { _, err := s.SetPartnerRateLimit("pa", -5); return err }},
		{"issue no codes", func(s *System) error { _, err := s.IssueCodes("pa", nil, "t", "l", 1); return err }},
		{"issue an empty code", func(s *System) error { _, err := s.IssueCodes("pa", []string{"X", ""}, "t", "l", 1); return err }},
		{"issue 10,001 codes", func(s *System) error {
			codes := make([]string, engine.MaxCodesIssued+1)
			for i := range codes {
				codes[i] = "M" + time.Duration(i).String()
			}
			_, err := s.IssueCodes("pa", codes, "t", "l", 1)
			return err
		}},
		{"add a key with an empty id", func(s *System) error { _, err := s.AddKey("pa", NewKey{Hash: testKey("e").Hash}); return err }},
		{"create a partner with an empty key id", func(s *System) error {
			_, err := s.CreatePartner("pz", "paypay", "Z", 60, NewKey{Hash: testKey("z").Hash})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clock := newCardsClock()
			s := startCards(t, t.TempDir(), clock)
			defer s.Stop()
			if _, err := s.CreatePartner("pa", "paypay", "A", 60, testKey("a1")); err != nil {
				t.Fatal(err)
			}
			if err := c.call(s); err != nil {
				return // refused: fine
			}
			img, _ := crashImage(t, s, false)
			s2, err := Start(Config{DataDir: img, Logger: quietLogger(), Now: clock.now})
			if err != nil {
				t.Fatalf("accepted and acknowledged, then the WAL cannot be replayed: %v", err)
			}
			s2.Stop()
		})
	}
}

// TestLoadsSkipUnrelatedBatches: a wallet actor that starts while a batch
// is being written gets its state at once when that batch does not touch
// it, and waits for the batch when it does (its retired predecessor's
// event is in it).
func TestLoadsSkipUnrelatedBatches(t *testing.T) {
	log := newGatedLog()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	s, err := Start(Config{DataDir: t.TempDir(), Log: log, Logger: quietLogger(), WalletIdle: time.Minute, SweepEvery: 5 * time.Millisecond,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	do := func(k Kind, user, ref string) Op {
		op := NewOp()
		op.Kind, op.Partner, op.User, op.Reference, op.Amount = k, "p", user, ref, 10
		if k == KindCredit {
			op.Amount = 100
		}
		s.Do(op)
		r := *op
		op.Release()
		return r
	}
	passivateAll := func() {
		clock.Add(int64(2 * time.Minute))
		for s.wallets.count.Load() != 0 {
			time.Sleep(time.Millisecond)
		}
	}
	do(KindCredit, "a", "ca")
	do(KindCredit, "b", "cb")
	passivateAll()

	log.holdNext()
	deduct := make(chan Op, 1)
	go func() { deduct <- do(KindDeduct, "a", "d1") }()
	<-log.entered // a's deduct is being written
	release := log.releaser()
	defer release() // before Stop, which waits for the held batch

	read := make(chan Op, 1)
	go func() { read <- do(KindBalance, "b", "") }()
	select {
	case r := <-read:
		if r.Status != StatusOK || r.Balance != 100 {
			t.Fatalf("b while a's batch is held: %+v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b's new actor waited for a batch that does not touch b")
	}

	passivateAll() // a's actor retires with its deduct still in flight
	go func() { read <- do(KindBalance, "a", "") }()
	select {
	case r := <-read:
		t.Fatalf("a's new actor answered %+v before its predecessor's deduct was durable", r)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	if r := <-deduct; r.Status != StatusOK || r.Balance != 90 {
		t.Fatalf("deduct %+v", r)
	}
	if r := <-read; r.Status != StatusOK || r.Balance != 90 {
		t.Fatalf("a after the deduct: %+v", r)
	}
	if r := do(KindDeduct, "a", "d2"); r.Balance != 80 {
		t.Fatalf("second deduct %+v", r)
	}
	if err := s.CheckConsistency(); err != nil {
		t.Fatal(err)
	}
}

// TestCodeLoadWaitsForItsRedeem: a code's actor retires as soon as nothing
// is queued for it, often while its redeem is still being written. The
// next actor for that code must start from a state that includes that
// redeem, or the code could be redeemed twice; an unrelated code's actor
// starts at once.
func TestCodeLoadWaitsForItsRedeem(t *testing.T) {
	s, log, _ := startGated(t, 2)
	defer s.Stop()
	waitQuiet(t, s)

	log.holdNext()
	first := make(chan cardResult, 1)
	go func() { first <- cardDo(s, KindRedeem, "pa", "A1", "") }()
	<-log.entered // the first redeem of A1 is being written
	release := log.releaser()
	defer release() // before Stop, which waits for the held batch
	waitQuiet(t, s) // A1's actor retired with its redeem in flight

	second := make(chan cardResult, 1)
	go func() { second <- cardDo(s, KindRedeem, "pa", "A1", "") }()
	other := make(chan cardResult, 1)
	go func() { other <- cardDo(s, KindValidate, "pa", "A2", "") }()
	time.Sleep(20 * time.Millisecond) // let both reach their actors (either order passes)
	release()
	if r := <-first; r.Status != StatusOK {
		t.Fatalf("first redeem %+v", r)
	}
	if r := <-second; r.Status != StatusAlreadyRedeemed {
		t.Fatalf("second redeem of A1: %+v, want already redeemed", r)
	}
	if r := <-other; r.Status != StatusOK {
		t.Fatalf("validate A2: %+v", r)
	}
}
