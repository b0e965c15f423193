package verify_test

// The seam's proof: a counter API that exists only in this test file
// registers its event type, state section, snapshot section, idempotency
// scope, verifier checks and entity actor, and goes through commit,
// snapshot, replay and the offline verifier with no change to any shared
// file.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/vmihailenco/msgpack/v5"

	"ledgerd/actors"
	"ledgerd/engine"
	"ledgerd/verify"
)

const (
	evIncremented engine.EventType = 250 // test-only wire number
	scopeCounter  engine.Scope     = 250
)

// incremented adds By to a counter; After is its value after.
type incremented struct {
	engine.Stamp
	Counter string
	By      int64
	After   int64
	Key     string // Idempotency-Key ("" = none)
}

func (*incremented) EventType() engine.EventType { return evIncremented }

type counters struct{ m map[string]int64 }

var (
	counterState  = engine.RegisterState("counter", func() any { return &counters{m: map[string]int64{}} })
	counterKind   = engine.RegisterEntityKind("counter/test")
	kindIncrement = actors.NewKind("counter.increment")
)

func countersOf(s *engine.State) *counters { return s.Module(counterState).(*counters) }

func init() {
	engine.RegisterScope(scopeCounter, "counter.increment", engine.RetainKeys)
	engine.Register(engine.EventDef[*incremented]{Type: evIncremented, Name: "counter.incremented", Fields: 4,
		Encode: func(w *engine.Writer, ev *incremented) {
			w.Str(ev.Counter)
			w.Int(ev.By)
			w.Int(ev.After)
			w.Str(ev.Key)
		},
		Decode: func(r *engine.Reader, t int64) *incremented {
			return &incremented{Stamp: engine.Stamp{TimeMs: t}, Counter: r.Str(), By: r.Int(), After: r.Int(), Key: r.Str()}
		},
		Validate: func(ev *incremented) error {
			if ev.Counter == "" || ev.By < 1 || ev.By > 1000 || ev.After < ev.By {
				return errors.New("increment out of range")
			}
			return nil
		},
		Apply: func(s *engine.State, ev *incremented) {
			c := countersOf(s)
			if c.m[ev.Counter]+ev.By != ev.After {
				panic(engine.Invariant("counter value", ev, c.m[ev.Counter]))
			}
			c.m[ev.Counter] = ev.After
		},
		Entity: func(ev *incremented) (engine.Entity, bool) {
			return engine.Entity{Kind: counterKind, ID: ev.Counter}, true
		},
		Idem: func(ev *incremented) (engine.IdemKey, engine.IdemRecord, bool) {
			return engine.IdemKey{Scope: scopeCounter, Reference: ev.Key},
				engine.IdemRecord{Fingerprint: ev.Counter, Amount: ev.By, Value: ev.After, TimeMs: ev.TimeMs,
					Status: 201, Response: fmt.Sprintf(`{"counter":%q,"value":%d}`, ev.Counter, ev.After)}, ev.Key != ""
		},
	})
	engine.RegisterSnapshotSection(engine.SnapshotSection{Name: "counter", Version: 1, Reads: []int{1},
		Copy: func(s *engine.State) any {
			m := countersOf(s).m
			names := make([]string, 0, len(m))
			for n := range m {
				names = append(names, n)
			}
			slices.Sort(names)
			out := make([]any, 0, 2*len(names))
			for _, n := range names {
				out = append(out, n, m[n])
			}
			return out
		},
		EncodeCopy: func(copy any, enc *msgpack.Encoder) error { return enc.Encode(copy) },
		Decode: func(_ int, payload []byte, s *engine.State) error {
			var flat []any
			if err := msgpack.Unmarshal(payload, &flat); err != nil || len(flat)%2 != 0 {
				return fmt.Errorf("counter section: %v", err)
			}
			for i := 0; i < len(flat); i += 2 {
				name, _ := flat[i].(string)
				v, ok := toInt(flat[i+1])
				if name == "" || !ok {
					return errors.New("counter section: bad entry")
				}
				countersOf(s).m[name] = v
			}
			return nil
		},
	})
	engine.RegisterChecker(engine.CheckerDef{Module: "counter", New: func(v engine.Violations, st *engine.State, _ bool) engine.Checker {
		return &counterCheck{v: v, sum: maps(countersOf(st).m)}
	}})
	actors.RegisterEntity(actors.EntityDef{Kind: counterKind, Ops: []actors.Kind{kindIncrement},
		ID: func(op *actors.Op) string { return op.Cmd.(*increment).counter },
		Load: func(st *engine.State, id string) any {
			if v, ok := countersOf(st).m[id]; ok {
				return v
			}
			return nil
		},
		Handle: func(e *actors.Entity, op *actors.Op) {
			cur, _ := e.State.(int64)
			cmd := op.Cmd.(*increment)
			ev := &incremented{Stamp: engine.Stamp{TimeMs: e.NowMs()}, Counter: e.ID(), By: cmd.by, After: cur + cmd.by, Key: op.Reference}
			e.State = ev.After
			op.Status, op.Balance = actors.StatusOK, ev.After
			e.Emit(ev, op)
		},
		Resident: true,
	})
}

