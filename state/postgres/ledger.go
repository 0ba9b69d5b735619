package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// addLedger adds an order's change to its row of the ledger in tx (see
// state.LedgerRow and state.LedgerShard). The row stays locked until tx
// commits, so callers write it last.
func addLedger(ctx context.Context, tx pgx.Tx, ref string, change state.LedgerRow) error {
	if change.Empty() {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO ledger (hour_ns, shard, captured, refunded, orders) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hour_ns, shard) DO UPDATE SET captured = ledger.captured + EXCLUDED.captured,
			refunded = ledger.refunded + EXCLUDED.refunded, orders = ledger.orders + EXCLUDED.orders`,
		ns(change.Hour), state.LedgerShard(ref), change.Captured, change.Refunded, change.Orders)
	return err
}

// Ledger implements state.Store.
func (s *Store) Ledger(from, to time.Time) ([]state.LedgerRow, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var out []state.LedgerRow
	err := retryRead(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT hour_ns, sum(captured)::bigint, sum(refunded)::bigint, sum(orders)::bigint FROM ledger
			WHERE hour_ns >= $1 AND hour_ns < $2 GROUP BY hour_ns ORDER BY hour_ns`, ns(from), ns(to))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (state.LedgerRow, error) {
			var (
				r    state.LedgerRow
				hour int64
			)
			err := row.Scan(&hour, &r.Captured, &r.Refunded, &r.Orders)
			r.Hour = time.Unix(0, hour).UTC()
			return r, err
		})
		return err
	})
	return out, unavailable(err)
}

// Oldest implements state.Store: orders to ship through the partial index
// on the money reserved, orders waiting through the status index.
func (s *Store) Oldest(b state.Backlog, limit int) ([]*state.Order, int, error) {
	var where string
	switch b {
	case state.BacklogToShip:
		where = `reserved > 0`
	case state.BacklogWaiting:
		where = `status IN ('new', 'pending')`
	default:
		return nil, 0, fmt.Errorf("unknown backlog %q", b)
	}
	if err := s.enter(); err != nil {
		return nil, 0, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var (
		orders []*state.Order
		count  int
	)
	err := retryRead(ctx, func() error {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM orders WHERE `+where).Scan(&count); err != nil {
			return err
		}
		rows, err := s.pool.Query(ctx, `SELECT data FROM orders WHERE `+where+` ORDER BY created_ns, reference LIMIT $1`, limit)
		if err != nil {
			return err
		}
		orders, err = pgx.CollectRows(rows, scanOrder)
		return err
	})
	if err != nil {
		return nil, 0, unavailable(err)
	}
	return orders, count, nil
}
