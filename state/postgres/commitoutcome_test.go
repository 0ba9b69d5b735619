package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/pgproxy"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/postgres"
)

// TestLostCommitAnswerIsResolved: a COMMIT reaches the server and its
// answer is lost (a proxy cuts the connection once the server answered).
// The store asks the database on another connection whether that
// transaction committed, and says so: the Update succeeds and its change
// is there — not "unavailable", which a caller would take for "nothing
// was written". When the database cannot be asked either (every
// connection refused for longer than the store asks), the store says the
// outcome is not known, and the change, applied, is there once it can be
// read.
func TestLostCommitAnswerIsResolved(t *testing.T) {
	proxy, err := pgproxy.Start(pgproxy.Options{Target: fmt.Sprintf("127.0.0.1:%d", cluster.Port()), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	dsn, err := proxy.DSN(cluster.DSN())
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("shop_%d", schemas.Add(1))
	s, err := postgres.Open(context.Background(), dsn, schema, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	direct := openSchema(t, schema, nil)
	now := time.Now().UTC()
	o := &state.Order{Schema: state.SchemaVersion, Reference: "lost-commit-1", Currency: "NOK", Amount: 100,
		Status: state.StatusNew, CreateKey: "k", CreatedAt: now, UpdatedAt: now}
	if err := s.Create(o); err != nil {
		t.Fatal(err)
	}
	note := func(v string) error {
		_, _, err := s.Update(o.Reference, state.SourceMerchant, func(o *state.Order, tx *state.Tx) error {
			o.Meta = map[string]string{"note": v}
			return nil
		})
		return err
	}

	proxy.SetCutRate(1)
	if err := note("first"); err != nil {
		t.Fatalf("an update whose commit answer was lost: %v", err)
	}
	if got, _ := direct.Get(o.Reference); got.Meta["note"] != "first" {
		t.Fatalf("the change is not there: %+v", got.Meta)
	}
	if st := proxy.Stats(); st.Cut < 1 {
		t.Fatalf("no commit was cut: %+v", st)
	}

	defer func(d time.Duration) { *postgres.CommitOutcomeWait = d }(*postgres.CommitOutcomeWait)
	*postgres.CommitOutcomeWait = 300 * time.Millisecond
	proxy.BlackoutAfterCuts(1, 2*time.Second)
	err = note("second")
	if !errors.Is(err, state.ErrOutcomeUnknown) || errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("an update whose outcome nobody could learn: %v", err)
	}
	proxy.SetCutRate(0)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := direct.Get(o.Reference)
		if err == nil && got.Meta["note"] == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the update that was applied is not there: %+v %v", got, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
