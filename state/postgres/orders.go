package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// checkNS is the column that plans an order's next check: set for watched
// orders only.
func checkNS(o *state.Order) *int64 {
	if !o.Watched() || o.NextCheckAt.IsZero() {
		return nil
	}
	n := ns(o.NextCheckAt)
	return &n
}

// Create implements state.Store.
func (s *Store) Create(o *state.Order, jobs ...state.Job) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := state.PrepareNew(o, s.now()); err != nil {
		return err
	}
	data, err := json.Marshal(o)
	if err != nil {
		return err
	}
	ctx, cancel := opCtx()
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return s.insertOrderWithJobs(ctx, tx, o, data, jobs)
	})
}

// insertOrderWithJobs inserts a new order and its jobs in tx.
func (s *Store) insertOrderWithJobs(ctx context.Context, tx pgx.Tx, o *state.Order, data []byte, jobs []state.Job) error {
	if err := insertOrder(ctx, tx, o, data); err != nil {
		return err
	}
	for _, j := range jobs {
		if err := s.putJob(ctx, tx, j, o.Reference); err != nil {
			return err
		}
	}
	return addLedger(ctx, tx, o.Reference, state.LedgerChange(nil, o, o.CreatedAt))
}

// insertOrder writes a new order's row (ErrExists if the reference is
// taken).
func insertOrder(ctx context.Context, tx pgx.Tx, o *state.Order, data []byte) error {
	var link *string
	if o.Link != "" {
		link = &o.Link
	}
	tag, err := tx.Exec(ctx, `INSERT INTO orders (reference, status, created_ns, check_ns, link_id, reserved, data) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (reference) DO NOTHING`, o.Reference, string(o.Status), state.CreatedNS(o), checkNS(o), link, o.Payment.Reserved(), data)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return state.ErrExists
	}
	return nil
}

// Get implements state.Store.
func (s *Store) Get(ref string) (*state.Order, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var o *state.Order
	err := retryRead(ctx, func() error {
		var err error
		o, err = getOrder(ctx, s.pool, ref, false)
		return err
	})
	return o, unavailable(err)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getOrder(ctx context.Context, q querier, ref string, forUpdate bool) (*state.Order, error) {
	sql := `SELECT data FROM orders WHERE reference = $1`
	if forUpdate {
		sql += ` FOR UPDATE`
	}
	var data []byte
	if err := q.QueryRow(ctx, sql, ref).Scan(&data); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, state.ErrNotFound
		}
		return nil, unavailable(err)
	}
	o, err := decodeOrder(data)
	if err != nil {
		return nil, fmt.Errorf("decoding order %s: %w", ref, err)
	}
	return o, nil
}

// scanOrder reads a row of one column, an order's stored JSON.
func scanOrder(row pgx.CollectableRow) (*state.Order, error) {
	var data []byte
	if err := row.Scan(&data); err != nil {
		return nil, err
	}
	return decodeOrder(data)
}

