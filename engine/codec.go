package engine

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// Record wire format (msgpack), version 1 — never renumber or reorder:
//
//	batch  = array(n) of event
//	event  = array: [type, timeMs, fields...] where fields by type are
//	  PartnerCreated:   partner, api, name, rateLimit, keyID, keyHash(bin 32), keyHint
//	  PartnerStatus:    partner, status
//	  Credited:         user, reference, amount, balance
//	  Deducted, DeductRejected, Refunded, RefundRejected:
//	                    partner, user, reference, amount, balance, code
//	  IdemExpired, KeysExpired, AttemptsExpired:
//	                    amount (the cutoff, unix ms)
//	  KeyAdded:         partner, keyID, keyHash(bin 32), keyHint
//	  KeyRevoked:       partner, keyID
//	  PartnerRateLimit: partner, rateLimit
//	  CodesIssued:      partner, tier, label, expiresMs, codes(array of str)
//	  CodeRevoked:      partner, code
//	  CodeAttempt:      partner, code, action, outcome, requestID, redemptionID,
//	                    reference, tier, label, expiresMs, redeemedMs
//
// Hand-written with msgpack's primitives instead of reflection: the
// committer encodes every event and replay decodes every one.

// Decoder errors.
var (
	ErrBadRecord = errors.New("engine: bad record")
	// ErrUnknownEvent means an event type this binary does not know (a
	// newer one wrote it): not corrupt, and not to be skipped or cut.
	ErrUnknownEvent = errors.New("engine: unknown event type")
)

// Limits a decoder enforces before allocating.
const (
	MaxBatchEvents = 1 << 16
	maxStringLen   = 4096
)

var fieldCount = [...]int{
	EvPartnerCreated: 9, EvPartnerStatus: 4, EvCredited: 6,
	EvDeducted: 8, EvDeductRejected: 8, EvRefunded: 8, EvRefundRejected: 8,
	EvIdemExpired: 3, EvKeyAdded: 6, EvKeyRevoked: 4, EvPartnerRateLimit: 4,
	EvCodesIssued: 7, EvCodeRevoked: 4, EvCodeAttempt: 13, EvKeysExpired: 3, EvAttemptsExpired: 3,
}

// Encoder appends batches of events to a reusable buffer.
type Encoder struct {
	buf bytes.Buffer
	enc *msgpack.Encoder
}

// NewEncoder returns an Encoder with its own buffer.
func NewEncoder() *Encoder {
	e := &Encoder{}
	e.enc = msgpack.NewEncoder(&e.buf)
	return e
}

// EncodeBatch returns the msgpack bytes of events. The slice is valid until
// the next call.
func (e *Encoder) EncodeBatch(events []*Event) ([]byte, error) {
	e.buf.Reset()
	if err := e.enc.EncodeArrayLen(len(events)); err != nil {
		return nil, err
	}
	for _, ev := range events {
		if err := encodeEvent(e.enc, ev); err != nil {
			return nil, err
		}
	}
	return e.buf.Bytes(), nil
}

