package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// ErrUnknownSnapshotFormat means a snapshot is in a format this binary
// does not know: a container version, a section name, or a section
// version. The bytes may be good (a newer binary wrote them), so they must
// be neither used nor moved aside: start-up stops and names what it met.
var ErrUnknownSnapshotFormat = errors.New("engine: unknown snapshot format")

// Snapshot container, version 3 (msgpack) — never reorder:
//
//	array(2): version (3),
//	  sections (array of [name str, version uint, payload bin])
//
// Each section is one module's part of the state, with its own version,
// so that a module can change its layout without touching the others. The
// writer writes every section of the table, in table order. The reader
// first reads all the section headers and refuses (ErrUnknownSnapshotFormat)
// a name not in its table or a version its codec does not read, before it
// decodes anything; then it decodes the sections in table order (a section
// may rely on what the ones before it rebuilt: the codes of "paypay" on the
// partners of "core"). A section missing from the file is that module's
// empty state (a module added after the snapshot was written), except a
// Required one. A name twice is broken structure (ErrBadRecord).
//
// The table is ordered by each section's Order (then by registration),
// not by import order, so that the container's section order never depends
// on which package's init ran first. The sections of this binary, in table
// order, each payload an array of its fields:
//
//	core v1 (100):      [index, events, partners (array of Partner, msgpack's struct encoding)]
//	idem v1 (200):      [records (array of [partner, op, reference, user, amount, code, value, timeMs, detail|nil],
//	                     detail = [requestID, redemptionID, tier, label, expiresMs, redeemedMs]),
//	                     references then Idempotency-Keys, each in retention (expiry) order]
//	payshards v1 (300): [wallets (array of [user, balance, [[partner, amount]...]], by user)]
//	                     (engine/payshards/snapshot.go)
//	paypay v1 (400):    [attempt seq, cards (array of [code, partner, tier, label, issued, expires,
//	                     revoked, redeemed, redemptionID], by code),
//	                     attempts (array of [partner, [[seq, timeMs, code, action, outcome, requestID]...]], by partner)]
//	                     (engine/paypay/snapshot.go)
//
// The element encodings are those of version 2 (snapshot_v2.go).

// SnapshotSection is the codec of one named section of the snapshot
// container. A module registers one (RegisterSnapshotSection) and owns its
// layout: changing it means a new Version, with Decode still reading every
// version in Reads.
type SnapshotSection struct {
	Name     string // unique in the table; written in every snapshot, never renamed
	Version  int    // the version Encode writes
	Reads    []int  // every version Decode accepts (Version among them); never drop one once released
	Required bool   // a snapshot without it is broken (core: it holds the index)
	// Order is the section's place in the table (wire format: the order of
	// the container's sections, never change it once released): ascending,
	// ties in registration order; 0 is after every ordered section. The
	// engine's are core 100 and idem 200; a section may rely on what the
	// sections before it decoded.
	Order int
	// Encode writes the section's payload (one msgpack value) for the
	// captured state; it runs off the committer's goroutine and must only
	// read the capture.
	Encode func(c *Capture, enc *msgpack.Encoder) error
	// Copy and EncodeCopy replace Encode for a module that owns its state
	// (RegisterState): Copy takes what the snapshot holds of it at the
	// capture's index, on the committer's goroutine, deep enough that Apply
	// may go on changing s; EncodeCopy encodes that copy off it.
	Copy       func(s *State) any
	EncodeCopy func(copy any, enc *msgpack.Encoder) error
	// Stepped replaces Copy for a section too large to copy in one pause
	// (wallets, codes, audit records): it starts a copy that the committer
	// advances between batches and that keeps pre-images of what each
	// event changes before it is copied (SectionCopy). EncodeCopy gets its
	// Value.
	Stepped func(s *State) SectionCopy
	// Decode rebuilds the section's part of s from a payload of the given
	// version (one of Reads). s already holds the sections before this one
	// in the table.
	Decode func(version int, payload []byte, s *State) error
	// V2 rebuilds the section's part of s from a version 2 snapshot
	// (snapshot_v2.go), released before the sections, for a module whose
	// state it holds (nil: none). It reads the elements it owns from v2;
	// s already holds the core (partners, idempotency records) and the
	// sections before this one.
	V2 func(v2 *SnapshotV2, s *State) error
}

