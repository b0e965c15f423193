package httpx

import (
	"time"

	"github.com/valyala/fasthttp"
)

// Server limits. A request body above MaxBodyBytes is refused by each API
// with its own 400 envelope; one above MaxWireBodyBytes is refused by
// fasthttp before any handler runs.
const (
	MaxBodyBytes     = 64 << 10
	MaxWireBodyBytes = 1 << 20
	readTimeout      = 30 * time.Second
	writeTimeout     = 30 * time.Second
	idleTimeout      = 2 * time.Minute
)

// NewServer returns a fasthttp server with ledgerd's limits.
func NewServer(h fasthttp.RequestHandler) *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       h,
		Name:                          "ledgerd",
		MaxRequestBodySize:            MaxWireBodyBytes,
		ReadTimeout:                   readTimeout,
		WriteTimeout:                  writeTimeout,
		IdleTimeout:                   idleTimeout,
		DisableHeaderNamesNormalizing: false,
		NoDefaultDate:                 false,
		ReduceMemoryUsage:             false,
		CloseOnShutdown:               true,
	}
}
