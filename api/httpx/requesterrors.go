package httpx

import (
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/valyala/fasthttp"
)

// RequestErrorWriter answers, in its API's own envelope, a request that
// fasthttp refused before any handler ran. status is
// StatusRequestEntityTooLarge (body over MaxWireBodyBytes),
// StatusRequestHeaderFieldsTooLarge, StatusRequestTimeout or
// StatusBadRequest (anything else that could not be parsed).
type RequestErrorWriter func(ctx *fasthttp.RequestCtx, status int)

// RequestErrors routes fasthttp's request errors to the writer of the API
// whose base path the request targets: each API's Register adds its own
// with Add, so no shared switch names the APIs. It is the server's
// fasthttp ErrorHandler (Handle); NewServer installs an empty one.
type RequestErrors struct {
	mu    sync.RWMutex
	bases []requestErrorBase
}

type requestErrorBase struct {
	base  string
	write RequestErrorWriter
}

// Add makes w answer the request errors of paths at or below base
// ("/payshards/api/partner"). The longest matching base wins.
func (e *RequestErrors) Add(base string, w RequestErrorWriter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bases = append(e.bases, requestErrorBase{base: strings.TrimSuffix(base, "/"), write: w})
}

// Handle is a fasthttp ErrorHandler. The request's URI is parsed before
// its body is read, so a body over the limit is matched on its path; a
// request whose head could not be parsed gets the plain JSON answer.
func (e *RequestErrors) Handle(ctx *fasthttp.RequestCtx, err error) {
	status := RequestErrorStatus(err)
	if w := e.writer(string(ctx.Path())); w != nil {
		w(ctx, status)
		return
	}
	var buf [64]byte
	Reply(ctx, status, Object(buf[:0]).Str("error", requestErrorCode(status)).Close())
}

func (e *RequestErrors) writer(path string) RequestErrorWriter {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var best RequestErrorWriter
	bestLen := -1
	for _, b := range e.bases {
		match := path == b.base || strings.HasPrefix(path, b.base+"/")
		if match && len(b.base) > bestLen {
			best, bestLen = b.write, len(b.base)
		}
	}
	return best
}

// RequestErrorStatus maps an error fasthttp reports before any handler
// ran to the status it is answered with.
func RequestErrorStatus(err error) int {
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fasthttp.StatusRequestEntityTooLarge
	case errors.As(err, &small):
		return fasthttp.StatusRequestHeaderFieldsTooLarge
	case errors.As(err, &netErr) && netErr.Timeout():
		return fasthttp.StatusRequestTimeout
	}
	return fasthttp.StatusBadRequest
}

func requestErrorCode(status int) string {
	switch status {
	case fasthttp.StatusRequestEntityTooLarge:
		return "request_too_large"
	case fasthttp.StatusRequestHeaderFieldsTooLarge:
		return "headers_too_large"
	case fasthttp.StatusRequestTimeout:
		return "request_timeout"
	}
	return "bad_request"
}
