package main

// --feed-export PATH: a change-data-capture export of the committed-event
// feed. Every committed event becomes one line,
//
//	<wal index> <position in the entry> <event type> <digest>
//
// with the event type its wire number (fixed forever) and the digest the
// first 8 bytes, in hex, of the SHA-256 of the event's canonical encoding.
// Lines are fsynced once per WAL entry; the export holds WAL truncation
// back to what it has written (a held feed subscription). On start it cuts
// a torn last line and resumes after the last complete one, so across any
// crash the file has every committed event exactly once, in log order.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"ledgerd/actors"
	"ledgerd/engine"
)

// exportLine is one parsed line of a feed export.
type exportLine struct {
	index  uint64
	pos    int
	typ    engine.EventType
	digest string
}

// feedDigest is the digest an export line carries for ev.
func feedDigest(enc *engine.Encoder, ev engine.Event) (string, error) {
	b, err := enc.EncodeBatch([]engine.Event{ev})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8]), nil
}

func parseExportLine(line []byte) (exportLine, error) {
	f := bytes.Fields(line)
	if len(f) != 4 {
		return exportLine{}, fmt.Errorf("%d fields, want 4", len(f))
	}
	index, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	pos, err2 := strconv.Atoi(string(f[1]))
	typ, err3 := strconv.ParseUint(string(f[2]), 10, 8)
	if err := errors.Join(err1, err2, err3); err != nil {
		return exportLine{}, err
	}
	return exportLine{index: index, pos: pos, typ: engine.EventType(typ), digest: string(f[3])}, nil
}

// feedExport appends the feed to a file.
type feedExport struct {
	f    *os.File
	sub  *actors.Subscription
	skip exportLine // resume point: events up to it in its entry are written
	done chan error // the export's end: nil after a clean stop
}

// startFeedExport opens path (creating it), cuts a torn last line,
// subscribes from where the file ends and starts writing.
func startFeedExport(sys *actors.System, path string) (*feedExport, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("feed export: %w", err)
	}
	last, found, err := resumeExport(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("feed export %s: %w", path, err)
	}
	from := uint64(1)
	if found {
		from = last.index // the rest of that entry, if it was cut short
	} else {
		last = exportLine{pos: -1}
	}
	sub, err := sys.Subscribe(actors.FeedOptions{From: from, Hold: true})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("feed export %s: resume at index %d: %w", path, from, err)
	}
	e := &feedExport{f: f, sub: sub, skip: last, done: make(chan error, 1)}
	go func() { e.done <- e.run() }()
	return e, nil
}

// resumeExport truncates f after its last complete line and returns that
// line. It leaves f's offset at its end.
func resumeExport(f *os.File) (exportLine, bool, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return exportLine{}, false, err
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	if end != len(data) {
		if err := f.Truncate(int64(end)); err != nil {
			return exportLine{}, false, err
		}
		if err := f.Sync(); err != nil {
			return exportLine{}, false, err
		}
	}
	if _, err := f.Seek(int64(end), io.SeekStart); err != nil {
		return exportLine{}, false, err
	}
	if end == 0 {
		return exportLine{}, false, nil
	}
	start := bytes.LastIndexByte(data[:end-1], '\n') + 1
	last, err := parseExportLine(data[start : end-1])
	if err != nil {
		return exportLine{}, false, fmt.Errorf("last line %q: %w", data[start:end-1], err)
	}
	return last, true, nil
}

func (e *feedExport) run() error {
	w := bufio.NewWriter(e.f)
	enc := engine.NewEncoder()
	for b := range e.sub.C() {
		for i := range b.Events {
			if b.Index == e.skip.index && i <= e.skip.pos {
				continue
			}
			digest, err := feedDigest(enc, b.Events[i])
			if err != nil {
				return fmt.Errorf("feed export: entry %d event %d: %w", b.Index, i, err)
			}
			fmt.Fprintf(w, "%d %d %d %s\n", b.Index, i, b.Events[i].EventType(), digest)
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("feed export: write: %w", err)
		}
		if err := e.f.Sync(); err != nil {
			return fmt.Errorf("feed export: fsync: %w", err)
		}
		e.sub.Ack(b.Index)
	}
	if err := e.sub.Err(); !errors.Is(err, actors.ErrFeedClosed) {
		return fmt.Errorf("feed export: %w", err)
	}
	return nil
}

// wait returns the export's end after the System stopped, and closes the
// file.
func (e *feedExport) wait() error {
	err := <-e.done
	if cerr := e.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("feed export: close: %w", cerr)
	}
	return err
}
