package paysmart

import (
	ps "ledgerd/engine/paysmart"
)

// decodeQuery reads a list's query: limit (1–100, default 10),
// starting_after / ending_before (ids of the list), created (unix seconds,
// or created[gt|gte|lt|lte]) and the list's filters (customer, payment,
// type), read like form parameters.
func decodeQuery(c *call, filters ...string) (ps.Query, *apiError) {
	q := ps.Query{Owner: c.owner()}
	root := &node{kind: nObject}
	args := c.ctx.QueryArgs()
	if args.Len() > MaxFormParams {
		return q, invalid(CodeParameterInvalid, MsgParameterInvalid, "")
	}
	var perr error
	args.VisitAll(func(k, v []byte) {
		if perr == nil {
			perr = addForm(root, k, string(v))
		}
	})
	if perr != nil {
		return q, invalid(CodeParameterInvalid, MsgParameterInvalid, "")
	}
	allowed := append([]string{"limit", "starting_after", "ending_before", "created"}, filters...)
	if err := known(root, "", allowed...); err != nil {
		return q, err
	}
	limit, _, err := integer(root.get("limit"), "limit", 1, ps.MaxLimit, nil, nil)
	if err != nil {
		return q, err
	}
	q.Limit = int(limit)
	if q.StartingAfter, _, err = text(root.get("starting_after"), "starting_after", ps.MaxID); err != nil {
		return q, err
	}
	if q.EndingBefore, _, err = text(root.get("ending_before"), "ending_before", ps.MaxID); err != nil {
		return q, err
	}
	if q.StartingAfter != "" && q.EndingBefore != "" {
		return q, invalid(CodeParameterInvalid, MsgParameterInvalid, "ending_before")
	}
	if err := created(root.get("created"), &q); err != nil {
		return q, err
	}
	for _, f := range filters {
		s, _, err := text(root.get(f), f, ps.MaxID)
		if err != nil {
			return q, err
		}
		switch f {
		case "customer":
			q.Customer = s
		case "payment":
			q.Payment = s
		case "type":
			q.Type = s
		}
	}
	return q, nil
}

// maxCreatedSec bounds a created filter (year 9999).
const maxCreatedSec = 253402300799

// created turns the created filter (unix seconds) into the query's
// inclusive range of milliseconds.
func created(n *node, q *ps.Query) *apiError {
	if n == nil {
		return nil
	}
	from, to := int64(0), int64(0) // to 0: open
	bound := func(n *node, param string) (int64, bool, *apiError) {
		return integer(n, param, 0, maxCreatedSec, nil, nil)
	}
	if n.kind != nObject {
		s, _, err := bound(n, "created")
		if err != nil {
			return err
		}
		q.CreatedFromMs, q.CreatedToMs = s*1000, s*1000+999
		return nil
	}
	if err := known(n, "created", "gt", "gte", "lt", "lte"); err != nil {
		return err
	}
	for _, op := range [...]string{"gt", "gte", "lt", "lte"} {
		s, set, err := bound(n.get(op), name("created", op))
		if err != nil {
			return err
		}
		if !set {
			continue
		}
		switch op {
		case "gt":
			from = max(from, (s+1)*1000)
		case "gte":
			from = max(from, s*1000)
		case "lt":
			to = narrower(to, s*1000-1)
		case "lte":
			to = narrower(to, s*1000+999)
		}
	}
	q.CreatedFromMs, q.CreatedToMs = from, to
	return nil
}

// narrower is the smaller upper bound; 0 is open. A bound below 0 matches
// nothing.
func narrower(cur, v int64) int64 {
	if v < 0 {
		v = -1
	}
	if cur == 0 || v < cur {
		return v
	}
	return cur
}
