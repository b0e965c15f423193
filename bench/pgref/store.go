package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
)

// Outcome statuses, as HTTP status codes: they are stored in the
// idempotency row and replayed.
const (
	statusOK           = 200
	statusInsufficient = 402
	statusUnknownUser  = 404
	statusConflict     = 409 // never stored: the reference is bound to other parameters
)

// Names in the idempotency key. One API key means one partner.
const (
	partnerName = "pgref"
	opDeduct    = "deduct"
)

const schemaDrop = `DROP TABLE IF EXISTS idempotency, wallets`

const schemaCreate = `
CREATE TABLE IF NOT EXISTS wallets (
	user_id text PRIMARY KEY,
	balance bigint NOT NULL CHECK (balance >= 0)
);
CREATE TABLE IF NOT EXISTS idempotency (
	partner    text NOT NULL,
	op         text NOT NULL,
	reference  text NOT NULL,
	user_id    text NOT NULL,
	amount     bigint NOT NULL,
	status     smallint,
	balance    bigint,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (partner, op, reference)
)`

const (
	sqlClaim = `INSERT INTO idempotency (partner, op, reference, user_id, amount)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`
	sqlStored = `SELECT user_id, amount, status, balance FROM idempotency
		WHERE partner = $1 AND op = $2 AND reference = $3`
	sqlDebit = `UPDATE wallets SET balance = balance - $2
		WHERE user_id = $1 AND balance >= $2 RETURNING balance`
	sqlBalance = `SELECT balance FROM wallets WHERE user_id = $1`
	sqlRecord  = `UPDATE idempotency SET status = $4, balance = $5
		WHERE partner = $1 AND op = $2 AND reference = $3`
	sqlSeed = `INSERT INTO wallets (user_id, balance)
		SELECT 'u' || g, $2 FROM generate_series(0, $1 - 1) AS g
		ON CONFLICT (user_id) DO NOTHING`
)

// store runs the PayShards operations on PostgreSQL.
type store struct{ pool *pool }

// result is a deduct's answer: Status is an HTTP status; Balance is the new
// balance on 200 and the current one on 402.
type result struct {
	Status     int
	Balance    int64
	Idempotent bool
}

// migrate creates the tables, after dropping them if reset.
func (s *store) migrate(ctx context.Context, reset bool) error {
	return s.withConn(ctx, func(c *pgx.Conn) error {
		if reset {
			if _, err := c.Exec(ctx, schemaDrop); err != nil {
				return fmt.Errorf("pgref: drop: %w", err)
			}
		}
		if _, err := c.Exec(ctx, schemaCreate); err != nil {
			return fmt.Errorf("pgref: create: %w", err)
		}
		return nil
	})
}

// seed creates users u0..u(count-1) with balance; existing users keep
// theirs. It returns how many it created.
func (s *store) seed(ctx context.Context, count int, balance int64) (int64, error) {
	var created int64
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, sqlSeed, count, balance)
		created = tag.RowsAffected()
		return err
	})
	return created, err
}

// balance returns a user's balance; ok is false for an unknown user.
func (s *store) balance(ctx context.Context, user string) (balance int64, ok bool, err error) {
	err = s.withConn(ctx, func(c *pgx.Conn) error {
		err := c.QueryRow(ctx, sqlBalance, user).Scan(&balance)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		ok = err == nil
		return err
	})
	return balance, ok, err
}

// deduct debits amount from user once per reference, in one transaction.
func (s *store) deduct(ctx context.Context, user string, amount int64, reference string) (result, error) {
	var r result
	err := s.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var err error
			r, err = deductTx(ctx, tx, user, amount, reference)
			return err
		})
	})
	return r, err
}

func deductTx(ctx context.Context, tx pgx.Tx, user string, amount int64, reference string) (result, error) {
	tag, err := tx.Exec(ctx, sqlClaim, partnerName, opDeduct, reference, user, amount)
	if err != nil {
		return result{}, fmt.Errorf("pgref: claim reference: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return storedResult(ctx, tx, user, amount, reference)
	}
	r := result{Status: statusOK}
	err = tx.QueryRow(ctx, sqlDebit, user, amount).Scan(&r.Balance)
	if errors.Is(err, pgx.ErrNoRows) {
		r.Status = statusInsufficient
		err = tx.QueryRow(ctx, sqlBalance, user).Scan(&r.Balance)
		if errors.Is(err, pgx.ErrNoRows) {
			r, err = result{Status: statusUnknownUser}, nil
		}
	}
	if err != nil {
		return result{}, fmt.Errorf("pgref: debit: %w", err)
	}
	if _, err := tx.Exec(ctx, sqlRecord, partnerName, opDeduct, reference, r.Status, r.Balance); err != nil {
		return result{}, fmt.Errorf("pgref: record outcome: %w", err)
	}
	return r, nil
}

// storedResult answers a reference that already has a committed outcome.
func storedResult(ctx context.Context, tx pgx.Tx, user string, amount int64, reference string) (result, error) {
	var storedUser string
	var storedAmount int64
	var status *int16
	var balance *int64
	err := tx.QueryRow(ctx, sqlStored, partnerName, opDeduct, reference).Scan(&storedUser, &storedAmount, &status, &balance)
	if err != nil {
		return result{}, fmt.Errorf("pgref: read stored outcome: %w", err)
	}
	if storedUser != user || storedAmount != amount {
		return result{Status: statusConflict}, nil
	}
	if status == nil || balance == nil {
		// The outcome is written in the transaction that inserted the row.
		return result{}, fmt.Errorf("pgref: reference %q committed without an outcome", reference)
	}
	return result{Status: int(*status), Balance: *balance, Idempotent: *status == statusOK}, nil
}

func (s *store) withConn(ctx context.Context, f func(*pgx.Conn) error) error {
	c, err := s.pool.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.pool.release(c)
	return f(c)
}

// checkDurable refuses to serve unless a commit is flushed to disk before
// it is acknowledged: fsync=on and synchronous_commit=on.
func (s *store) checkDurable(ctx context.Context, log *slog.Logger) error {
	return s.withConn(ctx, func(c *pgx.Conn) error {
		settings := []any{}
		for _, name := range []string{"fsync", "synchronous_commit", "wal_sync_method", "server_version"} {
			var value string
			if err := c.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&value); err != nil {
				return fmt.Errorf("pgref: read %s: %w", name, err)
			}
			if (name == "fsync" || name == "synchronous_commit") && value != "on" {
				return fmt.Errorf("pgref: %s is %q; a comparison needs on", name, value)
			}
			settings = append(settings, slog.String(name, value))
		}
		log.Info("postgresql", settings...)
		return nil
	})
}
