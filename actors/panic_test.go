package actors

import (
	"strings"
	"testing"
	"time"

	"ledgerd/engine"
)

// A kind whose Handle panics, decided outside any actor: Fresh on the
// caller's goroutine, Inline on the committer's.
var (
	panicFresh  = engine.RegisterEntityKind("test-panic-fresh")
	panicInline = engine.RegisterEntityKind("test-panic-inline")
	kindFresh   = NewKind("test-panic-fresh")
	kindInline  = NewKind("test-panic-inline")
)

func init() {
	for _, k := range []struct {
		kind   engine.EntityKind
		op     Kind
		inline bool
	}{{panicFresh, kindFresh, false}, {panicInline, kindInline, true}} {
		RegisterEntity(EntityDef{
			Kind: k.kind, Ops: []Kind{k.op}, Inline: k.inline,
			ID:     func(op *Op) string { return op.User },
			Load:   func(*engine.State, string) any { return nil },
			Handle: func(*Entity, *Op) { panic("broken invariant") },
		})
	}
}

// TestHandleOutsideActorPanicFailsStop: a panic in a Handle that no
// actor's supervisor watches stops the process through Config.Fatal, as
// one inside an actor does (failStop), instead of killing the committer
// or leaving the id held by an Op nobody answers.
func TestHandleOutsideActorPanicFailsStop(t *testing.T) {
	for _, k := range []Kind{kindFresh, kindInline} {
		fatal := make(chan error, 1)
		s, err := Start(Config{DataDir: t.TempDir(), Log: newGatedLog(), Logger: quietLogger(),
			Fatal: func(err error) { fatal <- err }})
		if err != nil {
			t.Fatal(err)
		}
		go func() { // never answered: the System has stopped (and is not Stopped: its committer may be the one held)
			op := NewOp()
			op.Kind, op.User, op.Fresh = k, "x1", k == kindFresh
			s.Do(op)
		}()
		select {
		case err := <-fatal:
			if !strings.Contains(err.Error(), "panicked") || !strings.Contains(err.Error(), "broken invariant") {
				t.Fatalf("kind %d: fatal %v", k, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("kind %d: a panicking Handle did not fail-stop", k)
		}
	}
}
