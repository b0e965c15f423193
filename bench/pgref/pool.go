package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// pool is a fixed set of connections, all opened at start. A request waits
// for a free connection; a connection that broke is replaced on its next
// use.
type pool struct {
	config *pgx.ConnConfig
	free   chan *pgx.Conn
	size   int
}

// PoolSizeMax bounds --pool: PostgreSQL's default max_connections is 100.
const PoolSizeMax = 1000

// openPool connects size times with config.
func openPool(ctx context.Context, config *pgx.ConnConfig, size int) (*pool, error) {
	if size < 1 || size > PoolSizeMax {
		return nil, fmt.Errorf("pgref: pool size %d outside 1..%d", size, PoolSizeMax)
	}
	p := &pool{config: config, free: make(chan *pgx.Conn, size+1), size: size}
	for range size {
		c, err := pgx.ConnectConfig(ctx, config)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("pgref: connect: %w", err)
		}
		p.free <- c
	}
	return p, nil
}

var errPoolClosed = errors.New("pgref: pool closed")

// acquire takes a connection; the caller must release it.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	var c *pgx.Conn
	select {
	case c = <-p.free:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if c == nil {
		p.free <- nil // closed: keep the marker for the next caller
		return nil, errPoolClosed
	}
	if !c.IsClosed() {
		return c, nil
	}
	fresh, err := pgx.ConnectConfig(ctx, p.config)
	if err != nil {
		p.free <- c // still broken; the next caller tries again
		return nil, fmt.Errorf("pgref: reconnect: %w", err)
	}
	return fresh, nil
}

func (p *pool) release(c *pgx.Conn) { p.free <- c }

// Close closes every idle connection; call it once no request runs.
func (p *pool) Close() {
	for {
		select {
		case c := <-p.free:
			if c == nil {
				p.free <- nil
				return
			}
			_ = c.Close(context.Background())
		default:
			p.free <- nil
			return
		}
	}
}
