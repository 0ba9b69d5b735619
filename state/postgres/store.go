// Package postgres is the PostgreSQL engine of the order store: for a shop
// that runs on several Caddy instances behind a load balancer (or two for a
// while, in a blue/green deploy). Every instance sees every order, one
// arbiter decides each order's changes across instances (a row lock), and
// background work is shared, never doubled (claims with FOR UPDATE SKIP
// LOCKED and a lease). It implements state.Store and passes the same
// contract tests as the embedded Badger engine.
//
// Each shop keeps its tables in a schema of its own, created and migrated
// at start from versioned SQL embedded in the binary.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a shop's order database in PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	schema  string
	now     func() time.Time
	history int
	log     *zap.Logger

	// locks serialise callers on one order in this process before the
	// row lock does across processes, so they wait here, not in the
	// database.
	locks [256]sync.Mutex

	gate   sync.RWMutex
	closed bool
}

var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string), creates the schema if needed and brings it to the newest
// version, one instance at a time.
func Open(ctx context.Context, dsn, schema string, opts state.Options) (*Store, error) {
	opts.Defaults()
	if !schemaPattern.MatchString(schema) {
		return nil, fmt.Errorf("schema %q: use lower-case letters, digits and '_'", schema)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// The DSN may hold a password: never repeat it.
		return nil, errors.New("the PostgreSQL connection string cannot be read")
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "caddy-vipps"
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	// Idle connections a restarted server left dead are found soon.
	cfg.HealthCheckPeriod = 10 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, unavailable(err)
	}
	s := &Store{pool: pool, schema: schema, now: opts.Now, history: opts.HistoryLimit, log: opts.Logger}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool once the calls in flight have returned.
func (s *Store) Close() error {
	s.gate.Lock()
	defer s.gate.Unlock()
	if !s.closed {
		s.closed = true
		s.pool.Close()
	}
	return nil
}

// Schema names the store's schema.
func (s *Store) Schema() string { return s.schema }

// Pool exposes the connection pool (tests, diagnostics).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// migrate creates the schema and applies the migrations it has not seen,
// under an advisory lock, so instances starting together apply each once.
func (s *Store) migrate(ctx context.Context) error {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	slices.Sort(files)
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "caddy-vipps-migrate:"+s.schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		versions, err := migrationVersions(files)
		if err != nil {
			return err
		}
		for i, f := range files {
			v := versions[i]
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, v).Scan(&done); err != nil {
				return err
			}
			if done {
				continue
			}
			sql, err := migrations.ReadFile(f)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return fmt.Errorf("migration %s: %w", f, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return err
			}
			s.log.Info("order database migrated", zap.String("schema", s.schema), zap.Int("version", v))
		}
		return nil
	})
}

// migrationVersions reads the version of each migration file (the number
// its name starts with), refusing a file without one and two files with
// the same one.
func migrationVersions(files []string) ([]int, error) {
	seen := map[int]string{}
	out := make([]int, len(files))
	for i, f := range files {
		v, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(f, "migrations/"), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: no version", f)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s have the same version %d", other, f, v)
		}
		seen[v], out[i] = f, v
	}
	return out, nil
}

// enter admits a call unless the store is closed.
func (s *Store) enter() error {
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
		return state.ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.gate.RUnlock() }

