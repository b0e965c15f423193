package engine_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"ledgerd/engine"
	"ledgerd/engine/paypay"
	"ledgerd/engine/payshards"
)

// randomEvents returns n events that Apply accepts in order, decided by the
// Decide functions against a model state, the way actors produce them. It
// emits every event type: partners of both APIs with several keys, wallet
// traffic, codes issued, revoked and attempted (with and without
// Idempotency-Keys, by their partner and by others) and all three expiries.
func randomEvents(seed uint64, n int) []engine.Event {
	rng := rand.New(rand.NewPCG(seed, 0x1edce7))
	model := engine.NewState()
	var out []engine.Event
	emit := func(ev engine.Event) {
		model.Apply(ev)
		out = append(out, ev)
	}
	partners := []string{}
	users := []string{"u_a", "u_b", "u_c", "u_d", "u_é"}
	ref := 0
	nextRef := func() string { ref++; return fmt.Sprintf("ref_%d", ref) }
	keys := 0
	nextKey := func() (string, []byte) {
		keys++
		h := engine.HashKey(fmt.Appendf(nil, "gen-key-%d", keys))
		return fmt.Sprintf("key_%d", keys), h[:]
	}
	var codes []string // every code issued, in issue order
	nextCode := 0
	req := 0
	pick := func() string { return partners[rng.IntN(len(partners))] }
	for len(out) < n {
		t := int64(1700000000000 + len(out))
		switch k := rng.IntN(20); {
		case k == 0 || len(partners) == 0:
			id := fmt.Sprintf("ptr_%02d", len(partners))
			api := "payshards"
			if rng.IntN(2) == 0 {
				api = "paypay"
			}
			kid, h := nextKey()
			emit(&engine.PartnerCreated{Stamp: at(t), Partner: id, API: api, Name: "P " + id,
				RateLimit: int64(rng.IntN(1000)), Key: engine.NewKeyRecord{ID: kid, Hint: "abcd", Hash: h}})
			partners = append(partners, id)
		case k == 1:
			st := engine.StatusActive
			if rng.IntN(2) == 0 {
				st = engine.StatusInactive
			}
			emit(&engine.PartnerStatusChanged{Stamp: at(t), Partner: pick(), Status: st})
		case k <= 3:
			u := users[rng.IntN(len(users))]
			if ev, ok := payshards.DecideCredit(payshards.Wallets(model)[u], u, nextRef(), 1+rng.Int64N(1000), t); ok {
				emit(ev)
			}
		case k <= 5:
			u := users[rng.IntN(len(users))]
			if rng.IntN(8) == 0 {
				u = "ghost"
			}
			emit(payshards.DecideDeduct(payshards.Wallets(model)[u], pick(), u, nextRef(), 1+rng.Int64N(400), t))
		case k == 6:
			u := users[rng.IntN(len(users))]
			if rng.IntN(8) == 0 {
				u = "ghost"
			}
			amount := 1 + rng.Int64N(300)
			p := pick()
			if w := payshards.Wallets(model)[u]; w != nil && rng.IntN(2) == 0 && w.RefundableFor(p) > 0 {
				amount = w.RefundableFor(p) // refund all: removes the entry
			}
			emit(payshards.DecideRefund(payshards.Wallets(model)[u], p, u, nextRef(), amount, t))
		case k == 7:
			kid, h := nextKey()
			emit(&engine.KeyAdded{Stamp: at(t), Partner: pick(), Key: engine.NewKeyRecord{ID: kid, Hash: h, Hint: kid[len(kid)-1:]}})
		case k == 8:
			// Revoke a live key of a partner that keeps another one.
			p := model.Partners[pick()]
			var live []string
			for _, key := range p.Keys {
				if key.RevokedMs == 0 {
					live = append(live, key.ID)
				}
			}
			if len(live) > 1 {
				emit(&engine.KeyRevoked{Stamp: at(t), Partner: p.ID, KeyID: live[rng.IntN(len(live))]})
			}
		case k == 9:
			emit(&engine.PartnerRateLimitChanged{Stamp: at(t), Partner: pick(), RateLimit: 1 + rng.Int64N(100000)})
		case k == 10:
			batch := make([]string, 1+rng.IntN(4))
			for i := range batch {
				nextCode++
				batch[i] = fmt.Sprintf("PP-%05d", nextCode)
			}
			codes = append(codes, batch...)
			emit(&paypay.CodesIssued{Stamp: at(t), Partner: pick(), Tier: []string{"bronze", "gold"}[rng.IntN(2)],
				Label: "L", ExpiresMs: t + int64(rng.IntN(400)), Codes: batch})
		case k == 11 && len(codes) > 0:
			c := codes[rng.IntN(len(codes))]
			if card := paypay.Cards(model)[c]; card.RedeemedMs == 0 && card.RevokedMs == 0 {
				emit(&paypay.CodeRevoked{Stamp: at(t), Partner: card.Partner, Code: c})
			}
		case k <= 15 && len(codes) > 0:
			c := codes[rng.IntN(len(codes))]
			if rng.IntN(10) == 0 {
				c = "PP-missing"
			}
			p := pick()
			if card := paypay.Cards(model)[c]; card != nil && rng.IntN(4) != 0 {
				p = card.Partner // mostly its own partner; sometimes another
			}
			action := paypay.ActionValidate
			if rng.IntN(2) == 0 {
				action = paypay.ActionRedeem
			}
			var key string
			if action == paypay.ActionRedeem && rng.IntN(2) == 0 {
				key = "idem-" + nextRef()
			}
			req++
			emit(paypay.DecideAttempt(paypay.Cards(model)[c], p, c, action, t, fmt.Sprintf("req_%d", req), fmt.Sprintf("rdm_%d", req), key))
		case k == 16 && rng.IntN(4) == 0:
			// Forget records older than a random window (sometimes none,
			// sometimes all).
			emit(&engine.ReferencesExpired{Stamp: at(t), CutoffMs: t - int64(rng.IntN(300))})
		case k == 17 && rng.IntN(4) == 0:
			emit(&engine.KeysExpired{Stamp: at(t), CutoffMs: t - int64(rng.IntN(300))})
		case k == 18 && rng.IntN(4) == 0:
			emit(&paypay.AttemptsExpired{Stamp: at(t), CutoffMs: t - int64(rng.IntN(300))})
		}
	}
	return out
}

