package engine

import "fmt"

// StateKey names a module's section of the State (process-local: handed
// out by RegisterState, never stored).
type StateKey uint8

type stateDef struct {
	name    string
	newFunc func() any
}

var stateDefs []stateDef

// RegisterState gives a module its own section of every State: New makes
// its empty state. Modules call it from init and keep the key; their
// accessor is State.Module(key) asserted to their type.
func RegisterState(name string, newState func() any) StateKey {
	for _, d := range stateDefs {
		if d.name == name {
			panic(fmt.Sprintf("engine: state section %q registered twice", name))
		}
	}
	stateDefs = append(stateDefs, stateDef{name: name, newFunc: newState})
	if len(stateDefs) > 255 {
		panic("engine: too many state sections")
	}
	return StateKey(len(stateDefs) - 1)
}

// Module returns the module's section of s.
func (s *State) Module(k StateKey) any { return s.modules[k] }

func (s *State) newModules() {
	s.modules = make([]any, len(stateDefs))
	for i, d := range stateDefs {
		s.modules[i] = d.newFunc()
	}
}

// Entries counts the entries a snapshot of s holds, for sizing the
// interval between snapshots: the idempotency records, plus each module
// section whose state has an Entries() int method.
func (s *State) Entries() int {
	n := len(s.idem)
	for _, m := range s.modules {
		if e, ok := m.(interface{ Entries() int }); ok {
			n += e.Entries()
		}
	}
	return n
}
