package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// putBuyer writes buyer details that vanish after ttl (inside the caller's
// transaction). PostgreSQL has no TTL: reads skip what expired, and Purge
// deletes it.
func (s *Store) putBuyer(ctx context.Context, tx pgx.Tx, ref string, b state.Buyer, ttl time.Duration) error {
	data, err := json.Marshal(b)
	if err != nil {
		return err
	}
	var expires *int64
	if ttl > 0 {
		e := ns(s.now().Add(ttl))
		expires = &e
	}
	_, err = tx.Exec(ctx, `INSERT INTO buyers (reference, expires_ns, data) VALUES ($1, $2, $3)
		ON CONFLICT (reference) DO UPDATE SET expires_ns = EXCLUDED.expires_ns, data = EXCLUDED.data`, ref, expires, data)
	return err
}

// PutBuyer implements state.Store.
func (s *Store) PutBuyer(ref string, b state.Buyer, ttl time.Duration) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error { return s.putBuyer(ctx, tx, ref, b, ttl) })
}

// Buyer implements state.Store.
func (s *Store) Buyer(ref string) (*state.Buyer, error) {
	var b state.Buyer
	err := s.read(func(ctx context.Context) error {
		var data []byte
		err := s.pool.QueryRow(ctx, `SELECT data FROM buyers WHERE reference = $1 AND (expires_ns IS NULL OR expires_ns > $2)`, ref, ns(s.now())).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return state.ErrNotFound
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(data, &b)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// EraseBuyer implements state.Store.
func (s *Store) EraseBuyer(ref string) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM buyers WHERE reference = $1`, ref)
		return err
	})
}

// GetMeta implements state.Store.
func (s *Store) GetMeta(key string) ([]byte, error) {
	var v []byte
	err := s.read(func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			return state.ErrNotFound
		}
		return err
	})
	return v, err
}

// PutMeta implements state.Store.
func (s *Store) PutMeta(key string, v []byte) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, v)
		return err
	})
}

// BeginRequest implements state.Store. A new key's row is claimed with an
// insert first, so two instances starting the same key cannot both begin.
func (s *Store) BeginRequest(key, fingerprint, ref string, inFlight time.Duration) (*state.KeyedRequest, bool, error) {
	var (
		rec   state.KeyedRequest
		fresh bool
	)
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		now := s.now().UTC()
		first, _, _ := state.DecideRequest(nil, key, fingerprint, ref, now, inFlight)
		data, err := json.Marshal(first)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO requests (key_hash, expires_ns, data) VALUES ($1, $2, $3) ON CONFLICT (key_hash) DO NOTHING`,
			state.Hash(key), ns(first.ExpiresAt), data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			rec, fresh = first, true
			return nil
		}
		var stored state.KeyedRequest
		if err := tx.QueryRow(ctx, `SELECT data FROM requests WHERE key_hash = $1 FOR UPDATE`, state.Hash(key)).Scan(&data); err != nil {
			return err
		}
		if err := json.Unmarshal(data, &stored); err != nil {
			return err
		}
		rec, fresh, err = state.DecideRequest(&stored, key, fingerprint, ref, now, inFlight)
		if err != nil || !fresh {
			return err
		}
		return putRequest(ctx, tx, rec)
	})
	if err != nil {
		return nil, false, err
	}
	return &rec, fresh, nil
}

func putRequest(ctx context.Context, tx pgx.Tx, rec state.KeyedRequest) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE requests SET expires_ns = $2, data = $3 WHERE key_hash = $1`, state.Hash(rec.Key), ns(rec.ExpiresAt), data)
	return err
}

// AnswerRequest implements state.Store.
func (s *Store) AnswerRequest(key string, a state.Answer) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		err := tx.QueryRow(ctx, `SELECT data FROM requests WHERE key_hash = $1 FOR UPDATE`, state.Hash(key)).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return state.ErrNotFound
		}
		if err != nil {
			return err
		}
		var rec state.KeyedRequest
		if err := json.Unmarshal(data, &rec); err != nil {
			return err
		}
		return putRequest(ctx, tx, rec.WithAnswer(a, s.now().UTC()))
	})
}

// ForgetRequest implements state.Store.
func (s *Store) ForgetRequest(key string) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM requests WHERE key_hash = $1`, state.Hash(key))
		return err
	})
}

// SeenSignature implements state.Store.
func (s *Store) SeenSignature(sig string) (bool, error) {
	var seen bool
	err := s.read(func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signatures WHERE sig_hash = $1 AND expires_ns > $2)`, state.Hash(sig), ns(s.now())).Scan(&seen)
	})
	return seen, err
}

// RememberSignature implements state.Store.
func (s *Store) RememberSignature(sig string, until time.Time) error {
	return s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO signatures (sig_hash, expires_ns) VALUES ($1, $2)
			ON CONFLICT (sig_hash) DO UPDATE SET expires_ns = EXCLUDED.expires_ns`, state.Hash(sig), ns(until))
		return err
	})
}

// Exclusive implements state.Store with a session advisory lock, held on
// one connection for as long as fn runs.
func (s *Store) Exclusive(ctx context.Context, name string, fn func() error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return unavailable(err)
	}
	defer conn.Release()
	key := "caddy-vipps:" + s.schema + ":" + name
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		return unavailable(err)
	}
	defer func() {
		uctx, cancel := opCtx()
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
			// A lock that could not be released dies with its connection.
			_ = conn.Conn().Close(uctx)
		}
	}()
	return fn()
}

// Purge deletes what has expired: buyer details past their retention,
// merchants' keys, webhook signatures and event counts past their time. PostgreSQL has no
// TTL; the shop calls this periodically.
func (s *Store) Purge(now time.Time) (int64, error) {
	var n int64
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM buyers WHERE expires_ns IS NOT NULL AND expires_ns <= $1`,
			`DELETE FROM requests WHERE expires_ns <= $1`,
			`DELETE FROM signatures WHERE expires_ns <= $1`,
			`DELETE FROM counters WHERE ends_ns <= $1`,
		} {
			tag, err := tx.Exec(ctx, q, ns(now))
			if err != nil {
				return err
			}
			n += tag.RowsAffected()
		}
		// Commits' tokens are bookkeeping, not counted: a lost commit's
		// outcome is asked within seconds, and a day is plenty.
		_, err := tx.Exec(ctx, `DELETE FROM commit_tokens WHERE at_ns <= $1`, ns(now.Add(-24*time.Hour)))
		return err
	})
	return n, err
}

// read runs a read with the store's call bounds, again on another
// connection when the one it got was broken.
func (s *Store) read(fn func(ctx context.Context) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	return unavailable(retryRead(ctx, func() error { return fn(ctx) }))
}

// retryRead repeats a read whose connection broke, a few times.
func retryRead(ctx context.Context, fn func() error) error {
	var err error
	for attempt := 0; attempt < 4; attempt++ {
		err = fn()
		if err == nil || !brokenConn(err) || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// write runs fn in a transaction with the store's call bounds.
func (s *Store) write(fn func(ctx context.Context, tx pgx.Tx) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	ctx, cancel := opCtx()
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error { return fn(ctx, tx) })
}
