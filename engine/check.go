package engine

// Violations is where a module's checker reports what breaks its
// invariants (package verify implements it).
type Violations interface {
	Violate(kind, format string, args ...any)
}

// Checker recomputes a module's part of the ledger from the event stream
// alone, sharing no code with the module's Apply, and compares it with the
// state Apply rebuilt. The offline verifier runs one per module.
type Checker interface {
	// Event models one event; it ignores the types of other modules. at
	// names the event's place in the log, for reports.
	Event(at string, ev Event)
	// Finish compares the model with the rebuilt state.
	Finish(s *State)
}

// CheckerDef is a module's verifier row. New starts a model from st: an
// empty state (scratch) or a decoded snapshot whose content is taken as
// given.
type CheckerDef struct {
	Module string
	New    func(v Violations, st *State, scratch bool) Checker
}

var checkers []CheckerDef

// RegisterChecker adds a module's invariants to the verifier.
func RegisterChecker(d CheckerDef) { checkers = append(checkers, d) }

// Checkers lists the registered checkers in registration order.
func Checkers() []CheckerDef { return append([]CheckerDef(nil), checkers...) }