// resultOf is the result code an event carries: a wallet event's
// (payshards.Result) or an attempt's outcome.
func resultOf(ev engine.Event) (engine.Code, bool) {
	switch e := ev.(type) {
	case *payshards.Credited, *payshards.Deducted, *payshards.DeductRejected, *payshards.Refunded, *payshards.RefundRejected:
		c, _ := payshards.Result(e)
		return c, true
	case *paypay.CodeAttempt:
		return e.Outcome, true
	}
	return 0, false
}

func TestRandomEventsCoverEveryType(t *testing.T) {
	// Guards the generator: the determinism test below is only as good as it.
	seen := map[engine.EventType]int{}
	codes := map[engine.Code]int{}
	for _, ev := range randomEvents(1, 2000) {
		seen[ev.EventType()]++
		if c, ok := resultOf(ev); ok {
			codes[c]++
		}
	}
	for typ := engine.EvPartnerCreated; typ <= paypay.EvAttemptsExpired; typ++ {
		if seen[typ] == 0 {
			t.Errorf("generator never emits type %d", typ)
		}
	}
	for c := engine.CodeOK; c <= paypay.ResultRevoked; c++ {
		if codes[c] == 0 {
			t.Errorf("generator never emits code %d", c)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, s := range []*engine.State{engine.NewState(), ledger(t), applyAll(engine.NewState(), randomEvents(2, 1500))} {
		s.Index = 12345
		data := mustSnapshot(t, s)
		got, err := engine.DecodeSnapshot(data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := statesEqual(s, got); diff != "" {
			t.Fatalf("decoded state differs in %s", diff)
		}
		if again := mustSnapshot(t, got); !bytes.Equal(again, data) {
			t.Fatal("re-encoding a decoded snapshot changes its bytes")
		}
		// Encoding is independent of map iteration order.
		for range 5 {
			if b := mustSnapshot(t, s); !bytes.Equal(b, data) {
				t.Fatal("EncodeSnapshot is not deterministic")
			}
		}
	}
}

func TestSnapshotDecodedStateIsIndependent(t *testing.T) {
	s := applyAll(engine.NewState(), randomEvents(3, 300))
	data := mustSnapshot(t, s)
	a, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	// Applying to the decoded state must not touch the original.
	for u, w := range payshards.Wallets(a) {
		ev, ok := payshards.DecideCredit(w, u, "after-snapshot-"+u, 1, 0)
		if ok {
			a.Apply(ev)
		}
	}
	if !bytes.Equal(mustSnapshot(t, s), data) {
		t.Fatal("the encoded state changed after applying to its decoded copy")
	}
}

// TestSnapshotDeterminism: replaying a log equals loading a snapshot taken
// at any point and replaying the rest — the crash-recovery contract.
func TestSnapshotDeterminism(t *testing.T) {
	for seed := uint64(10); seed < 16; seed++ {
		evs := randomEvents(seed, 800)
		full := applyAll(engine.NewState(), evs)
		want := mustSnapshot(t, full)
		for _, mid := range []int{0, 1, len(evs) / 3, len(evs) / 2, len(evs) - 1, len(evs)} {
			half := applyAll(engine.NewState(), evs[:mid])
			loaded, err := engine.DecodeSnapshot(mustSnapshot(t, half))
			if err != nil {
				t.Fatalf("seed %d mid %d: %v", seed, mid, err)
			}
			applyAll(loaded, evs[mid:])
			if got := mustSnapshot(t, loaded); !bytes.Equal(got, want) {
				t.Fatalf("seed %d: snapshot at %d + replay differs from full replay", seed, mid)
			}
			if diff := statesEqual(full, loaded); diff != "" {
				t.Fatalf("seed %d mid %d: state differs in %s", seed, mid, diff)
			}
		}
		// Same events, same bytes, every time.
		if again := mustSnapshot(t, applyAll(engine.NewState(), evs)); !bytes.Equal(again, want) {
			t.Fatal("replay is not deterministic")
		}
		// And through the WAL codec.
		data, err := engine.NewEncoder().EncodeBatch(evs)
		if err != nil {
			t.Fatal(err)
		}
		decoded, err := engine.DecodeBatch(data)
		if err != nil {
			t.Fatal(err)
		}
		viaWAL := applyAll(engine.NewState(), decoded)
		if got := mustSnapshot(t, viaWAL); !bytes.Equal(got, want) {
			t.Fatal("replaying the decoded batch differs from applying the events")
		}
	}
}

func goldenState() *engine.State {
	s := applyAll(engine.NewState(), legacySampleEvents())
	s.Apply(payshards.DecideDeduct(payshards.Wallets(s)["u_123"], "ptr_1", "u_123", "order_abc_003", 100, 1700000000007))
	s.Apply(&engine.PartnerCreated{Stamp: at(1700000000008), Partner: "ptr_0", API: "payshards", Name: "Zero", RateLimit: 1, Key: key("key_1", 0, "abcd")})
	ev, _ := payshards.DecideCredit(nil, "u_000", "top_0", 7, 1700000000009)
	s.Apply(ev)
	s.Index = 42
	return s
}

func TestSnapshotGolden(t *testing.T) {
	s := goldenState()
	snapshotGolden(t, "snapshot_v3.golden", s)
}

// TestSnapshotGoldenV2: the version 2 file, written by the released
// binaries, still decodes to the state it was made from (principle 8).
// Never regenerate it.
func TestSnapshotGoldenV2(t *testing.T) {
	snapshotGoldenV2(t, "snapshot_v2.golden", goldenState())
}

// snapshotOf is s's content as a hand-made snapshot in the order
// EncodeSnapshot writes it.
func snapshotOf(s *engine.State) snapshot {
	snap := snapshot{Version: engine.SnapshotVersion, Index: s.Index, Events: s.Events, Attempt: paypay.Of(s).Attempt}
	for _, p := range s.Partners {
		snap.Partners = append(snap.Partners, *p)
	}
	slices.SortFunc(snap.Partners, func(a, b engine.Partner) int { return cmp.Compare(a.ID, b.ID) })
	for u, w := range payshards.Wallets(s) {
		snap.Wallets = append(snap.Wallets, walletEntry{User: u, Balance: w.Balance, Refundable: w.Refundable})
	}
	slices.SortFunc(snap.Wallets, func(a, b walletEntry) int { return cmp.Compare(a.User, b.User) })
	for _, k := range s.IdemKeys() {
		snap.Idem = append(snap.Idem, idemEntry{Key: k, Record: recordOf(s, k)})
	}
	for c, card := range paypay.Cards(s) {
		snap.Cards = append(snap.Cards, cardEntry{Code: c, Card: *card})
	}
	slices.SortFunc(snap.Cards, func(a, b cardEntry) int { return cmp.Compare(a.Code, b.Code) })
	for p, l := range paypay.Attempts(s) {
		snap.Attempts = append(snap.Attempts, attemptEntry{Partner: p, Items: l.Items()})
	}
	slices.SortFunc(snap.Attempts, func(a, b attemptEntry) int { return cmp.Compare(a.Partner, b.Partner) })
	return snap
}

// TestEncodeSnapMirrorsEncoder: the hand-made snapshots of the reject
// tests are written in the engine's own layouts, the version 3 container
// and the version 2 one (else they would test the helper, not the
// decoder).
func TestEncodeSnapMirrorsEncoder(t *testing.T) {
	for name, s := range map[string]*engine.State{"empty": engine.NewState(), "golden": goldenState(), "cards golden": goldenCardsState(),
		"random": applyAll(engine.NewState(), randomEvents(5, 1500))} {
		if got, want := encodeSnap(t, snapshotOf(s)), mustSnapshot(t, s); !bytes.Equal(got, want) {
			t.Errorf("%s: encodeSnap writes\n%x\nEncodeSnapshot writes\n%x", name, got, want)
		}
		if got, want := encodeSnapV2(t, snapshotOf(s)), must(engine.SnapshotV2Of(s)); !bytes.Equal(got, want) {
			t.Errorf("%s: encodeSnapV2 writes\n%x\nthe v2 writer writes\n%x", name, got, want)
		}
	}
}

func TestDecodeSnapshotRejects(t *testing.T) {
	good := engine.Partner{ID: "p1", API: "payshards", Name: "n", Status: engine.StatusActive, Keys: []engine.APIKey{{ID: "k1", Hash: keyHash(1)}}}
	if _, err := engine.DecodeSnapshot(encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{good}})); err != nil {
		t.Fatalf("control snapshot rejected: %v", err)
	}
	noID, shortKey := good, good
	noID.ID = ""
	shortKey.Keys = []engine.APIKey{{ID: "k1", Hash: keyHash(1)[:31]}}
	longKey := good
	longKey.Keys = []engine.APIKey{{ID: "k1", Hash: append(keyHash(1), 0)}}
	dupIdem := []idemEntry{{Key: engine.IdemKey{Scope: payshards.ScopeCredit, Reference: "r"}}, {Key: engine.IdemKey{Scope: payshards.ScopeCredit, Reference: "r"}}}
	cases := map[string][]byte{
		"empty":                 nil,
		"garbage":               []byte("not a snapshot"),
		"v2 partner without id": encodeSnapV2(t, snapshot{Partners: []engine.Partner{noID}}),
		"v2 negative balance":   encodeSnapV2(t, snapshot{Wallets: []walletEntry{{User: "u", Balance: -1}}}),
		"v2 duplicate idem":     encodeSnapV2(t, snapshot{Idem: dupIdem}),
		"v2 truncated":          must(engine.SnapshotV2Of(goldenState()))[:40],
		"not an array":          {0x03},
		"empty array":           {0x90},
		"version not an int":    {0x92, 0xa1, 'x', 0x90},
		"partner without id":    encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{noID}}),
		"partner short key":     encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{shortKey}}),
		"partner long key":      encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{longKey}}),
		"duplicate partner":     encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{good, good}}),
		"negative balance":      encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Wallets: []walletEntry{{User: "u", Balance: -1}}}),
		"balance above max":     encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Wallets: []walletEntry{{User: "u", Balance: engine.MaxBalance + 1}}}),
		"zero refundable":       encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Wallets: []walletEntry{{User: "u", Refundable: []payshards.Refundable{{Partner: "p", Amount: 0}}}}}),
		"negative refundable":   encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Wallets: []walletEntry{{User: "u", Refundable: []payshards.Refundable{{Partner: "p", Amount: -3}}}}}),
		"duplicate wallet":      encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Wallets: []walletEntry{{User: "u"}, {User: "u"}}}),
		"duplicate idem":        encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Idem: dupIdem}),
		"truncated":             mustSnapshot(t, goldenState())[:40],
	}
	for name, data := range cases {
		if s, err := engine.DecodeSnapshot(data); err == nil {
			t.Errorf("%s: accepted (%d partners, %d wallets)", name, len(s.Partners), len(payshards.Wallets(s)))
		} else if !errors.Is(err, engine.ErrBadRecord) || errors.Is(err, engine.ErrUnknownSnapshotFormat) {
			t.Errorf("%s: error %v does not wrap engine.ErrBadRecord alone", name, err)
		}
	}
}

