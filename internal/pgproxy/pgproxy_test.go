package pgproxy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/caddy-vipps/caddy-vipps/internal/pgtest"
)

// cluster is the throwaway PostgreSQL of these tests (nil, with
// clusterErr, when it could not start: the tests then fail).
var (
	cluster    *pgtest.Cluster
	clusterErr error
)

func TestMain(m *testing.M) {
	cluster, clusterErr = pgtest.Start()
	code := m.Run()
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

// fixture is a database of its own with a table t(n int), a proxy in front
// of the server, and a direct connection to look behind the proxy's back.
type fixture struct {
	proxy  *Proxy
	dsn    string // through the proxy
	direct *pgx.Conn
}

// databases numbers the tests' databases, so -count runs them again.
var databases atomic.Int32

func setup(t *testing.T, rate float64) *fixture {
	t.Helper()
	if clusterErr != nil {
		t.Fatalf("PostgreSQL: %v", clusterErr)
	}
	db, err := cluster.CreateDatabase(fmt.Sprintf("%s_%d", strings.ToLower(t.Name()), databases.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(Options{Target: fmt.Sprintf("127.0.0.1:%d", cluster.Port()), CutRate: rate, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dsn, err := p.DSN(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	direct, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close(ctx) })
	if _, err := direct.Exec(ctx, `CREATE TABLE t (n int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	return &fixture{proxy: p, dsn: dsn, direct: direct}
}

func (f *fixture) connect(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.dsn)
	if err != nil {
		t.Fatalf("connecting through the proxy: %v", err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func (f *fixture) rows(t *testing.T, n int) int {
	t.Helper()
	var count int
	if err := f.direct.QueryRow(context.Background(), `SELECT count(*) FROM t WHERE n = $1`, n).Scan(&count); err != nil {
		t.Fatal(err)
	}
	return count
}

// insert runs INSERT n and COMMIT in a pgx transaction (tx.Commit sends the
// simple query "commit").
func insert(ctx context.Context, conn *pgx.Conn, n int) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit it does nothing
	if _, err := tx.Exec(ctx, `INSERT INTO t (n) VALUES ($1)`, n); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// brokenConnection reports whether err is the client's view of a lost
// answer: no answer from the server, and a connection that is gone.
func brokenConnection(t *testing.T, err error, conn *pgx.Conn) {
	t.Helper()
	var pe *pgconn.PgError
	switch {
	case err == nil:
		t.Fatal("the commit answered as if nothing happened")
	case errors.As(err, &pe):
		t.Fatalf("the server's answer came through: %v", err)
	case !conn.IsClosed():
		t.Fatalf("the connection is still open after %v", err)
	}
}

// TestCutCommitIsAppliedAndItsAnswerLost: with every COMMIT cut, pgx's
// Commit fails with a broken connection, yet the row is there for another
// connection: the transaction was applied, only its answer was lost.
func TestCutCommitIsAppliedAndItsAnswerLost(t *testing.T) {
	f := setup(t, 1)
	conn := f.connect(t)
	ctx := context.Background()
	// Statements outside a COMMIT pass, in both protocols.
	var one int
	if err := conn.QueryRow(ctx, `SELECT $1::int`, 1).Scan(&one); err != nil || one != 1 {
		t.Fatalf("a query through the proxy: %d, %v", one, err)
	}
	err := insert(ctx, conn, 7)
	brokenConnection(t, err, conn)
	if f.rows(t, 7) != 1 {
		t.Fatal("the cut COMMIT was not applied")
	}
	if s := f.proxy.Stats(); s.Cut != 1 || s.Passed != 0 {
		t.Fatalf("stats %+v, want 1 cut", s)
	}
	// The next client gets a working connection.
	if err := f.connect(t).QueryRow(ctx, `SELECT 2`).Scan(&one); err != nil || one != 2 {
		t.Fatalf("a new connection after the cut: %d, %v", one, err)
	}
}

// TestPassedCommitIsAnswered: with no COMMIT cut, everything passes, the
// connection stays usable, and a client asking for TLS (sslmode=prefer) is
// refused it by the proxy and goes on in plain text.
func TestPassedCommitIsAnswered(t *testing.T) {
	f := setup(t, 0)
	f.dsn = f.dsn[:len(f.dsn)-len("disable")] + "prefer"
	conn := f.connect(t)
	ctx := context.Background()
	for n := range 3 {
		if err := insert(ctx, conn, n); err != nil {
			t.Fatalf("commit %d: %v", n, err)
		}
		if f.rows(t, n) != 1 {
			t.Fatalf("row %d missing", n)
		}
	}
	if s := f.proxy.Stats(); s.Cut != 0 || s.Passed != 3 {
		t.Fatalf("stats %+v, want 3 passed", s)
	}
	// A server error is answered, not cut: a COMMIT of a failed
	// transaction (the server answers ROLLBACK) passes as well.
	tx, _ := conn.Begin(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO t (n) VALUES (0)`); err == nil {
		t.Fatal("a duplicate key was accepted")
	}
	if err := tx.Commit(ctx); !errors.Is(err, pgx.ErrTxCommitRollback) {
		t.Fatalf("commit of a failed transaction: %v", err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("after the rollback: %d rows, %v", n, err)
	}
}

// TestExtendedProtocolCommit: a COMMIT sent as Parse/Bind/Execute/Sync, in
// the unnamed statement and in a named prepared one, is cut like a simple
// query: applied, and its answer lost.
func TestExtendedProtocolCommit(t *testing.T) {
	f := setup(t, 1)
	ctx := context.Background()
	for i, run := range []func(*pgconn.PgConn) error{
		func(c *pgconn.PgConn) error {
			return c.ExecParams(ctx, "COMMIT;", nil, nil, nil, nil).Read().Err
		},
		func(c *pgconn.PgConn) error {
			if _, err := c.Prepare(ctx, "finish", " commit work ", nil); err != nil {
				return fmt.Errorf("prepare: %w", err)
			}
			return c.ExecPrepared(ctx, "finish", nil, nil, nil).Read().Err
		},
	} {
		conn := f.connect(t)
		c := conn.PgConn()
		n := 100 + i
		if err := c.Exec(ctx, fmt.Sprintf("BEGIN; INSERT INTO t (n) VALUES (%d)", n)).Close(); err != nil {
			t.Fatal(err)
		}
		err := run(c)
		var pe *pgconn.PgError
		if err == nil || errors.As(err, &pe) || !c.IsClosed() {
			t.Fatalf("extended COMMIT %d: %v (closed %v)", i, err, c.IsClosed())
		}
		if f.rows(t, n) != 1 {
			t.Fatalf("extended COMMIT %d was not applied", i)
		}
	}
	if s := f.proxy.Stats(); s.Cut != 2 {
		t.Fatalf("stats %+v, want 2 cut", s)
	}
}

// TestShareOfCommitsCut: at a rate of one half, some COMMITs are cut and
// some pass, the counts add up, and every COMMIT — cut or not — was applied.
func TestShareOfCommitsCut(t *testing.T) {
	f := setup(t, 0.5)
	ctx := context.Background()
	const total = 40
	conn := f.connect(t)
	broken := 0
	for n := range total {
		err := insert(ctx, conn, n)
		if err != nil {
			brokenConnection(t, err, conn)
			broken++
			conn = f.connect(t)
		}
	}
	var applied int
	if err := f.direct.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	s := f.proxy.Stats()
	if applied != total || s.Cut+s.Passed != total || s.Cut != int64(broken) || s.Cut == 0 || s.Passed == 0 {
		t.Fatalf("applied %d of %d, %d broken, stats %+v", applied, total, broken, s)
	}
	t.Logf("%d COMMITs: %d cut, %d passed, all applied", total, s.Cut, s.Passed)
}

func TestIsCommit(t *testing.T) {
	for sql, want := range map[string]bool{
		"commit":                  true,
		"COMMIT":                  true,
		" Commit ; ":              true,
		"commit;;":                true,
		"COMMIT WORK":             true,
		"commit transaction":      true,
		"end":                     true,
		"COMMIT AND NO CHAIN":     true,
		"":                        false,
		"begin":                   false,
		"rollback":                false,
		"commit prepared 'x'":     false,
		"select 'commit'":         false,
		"insert into t values(1)": false,
		"commit; select 1":        false,
		"committed":               false,
	} {
		if got := isCommit(sql); got != want {
			t.Errorf("isCommit(%q) = %v, want %v", sql, got, want)
		}
	}
}

// TestBlackoutAfterCut: a cut armed for a blackout closes every other
// connection too and refuses new ones for its length, so the client cannot
// ask whether its COMMIT was applied; afterwards connections work again,
// and the COMMIT had been applied all along.
func TestBlackoutAfterCut(t *testing.T) {
	f := setup(t, 1)
	f.proxy.BlackoutAfterCuts(1, 2*time.Second)
	ctx := context.Background()
	conn, bystander := f.connect(t), f.connect(t)
	start := time.Now()
	brokenConnection(t, insert(ctx, conn, 1), conn)
	// The blackout began before the client saw its connection break, so
	// it is over two seconds from now at the latest.
	over := time.Now().Add(2 * time.Second)
	var one int
	if err := bystander.QueryRow(ctx, `SELECT 1`).Scan(&one); err == nil {
		t.Fatal("a connection opened before the blackout still answers")
	}
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := pgx.Connect(short, f.dsn); err == nil {
		c.Close(ctx)
		if time.Since(start) < 2*time.Second {
			t.Fatal("a new connection was let in during the blackout")
		}
	}
	if f.rows(t, 1) != 1 {
		t.Fatal("the COMMIT before the blackout was not applied")
	}
	time.Sleep(time.Until(over))
	// After it, connections work; the next cut starts no blackout.
	conn = f.connect(t)
	brokenConnection(t, insert(ctx, conn, 2), conn)
	if err := f.connect(t).QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("a connection right after a cut without blackout: %v", err)
	}
	if s := f.proxy.Stats(); s.Cut != 2 || s.Blackouts != 1 {
		t.Fatalf("stats %+v, want 2 cuts, 1 blackout", s)
	}
}
