package engine

// MaxStoredBody is the most bytes a module's Notice body or Answer
// response may hold (a stored webhook body or first answer).
const MaxStoredBody = 64 << 10

// Notice is what an event carries to create an API's event object and its
// webhook deliveries: the id, type and JSON body the API layer rendered.
// PaySmart, checkout and PAYchat alias it.
type Notice struct {
	ID   string
	Type string
	Body []byte
}

// Answer is the idempotency half of an event: the key it answered (empty =
// none), the fingerprint a retry must repeat, and the first answer a replay
// returns byte for byte. PaySmart, checkout and PAYchat alias it.
type Answer struct {
	Key         string
	Fingerprint string
	Status      int64
	Response    []byte
}

// Notice writes n as [id, type, body].
func (w *Writer) Notice(n *Notice) {
	w.Len(3)
	w.Str(n.ID)
	w.Str(n.Type)
	w.Bin(n.Body)
}

// Notice reads what Writer.Notice wrote.
func (r *Reader) Notice() Notice {
	if !r.Array(3) {
		return Notice{}
	}
	return Notice{ID: r.Str(), Type: r.Str(), Body: r.Bin(MaxStoredBody)}
}

// Answer writes a as [key, fingerprint, status, response].
func (w *Writer) Answer(a *Answer) {
	w.Len(4)
	w.Str(a.Key)
	w.Str(a.Fingerprint)
	w.Int(a.Status)
	w.Bin(a.Response)
}

// Answer reads what Writer.Answer wrote.
func (r *Reader) Answer() Answer {
	if !r.Array(4) {
		return Answer{}
	}
	return Answer{Key: r.Str(), Fingerprint: r.Str(), Status: r.Small(999), Response: r.Bin(MaxStoredBody)}
}