// snapshotSections is the table, in encoding and decoding order. The
// engine's own sections are here; a module package adds its own with
// RegisterSnapshotSection from its init function.
var snapshotSections = []SnapshotSection{
	{Name: "core", Version: 1, Reads: []int{1}, Required: true, Order: 100, Encode: encodeCore, Decode: decodeCore},
	{Name: "idem", Version: 2, Reads: []int{1, 2}, Order: 200, Encode: encodeIdem, Decode: decodeIdem},
}

// Limits of the container.
const (
	maxSections    = 64
	maxSectionName = 64
)

// copyNow is a module section's whole copy of s at once.
func (sec *SnapshotSection) copyNow(s *State) any {
	if sec.Stepped != nil {
		c := sec.Stepped(s)
		c.Step(s, math.MaxInt)
		return c.Value()
	}
	return sec.Copy(s)
}

// ways counts the true ones.
func ways(b ...bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// RegisterSnapshotSection puts sec in the table at its Order. It panics on
// a malformed codec or a name already taken. Call it only from an init
// function: the table is read without a lock.
func RegisterSnapshotSection(sec SnapshotSection) {
	switch {
	case sec.Name == "" || len(sec.Name) > maxSectionName || sec.Decode == nil ||
		ways(sec.Encode != nil, sec.Copy != nil, sec.Stepped != nil) != 1 || (sec.Encode == nil) != (sec.EncodeCopy != nil):
		panic(fmt.Sprintf("engine: snapshot section %q: name, Decode, and Encode or Copy or Stepped with EncodeCopy are required", sec.Name))
	case !slices.Contains(sec.Reads, sec.Version):
		panic(fmt.Sprintf("engine: snapshot section %q writes version %d but does not read it", sec.Name, sec.Version))
	case findSection(sec.Name) != nil:
		panic(fmt.Sprintf("engine: snapshot section %q registered twice", sec.Name))
	case len(snapshotSections) >= maxSections:
		panic("engine: too many snapshot sections")
	case sec.Order < 0:
		panic(fmt.Sprintf("engine: snapshot section %q: negative Order", sec.Name))
	}
	at := len(snapshotSections)
	for at > 0 && sectionRank(snapshotSections[at-1]) > sectionRank(sec) {
		at--
	}
	snapshotSections = slices.Insert(snapshotSections, at, sec)
}

// sectionRank is a section's sort key in the table: Order, 0 last.
func sectionRank(sec SnapshotSection) int {
	if sec.Order == 0 {
		return math.MaxInt
	}
	return sec.Order
}

// SnapshotSectionNames lists the sections this binary knows, with the
// versions each reads ("core v1"), in table order, for messages.
func SnapshotSectionNames() []string {
	out := make([]string, 0, len(snapshotSections))
	for _, sec := range snapshotSections {
		vs := make([]string, len(sec.Reads))
		for i, v := range sec.Reads {
			vs[i] = fmt.Sprintf("v%d", v)
		}
		out = append(out, sec.Name+" "+strings.Join(vs, ","))
	}
	return out
}

func findSection(name string) *SnapshotSection {
	for i := range snapshotSections {
		if snapshotSections[i].Name == name {
			return &snapshotSections[i]
		}
	}
	return nil
}

// encodeContainer writes the version 3 container of a capture, as chunks
// (chunkBuf). A section of up to 64 KiB is copied in behind its bin header;
// a larger one is encoded in chunks of its own that join the container's
// list behind a bin 32 header, never copied: the bytes are those of
// EncodeBytes(section) either way.
func encodeContainer(c *Capture, pace bool) ([][]byte, error) {
	out, section := chunkBuf{yield: true}, chunkBuf{yield: true}
	if pace {
		section.pace = &pacer{hurry: &c.hurry}
	}
	w := Writer{enc: msgpack.NewEncoder(&out)}
	w.len(2)
	w.int(SnapshotVersion)
	w.len(len(snapshotSections))
	enc := msgpack.NewEncoder(&section)
	for _, sec := range snapshotSections {
		var err error
		if sec.EncodeCopy != nil {
			err = sec.EncodeCopy(c.copyOf(sec.Name), enc)
		} else {
			err = sec.Encode(c, enc)
		}
		if err != nil {
			return nil, fmt.Errorf("engine: encode snapshot section %q: %w", sec.Name, err)
		}
		w.len(3)
		w.str(sec.Name)
		w.int(int64(sec.Version))
		if section.Len() <= math.MaxUint16 { // within its first chunk: copied, the chunk reused
			w.bytes(section.Bytes())
			section.reset()
			continue
		}
		if w.err == nil {
			w.err = w.enc.EncodeBytesLen(section.Len())
		}
		out.take(&section)
	}
	if w.err != nil {
		return nil, fmt.Errorf("engine: encode snapshot: %w", w.err)
	}
	return out.Chunks(), nil
}

// sectionFrame is one section as read from a container: its payload
// aliases the snapshot's bytes.
type sectionFrame struct {
	name    string
	version int
	payload []byte
	codec   *SnapshotSection
}

// CheckSnapshotFormat reports whether this binary knows the format of a
// snapshot payload — its container version and, in a version 3
// container, every section's name and version — without decoding the
// sections: ErrUnknownSnapshotFormat if not, ErrBadRecord if the container
// itself is broken.
func CheckSnapshotFormat(data []byte) error {
	version, err := containerVersion(data)
	switch {
	case err != nil:
		return fmt.Errorf("%w: snapshot: %w", ErrBadRecord, err)
	case version == snapshotVersion2:
		return nil
	case version != SnapshotVersion:
		return fmt.Errorf("%w: container version %d (this binary reads %d and %d)",
			ErrUnknownSnapshotFormat, version, snapshotVersion2, SnapshotVersion)
	}
	_, err = readContainer(data)
	return err
}

// decodeContainer rebuilds a State from a version 3 container.
func decodeContainer(data []byte) (*State, error) {
	frames, err := readContainer(data)
	if err != nil {
		return nil, err
	}
	s := NewState()
	for i := range snapshotSections {
		sec := &snapshotSections[i]
		f := frames[sec.Name]
		if f == nil {
			continue // checked by readContainer: not Required
		}
		if err := sec.Decode(f.version, f.payload, s); err != nil {
			return nil, fmt.Errorf("%w: snapshot section %q v%d: %w", ErrBadRecord, f.name, f.version, err)
		}
	}
	return s, nil
}

// readContainer reads the section headers of a version 3 container and
// checks that this binary knows each of them.
func readContainer(data []byte) (map[string]*sectionFrame, error) {
	frames, order, err := readSectionFrames(data)
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot container: %w", ErrBadRecord, err)
	}
	for _, f := range order {
		if f.codec == nil {
			return nil, fmt.Errorf("%w: section %q (version %d) is not one this binary knows (%s)",
				ErrUnknownSnapshotFormat, f.name, f.version, strings.Join(SnapshotSectionNames(), "; "))
		}
		if !slices.Contains(f.codec.Reads, f.version) {
			return nil, fmt.Errorf("%w: section %q version %d (this binary reads %s)",
				ErrUnknownSnapshotFormat, f.name, f.version, strings.Join(SnapshotSectionNames(), "; "))
		}
	}
	for _, sec := range snapshotSections {
		if sec.Required && frames[sec.Name] == nil {
			return nil, fmt.Errorf("%w: snapshot container without section %q", ErrBadRecord, sec.Name)
		}
	}
	return frames, nil
}

