package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os/signal"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// CreditAmount is the balance ledgerbench credits each user with. Any
// balance between 10^12 and 10^13−1 renders with 13 digits, so every
// deduct answer of a run has the length of CeilingBody.
const CreditAmount = 9_000_000_000_000

// CeilingBody is the ceiling's answer: a PayShards deduct answer as ledgerd
// writes it for a balance of 13 digits, so both send the same bytes.
var CeilingBody = []byte(`{"success":true,"newBalance":8999999999999,"idempotent":false}`)

// serverName is the Server header of both ledgerd and the ceiling.
const serverName = "ledgerd"

// NewCeilingServer returns the bare fasthttp server the ceiling runs: every
// request, whatever its method, path or body, gets 200 CeilingBody with the
// same headers as ledgerd's answer (Server, Content-Type).
func NewCeilingServer() *fasthttp.Server {
	return &fasthttp.Server{
		Name:        serverName,
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, WriteTimeout: 30 * time.Second,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetContentType("application/json")
			ctx.SetBody(CeilingBody)
		},
	}
}

// CeilingCmd is `ledgerbench ceiling [--listen 127.0.0.1:0]`: it prints the
// address it listens on as the first line of stdout and serves until SIGTERM
// or SIGINT.
func CeilingCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ledgerbench ceiling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench ceiling:", err)
		return 1
	}
	fmt.Fprintln(stdout, ln.Addr().String())
	srv := NewCeilingServer()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		err = srv.Shutdown()
	}
	if err != nil {
		fmt.Fprintln(stderr, "ledgerbench ceiling:", err)
		return 1
	}
	return 0
}
