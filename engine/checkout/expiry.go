package checkout

import "slices"

// expiryIndex lists the pending payments by the second they expire in, so
// that DuePayments reads only the seconds that are due. It used to range
// over every pending payment: the expirer asks once a second, under
// ReadState on the committer's goroutine, and with 120,000 pending
// payments (the checkout-create benchmark) each look held the committer
// for ~20 ms in an execution trace, and every request with it.
//
// Invariant: secs is ascending and holds exactly the keys of buckets;
// every bucket is non-empty; a pending payment p is in
// buckets[p.ExpiresMs/1000] and nowhere else; nothing else is.
type expiryIndex struct {
	secs    []int64                       // bucket keys, ascending
	buckets map[int64]map[string]struct{} // ExpiresMs/1000 -> ids
}

func newExpiryIndex() expiryIndex {
	return expiryIndex{buckets: map[int64]map[string]struct{}{}}
}

// expirySecond is the bucket of a payment that expires at ms (> 0, see
// validate.go).
func expirySecond(ms int64) int64 { return ms / 1000 }

func (x *expiryIndex) add(p *Payment) {
	sec := expirySecond(p.ExpiresMs)
	b := x.buckets[sec]
	if b == nil {
		b = map[string]struct{}{}
		x.buckets[sec] = b
		i, _ := slices.BinarySearch(x.secs, sec) // usually at the end: expiries grow with time
		x.secs = slices.Insert(x.secs, i, sec)
	}
	b[p.ID] = struct{}{}
}

// remove drops p, a payment that was pending with the same ExpiresMs.
func (x *expiryIndex) remove(p *Payment) {
	sec := expirySecond(p.ExpiresMs)
	b := x.buckets[sec]
	delete(b, p.ID)
	if b != nil && len(b) == 0 {
		delete(x.buckets, sec)
		if i, ok := slices.BinarySearch(x.secs, sec); ok {
			x.secs = slices.Delete(x.secs, i, i+1)
		}
	}
}

// due appends to out the payments of the buckets that may hold one due at
// nowMs, bucket by bucket in expiry order, and stops after the bucket
// that brings it to at least limit: every payment in a later bucket
// expires after every one already appended.
func (x *expiryIndex) due(s *State, nowMs int64, limit int, out []*Payment) []*Payment {
	for _, sec := range x.secs {
		if len(out) >= limit || sec > expirySecond(nowMs) {
			break
		}
		for id := range x.buckets[sec] {
			if p := s.Payments[id]; p.ExpiresMs <= nowMs {
				out = append(out, p)
			}
		}
	}
	return out
}

// check reports the first way the index disagrees with s's pending
// payments (the verifier's and tests' view), or "".
func (x *expiryIndex) check(s *State) string {
	if !slices.IsSorted(x.secs) || len(x.secs) != len(x.buckets) {
		return "bucket keys are not the sorted keys of the buckets"
	}
	n := 0
	for _, sec := range x.secs {
		b := x.buckets[sec]
		if len(b) == 0 {
			return "an empty or missing bucket"
		}
		for id := range b {
			p := s.Payments[id]
			if p == nil || p.Status != StatusPending || expirySecond(p.ExpiresMs) != sec {
				return "bucket " + id + " is not a pending payment expiring in that second"
			}
		}
		n += len(b)
	}
	if n != len(s.Pending) {
		return "the buckets hold another number of payments than the pending set"
	}
	return ""
}
