package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// CreateLink implements state.Store.
func (s *Store) CreateLink(l *state.Link) error {
	if l.ID == "" || l.Token == "" {
		return errors.New("a link needs an id and a token")
	}
	if l.CreatedAt.IsZero() {
		l.CreatedAt = s.now().UTC()
	}
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	err = s.write(func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO links (id, token_hash, created_ns, data) VALUES ($1, $2, $3, $4)`,
			l.ID, state.Hash(l.Token), state.LinkCreatedNS(l), data)
		return err
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return state.ErrExists
	}
	return err
}

// GetLink implements state.Store.
func (s *Store) GetLink(id string) (*state.Link, error) {
	return s.readLink(`SELECT data FROM links WHERE id = $1`, id)
}

// LinkByToken implements state.Store.
func (s *Store) LinkByToken(tokenHash string) (*state.Link, error) {
	return s.readLink(`SELECT data FROM links WHERE token_hash = $1`, tokenHash)
}

func (s *Store) readLink(sql, arg string) (*state.Link, error) {
	var l state.Link
	err := s.read(func(ctx context.Context) error {
		var data []byte
		err := s.pool.QueryRow(ctx, sql, arg).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return state.ErrNotFound
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(data, &l)
	})
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// ListLinks implements state.Store: newest first, then by ID.
func (s *Store) ListLinks(cursor string, limit int) ([]*state.Link, string, error) {
	if limit <= 0 {
		limit = 50
	}
	sql := `SELECT data FROM links`
	args := []any{}
	if cursor != "" {
		cns, cid, err := state.ParseCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		sql += ` WHERE created_ns < $1 OR (created_ns = $1 AND id > $2)`
		args = append(args, cns, cid)
	}
	sql += fmt.Sprintf(` ORDER BY created_ns DESC, id LIMIT %d`, limit+1)
	var links []*state.Link
	err := s.read(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		links, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*state.Link, error) {
			var data []byte
			if err := row.Scan(&data); err != nil {
				return nil, err
			}
			var l state.Link
			return &l, json.Unmarshal(data, &l)
		})
		return err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(links) > limit {
		links = links[:limit]
		next = state.LinkCursorOf(links[limit-1])
	}
	return links, next, nil
}

// UpdateLink implements state.Store.
func (s *Store) UpdateLink(id string, fn func(l *state.Link) error) (*state.Link, error) {
	return s.changeLink(id, func(_ context.Context, _ pgx.Tx, l *state.Link) error { return fn(l) })
}

// CreateLinkOrder implements state.Store: the link's row is locked for the
// transaction, so orders for one link are decided one after the other on
// every instance.
func (s *Store) CreateLinkOrder(id string, o *state.Order, fn func(l *state.Link, holder *state.Order) error, jobs ...state.Job) (*state.Link, error) {
	o.Link = id
	if err := state.PrepareNew(o, s.now()); err != nil {
		return nil, err
	}
	data, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	return s.changeLink(id, func(ctx context.Context, tx pgx.Tx, l *state.Link) error {
		var holder *state.Order
		if l.Holder != "" {
			h, err := getOrder(ctx, tx, l.Holder, false)
			if err != nil && !errors.Is(err, state.ErrNotFound) {
				return err
			}
			holder = h
		}
		if err := fn(l, holder); err != nil {
			return err
		}
		return s.insertOrderWithJobs(ctx, tx, o, data, jobs)
	})
}

// changeLink runs fn on link id with its row locked for the transaction,
// and writes the link unless fn fails.
func (s *Store) changeLink(id string, fn func(ctx context.Context, tx pgx.Tx, l *state.Link) error) (*state.Link, error) {
	var out *state.Link
	err := s.write(func(ctx context.Context, tx pgx.Tx) error {
		var data []byte
		err := tx.QueryRow(ctx, `SELECT data FROM links WHERE id = $1 FOR UPDATE`, id).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return state.ErrNotFound
		}
		if err != nil {
			return err
		}
		var l state.Link
		if err := json.Unmarshal(data, &l); err != nil {
			return err
		}
		if err := fn(ctx, tx, &l); err != nil {
			return err
		}
		if data, err = json.Marshal(&l); err != nil {
			return err
		}
		out = &l
		_, err = tx.Exec(ctx, `UPDATE links SET data = $2 WHERE id = $1`, l.ID, data)
		return err
	})
	return out, err
}
