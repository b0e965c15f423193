package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
	"unicode/utf8"

	"ledgerd/engine"
	eob "ledgerd/engine/outbox"
)

// userAgent names the sender to receivers.
const userAgent = "ledgerd-webhooks/1"

// attempt makes one attempt of d and returns the event that records it, or
// nil when the sender stopped during it (nothing is recorded).
func (s *Sender) attempt(api *API, d *eob.Delivery) *eob.DeliveryAttempted {
	var target, secretID string
	var rotation int64
	var ok bool
	s.sys.ReadState(func(st *engine.State) { target, secretID, rotation, ok = api.Resolve(st, d) })
	start := s.sys.Now()
	ev := &eob.DeliveryAttempted{ID: d.ID, Attempt: d.Attempts + 1, AtMs: start.UnixMilli()}
	if !ok {
		ev.Error, ev.Outcome = "endpoint deleted or disabled", eob.StatusFailed
		ev.TimeMs = ev.AtMs
		return ev
	}
	wall := time.Now()
	status, err := s.post(target, Secret(s.cfg.MasterKey, secretID, rotation), d, start)
	if s.ctx.Err() != nil {
		return nil
	}
	ev.LatencyMs = time.Since(wall).Milliseconds()
	now := s.sys.Now().UnixMilli()
	ev.TimeMs, ev.HTTPStatus = now, int64(status)
	switch {
	case err == nil:
		ev.Outcome = eob.StatusSucceeded
	default:
		if ev.Error = truncate(err.Error(), eob.MaxErrorLen); ev.Error == "" {
			ev.Error = "failed"
		}
		round := ev.Attempt - d.RoundStart
		first := d.FirstMs
		if round == 1 {
			first = ev.AtMs
		}
		ev.Outcome, ev.NextMs = api.nextAttempt(round, first, now)
	}
	return ev
}

// post sends one request and reports the answer's status (0 when none came
// back) and, unless it is a 2xx read within the timeout, why it failed.
func (s *Sender) post(target, secret string, d *eob.Delivery, now time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(d.Body))
	if err != nil {
		return 0, errors.New("invalid endpoint url")
	}
	if err := CheckURL(target, s.cfg.AllowInsecure); err != nil {
		return 0, err
	}
	req.Header.Set("User-Agent", userAgent)
	for _, h := range lookupAPI(d.API).Sign(secret, d, now) {
		req.Header.Set(h[0], h[1])
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, describe(err, s.cfg.Timeout)
	}
	defer resp.Body.Close()
	_, readErr := io.CopyN(io.Discard, resp.Body, s.cfg.MaxResponseRead)
	switch {
	case readErr != nil && !errors.Is(readErr, io.EOF):
		return resp.StatusCode, fmt.Errorf("reading the answer: %w", describe(readErr, s.cfg.Timeout))
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return resp.StatusCode, fmt.Errorf("http status %d (redirects are not followed)", resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return resp.StatusCode, fmt.Errorf("http status %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// describe is an error's text for the record: without the URL (which may
// carry a partner's token in its query), with timeouts and resets named.
func describe(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("timeout after %v", timeout)
	case errors.Is(err, syscall.ECONNRESET):
		return errors.New("connection reset")
	case errors.Is(err, syscall.ECONNREFUSED):
		return errors.New("connection refused")
	case errors.Is(err, ErrAddressNotPublic):
		return ErrAddressNotPublic
	}
	return err
}

// truncate cuts s to at most n bytes, on a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