// opCtx bounds one call: a database that does not answer must not hold a
// buyer's request for ever.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// inTx runs fn in a transaction, again (with fresh data) after a
// serialization failure or a deadlock, and after a connection that broke
// before the commit was sent (a restarted server leaves the pool's idle
// connections dead: the transaction never happened, so it is run again on
// another). A commit whose answer was lost is not repeated: a transaction
// that changed anything also writes a token of its own just before its
// COMMIT, and the token tells on another connection whether the COMMIT was
// applied (see commitOutcome), so the caller hears the truth — done, not
// done, or ErrOutcomeUnknown when the database cannot even be asked.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var committing, wrote bool
		token := uuid.New()
		err = func() error {
			tx, err := s.pool.Begin(ctx)
			if err != nil {
				return err
			}
			defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
			if err := fn(tx); err != nil {
				return err
			}
			// Only a transaction that changed something (it has an id)
			// writes its token: a read has nothing to lose.
			err = tx.QueryRow(ctx, `INSERT INTO commit_tokens (token, at_ns) SELECT $1, $2
				WHERE txid_current_if_assigned() IS NOT NULL RETURNING true`, token, ns(s.now())).Scan(&wrote)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			committing = true
			return tx.Commit(ctx)
		}()
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01"):
			time.Sleep(time.Duration(attempt+1) * time.Millisecond)
			continue
		case err != nil && committing && lostAnswer(err) && !wrote:
			return nil // it only read, and what it read stands
		case err != nil && committing && lostAnswer(err):
			return s.commitOutcome(token, err)
		case err != nil && !committing && brokenConn(err) && attempt < 3 && ctx.Err() == nil:
			continue
		}
		break
	}
	return unavailable(err)
}

// lostAnswer reports whether a failed commit may have been applied: the
// server did not answer it (a broken connection, a timeout), as opposed
// to answering that it rolled back.
func lostAnswer(err error) bool {
	var pe *pgconn.PgError
	return !errors.Is(err, pgx.ErrTxCommitRollback) && !errors.As(err, &pe)
}

// commitOutcomeWait bounds how long commitOutcome asks.
var commitOutcomeWait = 10 * time.Second

// commitOutcome finds out, on another connection, whether the transaction
// that wrote token was applied after its COMMIT's answer was lost: nil
// when it was, ErrUnavailable when it was not (nothing was written),
// ErrOutcomeUnknown when the database cannot be asked in time.
//
// It tries to insert the same token. A committed transaction's token is
// there: the insert does nothing. One that rolled back — or was lost in a
// crash before its commit reached the disk — left none: the insert
// succeeds (and is rolled back). One still in progress (the server has
// not yet seen its connection break) holds the token's index entry: the
// insert waits until it ends either way. Unlike a transaction id, which a
// server restarted after a crash may hand out again, the token cannot be
// mistaken for another transaction's.
func (s *Store) commitOutcome(token uuid.UUID, cause error) error {
	ctx, cancel := context.WithTimeout(context.Background(), commitOutcomeWait)
	defer cancel()
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		applied, err := s.tokenCommitted(ctx, token)
		switch {
		case err == nil && applied:
			s.log.Warn("a commit's answer was lost; the database shows it applied", zap.Error(cause))
			return nil
		case err == nil:
			return fmt.Errorf("%w: the commit was not applied: %v", state.ErrUnavailable, cause)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", state.ErrOutcomeUnknown, cause)
		case <-time.After(wait):
		}
	}
}

// tokenCommitted reports whether a committed transaction wrote token (see
// commitOutcome).
func (s *Store) tokenCommitted(ctx context.Context, token uuid.UUID) (bool, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // only ever rolled back
	var inserted bool
	err = tx.QueryRow(ctx, `INSERT INTO commit_tokens (token, at_ns) VALUES ($1, 0) ON CONFLICT (token) DO NOTHING RETURNING true`, token).Scan(&inserted)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// brokenConn reports errors of a connection that broke or could not be had,
// as opposed to an answer from the server.
func brokenConn(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01"
	}
	var ne net.Error
	return pgconn.SafeToRetry(err) || errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// unavailable marks errors that say the database cannot be reached, so the
// shop answers 503 ("try again") rather than 500.
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.Is(err, state.ErrUnavailable):
		return err
	case errors.As(err, &pe):
		// The server answered. Only "cannot connect now" classes count.
		if strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P03" {
			return fmt.Errorf("%w: %s", state.ErrUnavailable, pe.Message)
		}
		return err
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded), pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return fmt.Errorf("%w: %v", state.ErrUnavailable, err)
	}
	return err
}

func (s *Store) lock(ref string) *sync.Mutex {
	h := uint32(2166136261)
	for i := 0; i < len(ref); i++ {
		h = (h ^ uint32(ref[i])) * 16777619
	}
	return &s.locks[h%uint32(len(s.locks))]
}

func ns(t time.Time) int64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return n
}

// Interface guard
var _ state.Store = (*Store)(nil)