// readSectionFrames parses the container's structure: version, then the
// section headers, each payload sliced out of data without copying.
func readSectionFrames(data []byte) (map[string]*sectionFrame, []*sectionFrame, error) {
	rd := bytes.NewReader(data)
	r := &Reader{dec: msgpack.NewDecoder(rd), rd: rd}
	if n := r.len(); r.err == nil && n != 2 {
		return nil, nil, fmt.Errorf("array of %d, want 2", n)
	}
	if v := r.int(); r.err == nil && v != SnapshotVersion {
		return nil, nil, fmt.Errorf("version %d", v)
	}
	n := r.count(-1, 4)
	if r.err == nil && n > maxSections {
		r.err = fmt.Errorf("%d sections", n)
	}
	frames := make(map[string]*sectionFrame, n)
	var order []*sectionFrame
	for range n {
		r.count(3, 1)
		f := &sectionFrame{name: r.str(), version: int(r.small(1 << 16)), payload: r.binSlice(data)}
		if r.err != nil {
			break
		}
		if f.name == "" || len(f.name) > maxSectionName {
			return nil, nil, fmt.Errorf("section name %q", f.name)
		}
		if frames[f.name] != nil {
			return nil, nil, fmt.Errorf("section %q twice", f.name)
		}
		f.codec = findSection(f.name)
		frames[f.name] = f
		order = append(order, f)
	}
	if r.err == nil && rd.Len() != 0 {
		r.err = fmt.Errorf("%d trailing bytes", rd.Len())
	}
	return frames, order, r.err
}