// TestDecodeSnapshotDuplicateKeyHash: two partners with the same API key
// hash leave one Keys entry, chosen by the order in the file, so the
// decoded state depends on something the encoder normalises away (and one
// partner silently loses its key). The decoder must refuse it.
func TestDecodeSnapshotDuplicateKeyHash(t *testing.T) {
	a := engine.Partner{ID: "p_a", Status: engine.StatusActive, Keys: []engine.APIKey{{ID: "k", Hash: keyHash(1)}}}
	b := engine.Partner{ID: "p_b", Status: engine.StatusActive, Keys: []engine.APIKey{{ID: "k", Hash: keyHash(1)}}}
	if s, err := engine.DecodeSnapshot(encodeSnap(t, snapshot{Version: engine.SnapshotVersion, Partners: []engine.Partner{b, a}})); err == nil {
		var h [engine.KeyHashLen]byte
		copy(h[:], keyHash(1))
		t.Errorf("accepted two partners with one key hash; Keys has %d entries, key -> %q", len(s.Keys), s.Keys[h])
	}
}

// TestDecodeSnapshotAllocation: a snapshot's array headers are read before
// the data they announce. A five-byte header announcing 2^32-1 wallets must
// not make the decoder allocate for them (it would take the process down
// with an out-of-memory fatal error instead of returning engine.ErrBadRecord).
// Measured with a header of 2^18 idem entries, which is safe to allocate,
// in both formats.
func TestDecodeSnapshotAllocation(t *testing.T) {
	big := []byte{0xdd, 0x00, 0x04, 0x00, 0x00} // array32 of 2^18
	// v2: [version 2, index 0, events 0, seq 0, partners [], wallets [], idem array32(2^18) ...]
	v2 := append([]byte{0x9a, 0x02, 0x00, 0x00, 0x00, 0x90, 0x90}, big...)
	// v3: [3, [[core, 1, [0, 0, []]], [idem, 1, [array32(2^18) ...]]]]
	core := newRaw().arr(3).i(0).i(0).arr(0).out()
	idem := append([]byte{0x91}, big...)
	v3 := newRaw().arr(2).i(3).arr(2).arr(3).s("core").i(1).b(core).arr(3).s("idem").i(1).b(idem).out()
	for name, data := range map[string][]byte{"v2": v2, "v3": v3} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := engine.DecodeSnapshot(data)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, engine.ErrBadRecord) {
			t.Fatalf("%s: truncated snapshot: err %v, want ErrBadRecord", name, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("%s: DecodeSnapshot allocated %d MiB for an %d-byte input announcing 2^18 entries", name, grew>>20, len(data))
		}
	}
}

