package outbox

import "ledgerd/engine"

// The verifier's model of the outbox, recomputed from this package's
// events alone (sharing no code with Apply): per delivery its attempt
// count, status and round. A delivery is enqueued by another module's
// event, so one the model has not seen starts pending with no attempt.
// It checks that attempt numbers are consecutive, that only pending
// deliveries are attempted, that only failed ones are retried, and in
// Finish that the rebuilt state holds what the log gives.
func init() {
	engine.RegisterChecker(engine.CheckerDef{Module: "outbox", New: newChecker})
}

type modelDelivery struct {
	attempts   int64
	status     string
	roundStart int64
	retries    int64
}

type checker struct {
	v     engine.Violations
	model map[string]*modelDelivery
}

func newChecker(v engine.Violations, st *engine.State, _ bool) engine.Checker {
	c := &checker{v: v, model: make(map[string]*modelDelivery)}
	for id, d := range Of(st).Deliveries {
		c.model[id] = &modelDelivery{attempts: d.Attempts, status: d.Status, roundStart: d.RoundStart, retries: d.Retries}
	}
	return c
}

func (c *checker) get(id string) *modelDelivery {
	m := c.model[id]
	if m == nil {
		m = &modelDelivery{status: StatusPending}
		c.model[id] = m
	}
	return m
}

func (c *checker) Event(at string, ev engine.Event) {
	switch e := ev.(type) {
	case *DeliveryAttempted:
		m := c.get(e.ID)
		if m.status != StatusPending {
			c.v.Violate("outbox", "%s: delivery %s attempted while %s", at, e.ID, m.status)
		}
		if e.Attempt != m.attempts+1 {
			c.v.Violate("outbox", "%s: delivery %s attempt %d after %d", at, e.ID, e.Attempt, m.attempts)
		}
		m.attempts, m.status = e.Attempt, e.Outcome
	case *DeliveryRetried:
		m := c.get(e.ID)
		if m.status != StatusFailed {
			c.v.Violate("outbox", "%s: delivery %s retried while %s", at, e.ID, m.status)
		}
		m.status, m.roundStart = StatusPending, m.attempts
		m.retries++
	}
}

func (c *checker) Finish(st *engine.State) {
	s := Of(st)
	pending := 0
	for i, d := range s.order {
		if d.Seq != uint64(i+1) || s.Deliveries[d.ID] != d {
			c.v.Violate("outbox", "delivery %s at position %d has seq %d", d.ID, i+1, d.Seq)
		}
		if d.Status == StatusPending {
			pending++
		}
		m := c.model[d.ID]
		if m == nil {
			m = &modelDelivery{status: StatusPending}
		}
		if d.Attempts != m.attempts || d.Status != m.status || d.RoundStart != m.roundStart || d.Retries != m.retries {
			c.v.Violate("outbox", "delivery %s: %d attempts, %s, round from %d, %d retries; the log gives %d, %s, %d, %d",
				d.ID, d.Attempts, d.Status, d.RoundStart, d.Retries, m.attempts, m.status, m.roundStart, m.retries)
		}
	}
	for id := range c.model {
		if s.Deliveries[id] == nil {
			c.v.Violate("outbox", "delivery %s has events but is not in the state", id)
		}
	}
	if uint64(len(s.order)) != s.Seq || len(s.Deliveries) != len(s.order) || pending != s.pending {
		c.v.Violate("outbox", "seq %d, %d deliveries, %d in order, %d pending counted %d",
			s.Seq, len(s.Deliveries), len(s.order), pending, s.pending)
	}
}