// binSlice reads a msgpack bin header and returns the bytes it announces
// as a slice of data (which r reads), without copying them.
func (r *Reader) binSlice(data []byte) []byte {
	if r.err != nil {
		return nil
	}
	left := r.rd.Len()
	var n int
	if n, r.err = r.dec.DecodeBytesLen(); r.err != nil {
		return nil
	}
	r.canonical(left, binSize(n)-n)
	if r.err == nil && (n < 0 || n > r.rd.Len()) {
		r.err = fmt.Errorf("bin of %d does not fit in %d bytes", n, r.rd.Len())
	}
	if r.err != nil {
		return nil
	}
	start := len(data) - r.rd.Len()
	if _, err := r.rd.Seek(int64(n), io.SeekCurrent); err != nil {
		r.err = err
		return nil
	}
	return data[start : start+n : start+n]
}

// sectionReader reads one section payload that must be an array of fields
// fields; done checks that nothing follows it.
func sectionReader(payload []byte, fields int) *Reader {
	r := NewReader(payload)
	r.count(fields, 1)
	return r
}

// NewReader reads msgpack values from data in their canonical encoding
// (the primitives of Reader), for the modules' section decoders.
func NewReader(data []byte) *Reader {
	rd := bytes.NewReader(data)
	return &Reader{dec: msgpack.NewDecoder(rd), rd: rd}
}

// SectionReader reads a section payload that must be an array of fields
// fields (Done checks that nothing follows it).
func SectionReader(payload []byte, fields int) *Reader { return sectionReader(payload, fields) }

// Done returns the first error met, or an error if bytes are left
// unread.
func (r *Reader) Done() error { return r.done() }

// NewWriter writes canonical msgpack values to enc, for the modules'
// section encoders.
func NewWriter(enc *msgpack.Encoder) *Writer { return &Writer{enc: enc} }

func (r *Reader) done() error {
	if r.err == nil && r.rd.Len() != 0 {
		r.err = fmt.Errorf("%d trailing bytes", r.rd.Len())
	}
	return r.err
}

// The engine's own sections.

func encodeCore(c *Capture, enc *msgpack.Encoder) error {
	w := Writer{enc: enc}
	w.len(3)
	w.uint(c.snap.Index)
	w.uint(c.snap.Events)
	if w.err == nil {
		w.err = enc.Encode(c.snap.Partners)
	}
	return w.err
}

func decodeCore(_ int, payload []byte, s *State) error {
	r := sectionReader(payload, 3)
	s.Index, s.Events = r.uint(), r.uint()
	partners := r.partners(payload)
	if err := r.done(); err != nil {
		return err
	}
	return loadPartners(s, partners)
}

func encodeIdem(c *Capture, enc *msgpack.Encoder) error {
	w := Writer{enc: enc}
	w.len(1)
	w.idemChunks(c.chunks, true)
	return w.err
}

// decodeIdem reads version 1 (nine fields a record) and version 2 (with
// the stored response).
func decodeIdem(version int, payload []byte, s *State) error {
	r := sectionReader(payload, 1)
	fields := idemFieldsV2
	if version == 1 {
		fields = idemFieldsV1
	}
	records := r.idem(fields)
	if err := r.done(); err != nil {
		return err
	}
	return loadIdem(s, records)
}