func TestSnapshotEmptyRefundableAfterFullRefund(t *testing.T) {
	// A wallet whose refundable list emptied must snapshot the same as one
	// that decodes from that snapshot, and equal a wallet that never had one.
	s := ledger(t)
	s.Apply(payshards.DecideDeduct(payshards.Wallets(s)["u1"], "p1", "u1", "d", 10, 0))
	s.Apply(payshards.DecideRefund(payshards.Wallets(s)["u1"], "p1", "u1", "r", 10, 0))
	data := mustSnapshot(t, s)
	got, err := engine.DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustSnapshot(t, got), data) || !payshards.Wallets(got)["u1"].Equal(&payshards.Wallet{Balance: 1000}) {
		t.Fatal("empty refundable list does not survive a snapshot")
	}
}

// TestDecodeSnapshotTrailingBytes: like DecodeBatch, DecodeSnapshot must
// reject bytes after the snapshot instead of ignoring them
// (msgpack.Unmarshal stops after one value).
func TestDecodeSnapshotTrailingBytes(t *testing.T) {
	data := append(mustSnapshot(t, goldenState()), 0xc0, 0x01, 'x')
	if _, err := engine.DecodeSnapshot(data); err == nil {
		t.Error("snapshot followed by 3 garbage bytes accepted")
	}
}

