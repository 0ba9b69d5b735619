package postgres_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/pgtest"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/postgres"
	"github.com/caddy-vipps/caddy-vipps/state/storetest"
)

var (
	cluster *pgtest.Cluster
	schemas atomic.Int32
)

func TestMain(m *testing.M) {
	c, err := pgtest.Start()
	if err != nil {
		// A missing PostgreSQL is a failure, not a skip.
		fmt.Fprintln(os.Stderr, "starting PostgreSQL for the tests:", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	c.Stop()
	os.Exit(code)
}

// open opens a store on a fresh schema.
func open(t *testing.T, now func() time.Time) *postgres.Store {
	t.Helper()
	return openSchema(t, fmt.Sprintf("shop_%d", schemas.Add(1)), now)
}

func openSchema(t *testing.T, schema string, now func() time.Time) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), cluster.DSN(), schema, state.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPostgresKeepsTheContract runs the store contract against PostgreSQL.
func TestPostgresKeepsTheContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) state.Store { return open(t, now) })
}
