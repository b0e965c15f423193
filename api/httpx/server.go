package httpx

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Server limits. A request body above MaxBodyBytes is refused by each API
// with its own 400 envelope; one above MaxWireBodyBytes is refused by
// fasthttp before any handler runs, answered 413 by RequestErrors in the
// envelope of the API the path belongs to.
const (
	MaxBodyBytes     = 64 << 10
	MaxWireBodyBytes = 1 << 20
	readTimeout      = 30 * time.Second
	writeTimeout     = 30 * time.Second
	idleTimeout      = 2 * time.Minute
)

// Server is a fasthttp server with ledgerd's limits and a shutdown that
// does not wait for connections on which no handler is running.
//
// fasthttp counts a connection as busy from accept until its first request
// is answered, so a client that connects and sends nothing (a health probe,
// a pooled spare) would hold a graceful shutdown for the whole read
// timeout. Shutdown closes every connection whose request has not reached a
// handler; their clients never got an answer and may retry, since nothing
// was done. A request that reached its handler is answered before its
// connection closes.
type Server struct {
	*fasthttp.Server
	// RequestErrors answers requests fasthttp refuses before any handler
	// runs (413 for a body over MaxWireBodyBytes); APIs add their writers.
	RequestErrors *RequestErrors
	mu            sync.Mutex
	conns         map[net.Conn]*connState
	stopping      bool
}

type connState struct {
	busy   bool // a handler started; cleared once its response is written
	closed bool // closed by Shutdown: its request must not run
}

// NewServer returns a Server for h. fasthttp's own log lines go to
// slog.Default() at warning level (set Logger to another SlogLogger to
// change that).
func NewServer(h fasthttp.RequestHandler) *Server {
	s := &Server{conns: make(map[net.Conn]*connState), RequestErrors: &RequestErrors{}}
	s.Server = &fasthttp.Server{
		Handler:            s.wrap(h),
		Name:               "ledgerd",
		MaxRequestBodySize: MaxWireBodyBytes,
		// No API takes multipart bodies; pre-parsing one that is malformed
		// resets the request, so its API could not answer in its envelope.
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  readTimeout,
		WriteTimeout:                 writeTimeout,
		IdleTimeout:                  idleTimeout,
		CloseOnShutdown:              true,
		ConnState:                    s.track,
		ErrorHandler:                 s.RequestErrors.Handle,
		Logger:                       SlogLogger{Level: slog.LevelWarn},
	}
	return s
}

// UseRequestErrors makes e answer the requests fasthttp refuses before
// any handler runs. Call it before Serve.
func (s *Server) UseRequestErrors(e *RequestErrors) {
	s.RequestErrors = e
	s.ErrorHandler = e.Handle
}

func (s *Server) track(c net.Conn, state fasthttp.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch state {
	case fasthttp.StateNew:
		if s.stopping {
			c.Close()
			return
		}
		s.conns[c] = &connState{}
	case fasthttp.StateIdle: // fasthttp reports it after the response is written
		if st := s.conns[c]; st != nil {
			st.busy = false
		}
	case fasthttp.StateClosed, fasthttp.StateHijacked:
		delete(s.conns, c)
	}
}

func (s *Server) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		s.mu.Lock()
		st := s.conns[ctx.Conn()]
		if st != nil && st.closed {
			s.mu.Unlock()
			return
		}
		if st != nil {
			st.busy = true
		}
		s.mu.Unlock()
		h(ctx)
	}
}

// Shutdown stops accepting connections, closes those with no request being
// handled or answered,
// and waits for in-flight requests to finish or ctx to end.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.stopping = true
	for c, st := range s.conns {
		if !st.busy {
			st.closed = true
			c.Close()
		}
	}
	s.mu.Unlock()
	return s.ShutdownWithContext(ctx)
}