// TestCaptureIsIndependent: a capture encodes to the bytes its state had
// when it was taken, whatever is applied to the state afterwards (refunds
// change refundable amounts in place, revocations change partner keys,
// expiry compacts audit records), and Encode may run on another goroutine
// while the state changes (the race detector watches that).
func TestCaptureIsIndependent(t *testing.T) {
	evs := randomEvents(7, 4000)
	for _, cut := range []int{300, 1500, 2500, 3500} {
		s := applyAll(engine.NewState(), evs[:cut])
		want := mustSnapshot(t, s)
		later := s.Capture()
		applyAll(s, evs[cut:]) // all changes first, then encode
		if got, err := later.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("cut %d: capture encoded after the state moved on differs (%v)", cut, err)
		}

		s = applyAll(engine.NewState(), evs[:cut])
		concurrent := s.Capture()
		done := make(chan []byte, 1)
		go func() {
			b, err := concurrent.Encode()
			if err != nil {
				t.Error(err)
			}
			done <- b
		}()
		applyAll(s, evs[cut:])
		if got := <-done; !bytes.Equal(got, want) {
			t.Fatalf("cut %d: capture encoded while the state moved on differs", cut)
		}
	}
}

// TestCaptureInSteps: records copied a few at a time while the state moves
// on (the copy finished before each expiry, as the committer does) encode
// to the bytes of the capture's moment; Encode refuses an unfinished copy,
// and a copy that an expiry overtook says so.
func TestCaptureInSteps(t *testing.T) {
	evs := randomEvents(11, 4000)
	for _, cut := range []int{300, 1500, 3000} {
		s := applyAll(engine.NewState(), evs[:cut])
		want := mustSnapshot(t, s)
		c := s.CaptureStart()
		if s.IdemLen() > 0 {
			if _, err := c.Encode(); !errors.Is(err, engine.ErrCaptureIncomplete) {
				t.Fatalf("cut %d: Encode of an unfinished capture: %v", cut, err)
			}
		}
		done := false
		for _, ev := range evs[cut:] {
			var err error
			if !done {
				err = c.BeforeApply(s, ev)
			}
			s.Apply(ev)
			if !done && err == nil {
				done, err = c.Step(s, 3)
			}
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
		}
		for !done {
			var err error
			if done, err = c.Step(s, 3); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := c.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("cut %d: capture copied in steps differs (%v)", cut, err)
		}
	}
}