func encodeEvent(enc *msgpack.Encoder, ev *Event) error {
	if int(ev.Type) >= len(fieldCount) || fieldCount[ev.Type] == 0 {
		return fmt.Errorf("%w: unknown event type %d", ErrBadRecord, ev.Type)
	}
	// What the decoder would refuse is never written (paired check).
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("%w: event type %d: %w", ErrBadRecord, ev.Type, err)
	}
	w := writer{enc: enc}
	w.len(fieldCount[ev.Type])
	w.int(int64(ev.Type))
	w.int(ev.TimeMs)
	switch ev.Type {
	case EvPartnerCreated:
		w.str(ev.Partner)
		w.str(ev.API)
		w.str(ev.Name)
		w.int(ev.RateLimit)
		w.str(ev.KeyID)
		w.bytes(ev.KeyHash)
		w.str(ev.KeyHint)
	case EvKeyAdded:
		w.str(ev.Partner)
		w.str(ev.KeyID)
		w.bytes(ev.KeyHash)
		w.str(ev.KeyHint)
	case EvKeyRevoked:
		w.str(ev.Partner)
		w.str(ev.KeyID)
	case EvPartnerRateLimit:
		w.str(ev.Partner)
		w.int(ev.RateLimit)
	case EvCodesIssued:
		w.str(ev.Partner)
		w.str(ev.Tier)
		w.str(ev.Label)
		w.int(ev.ExpiresMs)
		w.len(len(ev.Codes))
		for _, c := range ev.Codes {
			w.str(c)
		}
	case EvCodeRevoked:
		w.str(ev.Partner)
		w.str(ev.Card)
	case EvCodeAttempt:
		w.str(ev.Partner)
		w.str(ev.Card)
		w.int(int64(ev.Action))
		w.int(int64(ev.Code))
		w.str(ev.RequestID)
		w.str(ev.RedemptionID)
		w.str(ev.Reference)
		w.str(ev.Tier)
		w.str(ev.Label)
		w.int(ev.ExpiresMs)
		w.int(ev.RedeemedMs)
	case EvPartnerStatus:
		w.str(ev.Partner)
		w.str(ev.Status)
	case EvCredited:
		w.str(ev.User)
		w.str(ev.Reference)
		w.int(ev.Amount)
		w.int(ev.Balance)
	case EvIdemExpired, EvKeysExpired, EvAttemptsExpired:
		w.int(ev.Amount)
	default:
		w.str(ev.Partner)
		w.str(ev.User)
		w.str(ev.Reference)
		w.int(ev.Amount)
		w.int(ev.Balance)
		w.int(int64(ev.Code))
	}
	return w.err
}

// writer keeps the first error so encoders read as a list of fields.
type writer struct {
	enc *msgpack.Encoder
	err error
}

func (w *writer) len(n int) {
	if w.err == nil {
		w.err = w.enc.EncodeArrayLen(n)
	}
}
func (w *writer) int(v int64) {
	if w.err == nil {
		w.err = w.enc.EncodeInt(v)
	}
}
func (w *writer) str(v string) {
	if w.err == nil {
		w.err = w.enc.EncodeString(v)
	}
}
func (w *writer) bytes(v []byte) {
	if w.err == nil {
		w.err = w.enc.EncodeBytes(v)
	}
}

// DecodeBatch parses a batch written by EncodeBatch. It checks structure and
// limits; semantic checks are Validate's and Apply's.
func DecodeBatch(data []byte) ([]Event, error) {
	rd := bytes.NewReader(data) // a ByteScanner: msgpack reads it without buffering
	r := reader{dec: msgpack.NewDecoder(rd), rd: rd}
	n := r.len()
	if r.err != nil {
		return nil, fmt.Errorf("%w: batch header: %w", ErrBadRecord, r.err)
	}
	if n < 0 || n > MaxBatchEvents || n > len(data) {
		return nil, fmt.Errorf("%w: batch of %d events", ErrBadRecord, n)
	}
	events := make([]Event, n)
	for i := range events {
		r.event(&events[i])
		if errors.Is(r.err, ErrUnknownEvent) {
			return nil, fmt.Errorf("event %d of the batch: %w", i, r.err)
		}
		if r.err != nil {
			return nil, fmt.Errorf("%w: event %d: %w", ErrBadRecord, i, r.err)
		}
	}
	if rd.Len() != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadRecord, rd.Len())
	}
	return events, nil
}

// reader decodes msgpack primitives and accepts only the encoding
// EncodeBatch would have written (the smallest form of each value), so a
// record has exactly one byte form and re-encodes to the same bytes.
type reader struct {
	dec *msgpack.Decoder
	rd  *bytes.Reader
	err error
}

// canonical checks that the value read since the reader had left bytes
// took exactly size bytes.
func (r *reader) canonical(left, size int) {
	if r.err == nil && left-r.rd.Len() != size {
		r.err = fmt.Errorf("non-canonical encoding at offset %d", int(r.rd.Size())-left)
	}
}

// intCode is the first byte of msgpack's smallest encoding of v (see
// msgpack's Encoder.EncodeInt): non-negative values use the unsigned
// family, negative ones the signed family.
func intCode(v int64) byte {
	switch {
	case v >= 0 && v <= math.MaxInt8, v < 0 && v >= -32:
		return byte(v) // positive or negative fixint: the value is the code
	case v >= 0 && v <= math.MaxUint8:
		return msgpcode.Uint8
	case v >= 0 && v <= math.MaxUint16:
		return msgpcode.Uint16
	case v >= 0 && v <= math.MaxUint32:
		return msgpcode.Uint32
	case v >= 0:
		return msgpcode.Uint64
	case v >= math.MinInt8:
		return msgpcode.Int8
	case v >= math.MinInt16:
		return msgpcode.Int16
	case v >= math.MinInt32:
		return msgpcode.Int32
	}
	return msgpcode.Int64
}

