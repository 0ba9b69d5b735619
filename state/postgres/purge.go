package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// PurgeAbandoned implements state.Store: candidates are taken oldest first
// with FOR UPDATE SKIP LOCKED (an order another instance is changing is
// left for the next round), read again as locked, and deleted in one
// transaction with their buyer details, jobs and their links' bookkeeping.
func (s *Store) PurgeAbandoned(before time.Time, max int) ([]string, error) {
	statuses := make([]string, len(state.AbandonedStatuses))
	for i, st := range state.AbandonedStatuses {
		statuses[i] = string(st)
	}
	var gone []string
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		gone = gone[:0]
		rows, err := tx.Query(ctx, `SELECT reference, data FROM orders WHERE status = ANY($1) AND created_ns < $2
			ORDER BY created_ns LIMIT $3 FOR UPDATE SKIP LOCKED`, statuses, ns(before), max)
		if err != nil {
			return err
		}
		links := map[string][]string{}
		for rows.Next() {
			var (
				ref  string
				data []byte
				o    state.Order
			)
			if err := rows.Scan(&ref, &data); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal(data, &o); err != nil {
				rows.Close()
				return err
			}
			if !state.PurgeableBefore(&o, before) {
				continue
			}
			gone = append(gone, ref)
			if o.Link != "" {
				links[o.Link] = append(links[o.Link], ref)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(gone) == 0 {
			return err
		}
		for _, q := range []string{
			`DELETE FROM orders WHERE reference = ANY($1)`,
			`DELETE FROM buyers WHERE reference = ANY($1)`,
			`DELETE FROM jobs WHERE data->>'ref' = ANY($1)`,
		} {
			if _, err := tx.Exec(ctx, q, gone); err != nil {
				return err
			}
		}
		for id, refs := range links {
			var data []byte
			err := tx.QueryRow(ctx, `SELECT data FROM links WHERE id = $1 FOR UPDATE`, id).Scan(&data)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			var l state.Link
			if err := json.Unmarshal(data, &l); err != nil {
				return err
			}
			for _, ref := range refs {
				state.ForgetOrderIn(&l, ref)
			}
			if data, err = json.Marshal(&l); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE links SET data = $2 WHERE id = $1`, id, data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return gone, nil
}

// CountEvent implements state.Store: one statement counts, starting the
// window again once it is over, so instances counting at once add up.
func (s *Store) CountEvent(key string, window time.Duration) (int, error) {
	var n int
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := ns(s.now())
		return tx.QueryRow(ctx, `INSERT INTO counters (key_hash, ends_ns, count) VALUES ($1, $2, 1)
			ON CONFLICT (key_hash) DO UPDATE SET
				count = CASE WHEN counters.ends_ns <= $3 THEN 1 ELSE counters.count + 1 END,
				ends_ns = CASE WHEN counters.ends_ns <= $3 THEN EXCLUDED.ends_ns ELSE counters.ends_ns END
			RETURNING count`, state.Hash(key), now+int64(window), now).Scan(&n)
	})
	return n, err
}