type increment struct {
	counter string
	by      int64
}

func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), true
	}
	return 0, false
}

func maps(m map[string]int64) map[string]int64 {
	c := make(map[string]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// counterCheck: every counter is the sum of its increments, and each
// increment records the value it leads to.
type counterCheck struct {
	v   engine.Violations
	sum map[string]int64
}

func (c *counterCheck) Event(at string, ev engine.Event) {
	if e, ok := ev.(*incremented); ok {
		c.sum[e.Counter] += e.By
		if c.sum[e.Counter] != e.After {
			c.v.Violate("counter", "%s: counter %q records %d, the log gives %d", at, e.Counter, e.After, c.sum[e.Counter])
		}
	}
}

func (c *counterCheck) Finish(s *engine.State) {
	got := countersOf(s).m
	for name, want := range c.sum {
		if got[name] != want {
			c.v.Violate("counter", "counter %q is %d, the log gives %d", name, got[name], want)
		}
	}
	if len(got) != len(c.sum) {
		c.v.Violate("counter", "%d counters, the log gives %d", len(got), len(c.sum))
	}
}

func startCounters(t *testing.T, dir string) *actors.System {
	t.Helper()
	s, err := actors.Start(actors.Config{DataDir: dir, SnapshotEvery: 25, SnapshotFixed: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Fatal: func(err error) { t.Errorf("fatal: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func add(s *actors.System, counter string, by int64, key string) (actors.Status, int64, bool) {
	st, v, replayed, _ := addResponse(s, counter, by, key)
	return st, v, replayed
}

// addResponse also returns the stored answer a replay carries.
func addResponse(s *actors.System, counter string, by int64, key string) (actors.Status, int64, bool, string) {
	op := actors.NewOp()
	defer op.Release()
	op.Kind, op.Cmd, op.Scope, op.Reference = kindIncrement, &increment{counter, by}, scopeCounter, key
	op.Fingerprint, op.Amount = counter, by
	s.Do(op)
	return op.Status, op.Balance, op.Idempotent, fmt.Sprintf("%d %s", op.ResponseStatus, op.Response)
}

func readCounters(s *actors.System) map[string]int64 {
	var out map[string]int64
	s.ReadState(func(st *engine.State) { out = maps(countersOf(st).m) })
	return out
}

func TestSeam_TestOnlyModule(t *testing.T) {
	dir := t.TempDir()
	s := startCounters(t, dir)
	want := map[string]int64{}
	for i := range 120 {
		name := fmt.Sprintf("c%d", i%7)
		by := int64(i%5 + 1)
		st, v, replayed := add(s, name, by, fmt.Sprintf("k%d", i))
		want[name] += by
		if st != actors.StatusOK || v != want[name] || replayed {
			t.Fatalf("increment %d: status %d value %d replayed %v, want %d", i, st, v, replayed, want[name])
		}
	}
	// A retry with the same key is the first answer, applied once; with
	// other parameters it is a conflict that changes nothing.
	if st, v, replayed := add(s, "c0", 1, "k0"); st != actors.StatusOK || !replayed || v != 1 {
		t.Fatalf("retry: status %d value %d replayed %v", st, v, replayed)
	}
	if st, _, _ := add(s, "c0", 2, "k0"); st != actors.StatusConflict {
		t.Fatalf("conflicting retry: status %d", st)
	}
	if got := readCounters(s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("live: %v, want %v", got, want)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	// Restart: the newest snapshot (with the counter section) plus the WAL.
	s = startCounters(t, dir)
	if got := readCounters(s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	// The record kept the whole first answer across the snapshot (idem
	// section version 2) and the replay hands it back.
	if st, v, replayed, resp := addResponse(s, "c3", 4, "k3"); !replayed || v != 4 || st != actors.StatusOK || resp != `201 {"counter":"c3","value":4}` {
		t.Fatalf("retry after restart: status %d value %d replayed %v answer %q", st, v, replayed, resp)
	}
	if st, v, _ := add(s, "c3", 5, "k-new"); st != actors.StatusOK || v != want["c3"]+5 {
		t.Fatalf("increment after restart: status %d value %d", st, v)
	}
	want["c3"] += 5
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(verify.Options{DataDir: dir, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.ByType["counter.incremented"] == 0 || len(rep.Snapshots) == 0 {
		t.Fatalf("verify: ok %v, %d violations %v, events %v, snapshots %d", rep.OK, rep.ViolationCount, rep.Violations, rep.ByType, len(rep.Snapshots))
	}
}