func TestCaptureOvertakenByExpiry(t *testing.T) {
	s := engine.NewState()
	for i := range 10 {
		s.Apply(&payshards.Credited{User: fmt.Sprint("u", i), Reference: fmt.Sprint("c", i), Amount: 1, BalanceAfter: 1, Stamp: at(int64(i))})
	}
	c := s.CaptureStart()
	if done, err := c.Step(s, 4); done || err != nil {
		t.Fatalf("first step: %v %v", done, err)
	}
	s.Apply(&engine.ReferencesExpired{Stamp: at(100), CutoffMs: 8}) // forgets c0..c7
	if _, err := c.Step(s, 10); !errors.Is(err, engine.ErrCaptureRecordGone) {
		t.Fatalf("copy after an expiry removed captured records: %v", err)
	}
}

// TestStateEntries: what sizes the interval between snapshots counts what
// it always has: idempotency records, wallets and codes.
func TestStateEntries(t *testing.T) {
	for _, s := range []*engine.State{engine.NewState(), goldenState(), goldenCardsState(), applyAll(engine.NewState(), randomEvents(4, 900))} {
		want := s.IdemLen() + len(payshards.Wallets(s)) + len(paypay.Cards(s))
		if got := s.Entries(); got != want || (s.IdemLen() > 0 && got == s.IdemLen()) {
			t.Fatalf("Entries %d, want %d", got, want)
		}
	}
}