// Sizes of msgpack's smallest encodings of strings, bytes and arrays.
func strSize(n int) int {
	switch {
	case n < 32:
		return 1 + n
	case n < 256:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func binSize(n int) int {
	switch {
	case n < 256:
		return 2 + n
	case n <= math.MaxUint16:
		return 3 + n
	}
	return 5 + n
}

func arrayHeaderSize(n int) int {
	switch {
	case n < 16:
		return 1
	case n <= math.MaxUint16:
		return 3
	}
	return 5
}

func (r *reader) event(ev *Event) {
	n := r.len()
	t := r.int()
	if r.err != nil {
		return
	}
	if t > 0 && t <= math.MaxUint8 && (t >= int64(len(fieldCount)) || fieldCount[t] == 0) {
		r.err = fmt.Errorf("%w %d (with %d fields)", ErrUnknownEvent, t, n)
		return
	}
	if t <= 0 || t >= int64(len(fieldCount)) || fieldCount[t] == 0 || n != fieldCount[t] {
		r.err = fmt.Errorf("type %d with %d fields", t, n)
		return
	}
	ev.Type = EventType(t)
	ev.TimeMs = r.int()
	switch ev.Type {
	case EvPartnerCreated:
		ev.Partner, ev.API, ev.Name = r.str(), r.str(), r.str()
		ev.RateLimit = r.int()
		ev.KeyID, ev.KeyHash, ev.KeyHint = r.str(), r.bytes(), r.str()
	case EvKeyAdded:
		ev.Partner, ev.KeyID, ev.KeyHash, ev.KeyHint = r.str(), r.str(), r.bytes(), r.str()
	case EvKeyRevoked:
		ev.Partner, ev.KeyID = r.str(), r.str()
	case EvPartnerRateLimit:
		ev.Partner, ev.RateLimit = r.str(), r.int()
	case EvCodesIssued:
		ev.Partner, ev.Tier, ev.Label, ev.ExpiresMs = r.str(), r.str(), r.str(), r.int()
		ev.Codes = r.strs(MaxCodesIssued)
	case EvCodeRevoked:
		ev.Partner, ev.Card = r.str(), r.str()
	case EvCodeAttempt:
		ev.Partner, ev.Card = r.str(), r.str()
		ev.Action, ev.Code = Action(r.small(255)), Code(r.small(255))
		ev.RequestID, ev.RedemptionID, ev.Reference = r.str(), r.str(), r.str()
		ev.Tier, ev.Label = r.str(), r.str()
		ev.ExpiresMs, ev.RedeemedMs = r.int(), r.int()
	case EvPartnerStatus:
		ev.Partner, ev.Status = r.str(), r.str()
	case EvCredited:
		ev.User, ev.Reference = r.str(), r.str()
		ev.Amount, ev.Balance = r.int(), r.int()
	case EvIdemExpired, EvKeysExpired, EvAttemptsExpired:
		ev.Amount = r.int()
	default:
		ev.Partner, ev.User, ev.Reference = r.str(), r.str(), r.str()
		ev.Amount, ev.Balance = r.int(), r.int()
		ev.Code = Code(r.small(255))
	}
	if r.err == nil {
		r.err = ev.Validate()
	}
}

func (r *reader) len() int {
	if r.err != nil {
		return 0
	}
	left := r.rd.Len()
	var n int
	n, r.err = r.dec.DecodeArrayLen()
	r.canonical(left, arrayHeaderSize(n))
	return n
}
func (r *reader) int() int64 {
	if r.err != nil {
		return 0
	}
	c, err := r.dec.PeekCode()
	if err != nil || c == msgpcode.Nil {
		r.err = fmt.Errorf("integer expected (code %x): %w", c, err)
		return 0
	}
	var v int64
	v, r.err = r.dec.DecodeInt64()
	if r.err == nil && c != intCode(v) {
		r.err = fmt.Errorf("non-canonical integer %d (code %x)", v, c)
	}
	return v
}

// small reads an integer in 0..maxValue.
func (r *reader) small(maxValue int64) int64 {
	v := r.int()
	if r.err == nil && (v < 0 || v > maxValue) {
		r.err = fmt.Errorf("value %d out of 0..%d", v, maxValue)
	}
	return v
}

// strs reads an array of at most maxLen strings.
func (r *reader) strs(maxLen int) []string {
	n := r.len()
	if r.err == nil && (n < 0 || n > maxLen || n > r.rd.Len()) {
		r.err = fmt.Errorf("array of %d strings", n)
	}
	if r.err != nil {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *reader) str() string {
	if r.err != nil {
		return ""
	}
	if c, err := r.dec.PeekCode(); err != nil || !msgpcode.IsString(c) {
		r.err = fmt.Errorf("string expected (code %x): %w", c, err)
		return ""
	}
	left := r.rd.Len()
	var s string
	s, r.err = r.dec.DecodeString()
	r.canonical(left, strSize(len(s)))
	if len(s) > maxStringLen {
		r.err = fmt.Errorf("string of %d bytes", len(s))
	}
	return s
}
func (r *reader) bytes() []byte {
	if r.err != nil {
		return nil
	}
	if c, err := r.dec.PeekCode(); err != nil || !msgpcode.IsBin(c) {
		r.err = fmt.Errorf("bytes expected (code %x): %w", c, err)
		return nil
	}
	left := r.rd.Len()
	var b []byte
	b, r.err = r.dec.DecodeBytes()
	r.canonical(left, binSize(len(b)))
	if len(b) > maxStringLen {
		r.err = fmt.Errorf("bytes of %d", len(b))
	}
	return b
}

// Validate checks the field ranges of a decoded event, so that Apply's
// arithmetic stays in bounds whatever bytes reached the decoder.
func (ev *Event) Validate() error {
	switch ev.Type {
	case EvPartnerCreated, EvKeyAdded:
		if ev.Partner == "" || ev.KeyID == "" || len(ev.KeyHash) != KeyHashLen || ev.RateLimit < 0 {
			return errors.New("partner or key fields out of range")
		}
	case EvKeyRevoked:
		if ev.Partner == "" || ev.KeyID == "" {
			return errors.New("key revocation without partner or key")
		}
	case EvPartnerRateLimit:
		if ev.Partner == "" || ev.RateLimit < 1 {
			return errors.New("rate limit out of range")
		}
	case EvPartnerStatus:
		if ev.Status != StatusActive && ev.Status != StatusInactive {
			return fmt.Errorf("status %q", ev.Status)
		}
	case EvIdemExpired, EvKeysExpired, EvAttemptsExpired:
		if ev.Amount < 0 {
			return fmt.Errorf("cutoff %d", ev.Amount)
		}
	case EvCodesIssued:
		if ev.Partner == "" || len(ev.Codes) == 0 || len(ev.Codes) > MaxCodesIssued || slices.Contains(ev.Codes, "") {
			return errors.New("issued codes out of range")
		}
	case EvCodeRevoked:
		if ev.Partner == "" || ev.Card == "" {
			return errors.New("code revocation without partner or code")
		}
	case EvCodeAttempt:
		return ev.validateAttempt()
	default:
		if ev.Amount < 1 || ev.Amount > MaxAmount || ev.Balance < 0 || ev.Balance > MaxBalance || ev.Code > CodeRefundExceeds {
			return errors.New("amount, balance or code out of range")
		}
	}
	return nil
}

func (ev *Event) validateAttempt() error {
	switch {
	case ev.Partner == "" || ev.Card == "":
		return errors.New("attempt without partner or code")
	case ev.Action != ActionValidate && ev.Action != ActionRedeem:
		return fmt.Errorf("action %d", ev.Action)
	case ev.Code != CodeOK && (ev.Code < CodeNotFound || ev.Code > CodeRevoked):
		return fmt.Errorf("attempt outcome %d", ev.Code)
	case ev.Reference != "" && ev.Action != ActionRedeem:
		return errors.New("an Idempotency-Key on a validate")
	}
	return nil
}
