package httpx

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/valyala/fasthttp"
)

// SlogLogger carries fasthttp's own log lines (a connection that failed, a
// response that could not be written) to log/slog at Level, with
// component=fasthttp. A nil Logger is slog.Default().
type SlogLogger struct {
	Logger *slog.Logger
	Level  slog.Level
}

var _ fasthttp.Logger = SlogLogger{}

// Printf implements fasthttp.Logger.
func (l SlogLogger) Printf(format string, args ...any) {
	logger := l.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if !logger.Enabled(context.Background(), l.Level) {
		return
	}
	logger.Log(context.Background(), l.Level, fmt.Sprintf(format, args...), "component", "fasthttp")
}