// decodeOrder reads an order's stored JSON.
func decodeOrder(data []byte) (*state.Order, error) {
	var o state.Order
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Update implements state.Store: the order's row is locked (SELECT … FOR
// UPDATE) for the transition, so callers on every instance take turns.
func (s *Store) Update(ref string, src state.Source, fn func(o *state.Order, tx *state.Tx) error) (*state.Order, bool, error) {
	return s.update(ref, src, false, fn)
}

// RecordCreated implements state.Store: a transition like any other, whose
// commit does not wait for the WAL to reach the disk (synchronous_commit
// off for this one transaction). A crash of the server may lose it, never
// corrupt anything or reorder it after a later commit; see state.Store for
// why nothing is lost with it.
func (s *Store) RecordCreated(ref string, a state.CreateAnswer) error {
	_, _, err := s.update(ref, state.SourceCheckout, true, a.Record)
	return err
}

// update is Update; with lazy, the commit is not waited for on disk.
func (s *Store) update(ref string, src state.Source, lazy bool, fn func(o *state.Order, tx *state.Tx) error) (*state.Order, bool, error) {
	if err := s.enter(); err != nil {
		return nil, false, err
	}
	defer s.leave()
	mu := s.lock(ref)
	mu.Lock()
	defer mu.Unlock()
	ctx, cancel := opCtx()
	defer cancel()
	var (
		result  *state.Order
		changed bool
	)
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		result, changed = nil, false
		if lazy {
			if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		cur, err := getOrder(ctx, tx, ref, true)
		if err != nil {
			return err
		}
		// jsonb keeps no bytes as written: Transition encodes cur itself.
		res, err := state.Transition(cur, nil, src, s.now().UTC(), s.history, fn)
		if err != nil {
			return err
		}
		if res.Empty() {
			result = cur
			return nil
		}
		if res.OrderChanged {
			if _, err := tx.Exec(ctx, `UPDATE orders SET status = $2, check_ns = $3, reserved = $4, data = $5 WHERE reference = $1`,
				ref, string(res.After.Status), checkNS(res.After), res.After.Payment.Reserved(), res.Encoded); err != nil {
				return err
			}
		}
		for _, j := range res.Tx.Jobs() {
			if err := s.putJob(ctx, tx, j, ref); err != nil {
				return err
			}
		}
		for _, id := range res.Tx.Dropped() {
			if _, err := tx.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, id); err != nil {
				return err
			}
		}
		if b, ttl := res.Tx.Buyer(); b != nil {
			if err := s.putBuyer(ctx, tx, ref, *b, ttl); err != nil {
				return err
			}
		}
		if res.OrderChanged {
			// Last: the ledger's row stays locked until the commit.
			if err := addLedger(ctx, tx, ref, state.LedgerChange(cur, res.After, res.After.UpdatedAt)); err != nil {
				return err
			}
		}
		result, changed = res.After, res.OrderChanged
		return nil
	})
	if err != nil {
		if result == nil {
			if cur, gerr := getOrder(ctx, s.pool, ref, false); gerr == nil {
				result = cur
			}
		}
		return result, false, err
	}
	return result, changed, nil
}

// List implements state.Store: newest first, then by reference, with the
// same cursors as the Badger engine.
func (s *Store) List(cursor string, limit int, f state.ListFilter) ([]*state.Order, string, error) {
	if err := s.enter(); err != nil {
		return nil, "", err
	}
	defer s.leave()
	if limit <= 0 {
		limit = 50
	}
	sql := `SELECT data FROM orders WHERE true`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if cursor != "" {
		cns, cref, err := state.ParseCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		sql += fmt.Sprintf(` AND (created_ns < %s OR (created_ns = %s AND reference > %s))`, arg(cns), arg(cns), arg(cref))
	}
	if f.Link != "" {
		if len(f.Status) > 0 {
			return nil, "", state.ErrInvalidFilter
		}
		sql += ` AND link_id = ` + arg(f.Link)
	}
	if len(f.Status) > 0 {
		var sts []string
		for _, st := range f.Status {
			if !slices.Contains(state.AllStatuses, st) {
				return nil, "", fmt.Errorf("unknown status %q", st)
			}
			sts = append(sts, string(st))
		}
		sql += ` AND status = ANY(` + arg(sts) + `)`
	}
	if !f.From.IsZero() {
		sql += ` AND created_ns >= ` + arg(ns(f.From))
	}
	if !f.To.IsZero() {
		sql += ` AND created_ns <= ` + arg(ns(f.To))
	}
	sql += ` ORDER BY created_ns DESC, reference LIMIT ` + arg(limit+1)
	ctx, cancel := opCtx()
	defer cancel()
	var orders []*state.Order
	err := retryRead(ctx, func() error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		orders, err = pgx.CollectRows(rows, scanOrder)
		return err
	})
	if err != nil {
		return nil, "", unavailable(err)
	}
	next := ""
	if len(orders) > limit {
		orders = orders[:limit]
		next = state.CursorOf(orders[limit-1])
	}
	return orders, next, nil
}

// ClaimChecks implements state.Store: due checks are taken with FOR UPDATE
// SKIP LOCKED, so pollers on several instances share them, and leased.
func (s *Store) ClaimChecks(now time.Time, lease time.Duration, max int) ([]string, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var refs []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE orders SET check_ns = $2
			WHERE reference IN (SELECT reference FROM orders WHERE check_ns <= $1 ORDER BY check_ns LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING reference`, ns(now), ns(now.Add(lease)), max)
		if err != nil {
			return err
		}
		refs, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return refs, err
}
