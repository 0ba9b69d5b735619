package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storetest"
)

// TestLedgerMigrationBuildsFromOrders: a schema from before migration 5
// (no ledger, no reserved column) gets both from its orders, by the times
// their histories hold, the same rows the ledger writes as orders change.
func TestLedgerMigrationBuildsFromOrders(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 3, 2, 9, 15, 0, 0, time.UTC))
	schema := fmt.Sprintf("shop_%d", schemas.Add(1))
	s := openSchema(t, schema, clock.Now)
	pay := func(ref string, captured, refunded int64) {
		t.Helper()
		if _, _, err := s.Update(ref, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
			_, err := o.ApplyPayment(state.Observation{State: "AUTHORIZED", Authorized: 1000, Captured: captured, Refunded: refunded})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if err := s.Create(storetest.NewOrder(storetest.Ref(i), 1000)); err != nil {
			t.Fatal(err)
		}
		pay(storetest.Ref(i), 0, 0)
	}
	clock.Advance(2 * time.Hour)
	pay(storetest.Ref(1), 1000, 0)
	clock.Advance(26 * time.Hour)
	pay(storetest.Ref(1), 1000, 250)
	pay(storetest.Ref(2), 1000, 0)
	from, to := clock.Now().Add(-72*time.Hour), clock.Now().Add(time.Hour)
	live, err := s.Ledger(from, to)
	if err != nil || len(live) != 3 {
		t.Fatalf("ledger as written: %+v, %v", live, err)
	}
	if _, err := s.Pool().Exec(context.Background(), `DROP TABLE ledger; DROP INDEX orders_to_ship; ALTER TABLE orders DROP COLUMN reserved;
		DELETE FROM schema_migrations WHERE version = 5`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = openSchema(t, schema, clock.Now)
	built, err := s.Ledger(from, to)
	if err != nil || len(built) != len(live) {
		t.Fatalf("built %+v, %v; as written %+v", built, err, live)
	}
	for i := range live {
		if built[i] != live[i] {
			t.Fatalf("row %d built %+v, as written %+v", i, built[i], live[i])
		}
	}
	ship, n, err := s.Oldest(state.BacklogToShip, 10)
	if err != nil || n != 1 || ship[0].Reference != storetest.Ref(3) {
		t.Fatalf("to ship: %d %v", n, err)
	}
}
