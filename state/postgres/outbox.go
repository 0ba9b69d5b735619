package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// putJob writes a job (inside the caller's transaction).
func (s *Store) putJob(ctx context.Context, tx pgx.Tx, j state.Job, ref string) error {
	if j.Ref == "" {
		j.Ref = ref
	}
	j.Prepare(s.now())
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO jobs (id, available_ns, dead, data) VALUES ($1, $2, false, $3)
		ON CONFLICT (id) DO UPDATE SET available_ns = EXCLUDED.available_ns, dead = false, data = EXCLUDED.data`,
		j.ID, ns(j.AvailableAt()), data)
	return err
}

// ClaimJobs implements state.Store: due jobs are taken with FOR UPDATE SKIP
// LOCKED, so workers on several instances never hold one job, and leased.
func (s *Store) ClaimJobs(now time.Time, lease time.Duration, max int) ([]state.Job, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var claimed []state.Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		claimed = claimed[:0]
		rows, err := tx.Query(ctx, `SELECT data FROM jobs WHERE NOT dead AND available_ns <= $1
			ORDER BY available_ns LIMIT $2 FOR UPDATE SKIP LOCKED`, ns(now), max)
		if err != nil {
			return err
		}
		jobs, err := pgx.CollectRows(rows, scanJob)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			j.Lease(now.Add(lease))
			if err := updateJob(ctx, tx, j, false); err != nil {
				return err
			}
			claimed = append(claimed, j)
		}
		return nil
	})
	return claimed, err
}

func scanJob(row pgx.CollectableRow) (state.Job, error) {
	var data []byte
	if err := row.Scan(&data); err != nil {
		return state.Job{}, err
	}
	var j state.Job
	return j, json.Unmarshal(data, &j)
}

func updateJob(ctx context.Context, tx pgx.Tx, j state.Job, dead bool) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE jobs SET available_ns = $2, dead = $3, data = $4 WHERE id = $1`, j.ID, ns(j.AvailableAt()), dead, data)
	return err
}

// takeJob runs fn on a stored live job, locked; a job that is gone is not
// an error.
func (s *Store) takeJob(id string, fn func(ctx context.Context, tx pgx.Tx, j *state.Job) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var data []byte
		err := tx.QueryRow(ctx, `SELECT data FROM jobs WHERE id = $1 AND NOT dead FOR UPDATE`, id).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var j state.Job
		if err := json.Unmarshal(data, &j); err != nil {
			return err
		}
		return fn(ctx, tx, &j)
	})
}

// CompleteJob implements state.Store (also from the dead-letter list).
func (s *Store) CompleteJob(j state.Job) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, j.ID)
		return err
	})
}

// RetryJob implements state.Store.
func (s *Store) RetryJob(j state.Job, cause error, next time.Time) error {
	return s.takeJob(j.ID, func(ctx context.Context, tx pgx.Tx, cur *state.Job) error {
		cur.Reschedule(cause, next)
		return updateJob(ctx, tx, *cur, false)
	})
}

// DeadJob implements state.Store.
func (s *Store) DeadJob(j state.Job, cause error) error {
	return s.takeJob(j.ID, func(ctx context.Context, tx pgx.Tx, cur *state.Job) error {
		cur.Bury(cause)
		return updateJob(ctx, tx, *cur, true)
	})
}

// PendingJobs implements state.Store.
func (s *Store) PendingJobs() ([]state.Job, error) { return s.jobs(false) }

// DeadJobs implements state.Store.
func (s *Store) DeadJobs() ([]state.Job, error) { return s.jobs(true) }

func (s *Store) jobs(dead bool) ([]state.Job, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	var jobs []state.Job
	err := retryRead(ctx, func() error {
		rows, err := s.pool.Query(ctx, `SELECT data FROM jobs WHERE dead = $1 ORDER BY id`, dead)
		if err != nil {
			return err
		}
		jobs, err = pgx.CollectRows(rows, scanJob)
		return err
	})
	return jobs, unavailable(err)
}