// TestModuleSectionsOfState: the wallets, codes and audit live in their
// modules' sections of the State, each State its own.
func TestModuleSectionsOfState(t *testing.T) {
	a, b := goldenCardsState(), engine.NewState()
	if payshards.Of(a) == payshards.Of(b) || paypay.Of(a) == paypay.Of(b) {
		t.Fatal("two States share a module section")
	}
	if len(payshards.Wallets(a)) == 0 || len(paypay.Cards(a)) == 0 || len(paypay.Attempts(a)) == 0 || paypay.Of(a).Attempt == 0 {
		t.Fatal("golden state's module sections are empty")
	}
	if len(payshards.Wallets(b)) != 0 || len(paypay.Cards(b)) != 0 || len(paypay.Attempts(b)) != 0 || paypay.Of(b).Attempt != 0 {
		t.Fatal("a new State's module sections are not empty")
	}
}

// TestSnapshotReleasedFourSections: snapshots as the release before the
// outbox wrote them (core, idem v2, payshards, paypay; no section of a
// later module) decode to the state they were made from, the later
// modules empty. Never regenerate these files.
func TestSnapshotReleasedFourSections(t *testing.T) {
	for name, want := range map[string]*engine.State{
		"snapshot_v3_s4.golden":       goldenState(),
		"snapshot_cards_v3_s4.golden": goldenCardsState(),
		// Five sections: with the outbox, before PaySmart.
		"snapshot_v3_s5.golden":       goldenState(),
		"snapshot_cards_v3_s5.golden": goldenCardsState(),
		"snapshot_v3_s6.golden":       goldenState(), // six sections: with paysmart, before checkout
		"snapshot_cards_v3_s6.golden": goldenCardsState(),
		// Seven sections: with checkout, before PAYchat.
		"snapshot_v3_s7.golden":       goldenState(),
		"snapshot_cards_v3_s7.golden": goldenCardsState(),
	} {
		data, err := readGolden(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := engine.DecodeSnapshot(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := statesEqual(want, got); diff != "" {
			t.Fatalf("%s decodes to a different state (%s)", name, diff)
		}
	}
}

// TestSnapshotIdemSectionV1: snapshots written with version 1 of the idem
// section (nine fields a record, before stored responses) still decode to
// the state they were made from. Never regenerate these files.
func TestSnapshotIdemSectionV1(t *testing.T) {
	for name, want := range map[string]*engine.State{
		"snapshot_v3_idem1.golden":       goldenState(),
		"snapshot_cards_v3_idem1.golden": goldenCardsState(),
	} {
		data, err := readGolden(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := engine.DecodeSnapshot(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := statesEqual(want, got); diff != "" {
			t.Fatalf("%s decodes to a different state (%s)", name, diff)
		}
		if again := mustSnapshot(t, got); string(again) == string(data) {
			t.Fatalf("%s re-encodes as idem version 1: the writer should write version 2", name)
		}
	}
}

// TestCaptureInStepsManyEntities: wallets and codes copied a few at a time
// while deducts, credits (to new users too), revocations, redeems, new
// codes and every expiry go on: the capture encodes to the bytes of its
// moment, whatever the step size.
func TestCaptureInStepsManyEntities(t *testing.T) {
	for _, step := range []int{1, 7, 100} {
		s := engine.NewState()
		h := engine.HashKey([]byte("k"))
		s.Apply(&engine.PartnerCreated{Stamp: at(1), Partner: "p", API: "payshards", Name: "n", RateLimit: 1, Key: engine.NewKeyRecord{ID: "k", Hash: h[:]}})
		h2 := engine.HashKey([]byte("k2"))
		s.Apply(&engine.PartnerCreated{Stamp: at(1), Partner: "q", API: "paypay", Name: "n", RateLimit: 1, Key: engine.NewKeyRecord{ID: "k2", Hash: h2[:]}})
		var codes []string
		for i := range 300 {
			u := fmt.Sprint("u", i)
			s.Apply(&payshards.Credited{Stamp: at(2), User: u, Reference: "c" + u, Amount: 1000, BalanceAfter: 1000})
			codes = append(codes, fmt.Sprintf("PP-%04d", i))
		}
		s.Apply(&paypay.CodesIssued{Stamp: at(2), Partner: "q", Tier: "gold", Label: "L", ExpiresMs: 1 << 40, Codes: codes})
		want := mustSnapshot(t, s)
		c := s.CaptureStart()
		rng := rand.New(rand.NewPCG(uint64(step), 9))
		done := false
		for i := range 3000 {
			tm := int64(10 + i)
			u := fmt.Sprint("u", rng.IntN(400)) // a quarter of them new
			var ev engine.Event
			switch k := rng.IntN(10); {
			case k < 4:
				ev = payshards.DecideDeduct(payshards.Wallets(s)[u], "p", u, fmt.Sprint("d", i), 1+rng.Int64N(5), tm)
			case k < 6:
				if e, ok := payshards.DecideCredit(payshards.Wallets(s)[u], u, fmt.Sprint("cr", i), 1+rng.Int64N(5), tm); ok {
					ev = e
				}
			case k < 8:
				code := codes[rng.IntN(len(codes))]
				ev = paypay.DecideAttempt(paypay.Cards(s)[code], "q", code, paypay.ActionRedeem, tm, fmt.Sprint("req", i), fmt.Sprint("rdm", i), "")
			case k == 8 && rng.IntN(20) == 0:
				ev = []engine.Event{&engine.ReferencesExpired{Stamp: at(tm), CutoffMs: 5},
					&paypay.AttemptsExpired{Stamp: at(tm), CutoffMs: tm - 50}}[rng.IntN(2)]
			case k == 9 && rng.IntN(30) == 0:
				code := fmt.Sprintf("PX-%04d", i)
				codes = append(codes, code)
				ev = &paypay.CodesIssued{Stamp: at(tm), Partner: "q", Tier: "gold", Label: "L", ExpiresMs: 1 << 40, Codes: []string{code}}
			}
			if ev == nil {
				continue
			}
			if !done {
				if err := c.BeforeApply(s, ev); err != nil {
					t.Fatal(err)
				}
			}
			s.Apply(ev)
			if !done {
				var err error
				if done, err = c.Step(s, step); err != nil {
					t.Fatal(err)
				}
			}
		}
		for !done {
			var err error
			if done, err = c.Step(s, step); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := c.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("step %d: capture copied in steps differs (%v)", step, err)
		}
	}
}

// TestCaptureSurvivesExpiryOfCopiedRecords: an expiry that removes only
// records the copy has (and compacts the key order under it) leaves the
// copy in steps; one that would remove records not copied yet has them
// copied first. Either way the capture is its moment's.
func TestCaptureSurvivesExpiryOfCopiedRecords(t *testing.T) {
	for _, cutoff := range []int64{2500, 5000} {
		s := engine.NewState()
		for i := range 4000 {
			s.Apply(&payshards.Credited{User: fmt.Sprint("u", i%50), Reference: fmt.Sprint("c", i), Amount: 1,
				BalanceAfter: int64(i/50 + 1), Stamp: at(int64(i))})
		}
		want := mustSnapshot(t, s)
		c := s.CaptureStart()
		if done, err := c.Step(s, 3000); done || err != nil {
			t.Fatalf("first step: %v %v", done, err)
		}
		ev := &engine.ReferencesExpired{Stamp: at(9000), CutoffMs: cutoff} // 2500: copied ones only, and the key order compacts; 5000: all
		if err := c.BeforeApply(s, ev); err != nil {
			t.Fatal(err)
		}
		s.Apply(ev)
		if done, _ := c.Step(s, 0); done != (cutoff > 3000) {
			t.Fatalf("cutoff %d: complete %v after the expiry", cutoff, done)
		}
		for i := range 100 { // the state moves on: new records past the capture's
			s.Apply(&payshards.Credited{User: "late", Reference: fmt.Sprint("late", i), Amount: 1, BalanceAfter: int64(i + 1), Stamp: at(9001)})
		}
		for done := false; !done; {
			var err error
			if done, err = c.Step(s, 700); err != nil {
				t.Fatalf("cutoff %d: %v", cutoff, err)
			}
		}
		if got, err := c.Encode(); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("cutoff %d: capture differs (%v)", cutoff, err)
		}
	}
}
