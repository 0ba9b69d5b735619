package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/postgres"
	"github.com/caddy-vipps/caddy-vipps/state/storetest"
)

// twoInstances opens one schema twice, as two Caddy instances would.
func twoInstances(t *testing.T, now func() time.Time) []state.Store {
	schema := fmt.Sprintf("shared_%d", schemas.Add(1))
	return []state.Store{openSchema(t, schema, now), openSchema(t, schema, now)}
}

// TestInstancesShareOneArbiter: transitions on one order from two
// instances take turns (the row lock), so the money rules hold and the
// history explains every change.
func TestInstancesShareOneArbiter(t *testing.T) {
	storetest.RaceTransitions(t, twoInstances(t, time.Now), storetest.Ref(1))
}

// TestInstancesShareTheOutbox: workers on two instances run each job once.
func TestInstancesShareTheOutbox(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	storetest.RaceWorkers(t, twoInstances(t, clock.Now), clock)
}

// TestInstancesShareKeysAndLocks: a merchant's key begun on two instances
// at once starts once; an exclusive section is exclusive across them.
func TestInstancesShareKeysAndLocks(t *testing.T) {
	stores := twoInstances(t, time.Now)
	storetest.RaceKeys(t, stores)
	storetest.RaceExclusive(t, stores)
}

// TestInstancesShareLinks: buyers of one single-use link on two instances
// at once make exactly one order.
func TestInstancesShareLinks(t *testing.T) {
	storetest.RaceLinkOrders(t, twoInstances(t, time.Now))
}

// TestInstancesShareChecks: pollers on two instances never claim one check
// twice.
func TestInstancesShareChecks(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	stores := twoInstances(t, clock.Now)
	for i := range 100 {
		o := storetest.NewOrder(storetest.Ref(i), 100)
		o.NextCheckAt = clock.Now()
		if err := stores[0].Create(o); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				refs, err := stores[w%2].ClaimChecks(clock.Now(), time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(refs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range refs {
					seen[r]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 100 {
		t.Fatalf("%d orders checked, want 100", len(seen))
	}
	for r, n := range seen {
		if n != 1 {
			t.Fatalf("%s claimed %d times", r, n)
		}
	}
}

// TestInstancesStartTogether: instances starting at once on a new schema
// create and migrate it once.
func TestInstancesStartTogether(t *testing.T) {
	schema := fmt.Sprintf("together_%d", schemas.Add(1))
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), cluster.DSN(), schema, state.Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSchemasAreApart: two shops' schemas in one database see nothing of
// each other.
func TestSchemasAreApart(t *testing.T) {
	a, b := open(t, time.Now), open(t, time.Now)
	if err := a.Create(storetest.NewOrder(storetest.Ref(1), 100)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(storetest.Ref(1)); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("another shop's order: %v", err)
	}
	if err := b.Create(storetest.NewOrder(storetest.Ref(1), 200)); err != nil {
		t.Fatalf("the same reference in another shop: %v", err)
	}
}

// TestPurgeDeletesWhatExpired: PostgreSQL has no TTL, so the shop purges.
func TestPurgeDeletesWhatExpired(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := open(t, clock.Now)
	for i := range 3 {
		if err := s.Create(storetest.NewOrder(storetest.Ref(i), 100)); err != nil {
			t.Fatal(err)
		}
	}
	_ = s.PutBuyer(storetest.Ref(0), state.Buyer{Name: "A"}, time.Hour)
	_ = s.PutBuyer(storetest.Ref(1), state.Buyer{Name: "B"}, 48*time.Hour)
	_ = s.RememberSignature("sig", clock.Now().Add(time.Minute))
	if _, _, err := s.BeginRequest("key", "fp", storetest.Ref(2), time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Hour)
	n, err := s.Purge(clock.Now())
	if err != nil || n != 3 {
		t.Fatalf("purged %d: %v", n, err)
	}
	var buyers int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM buyers`).Scan(&buyers); err != nil || buyers != 1 {
		t.Fatalf("%d buyers left: %v", buyers, err)
	}
}

// TestDatabaseDownIsUnavailableThenRecovers: while PostgreSQL is down, a
// write fails as unavailable (the shop answers 503) and nothing is lost;
// when it is back, the same store works again.
func TestDatabaseDownIsUnavailableThenRecovers(t *testing.T) {
	s := open(t, time.Now)
	if err := s.Create(storetest.NewOrder(storetest.Ref(1), 100)); err != nil {
		t.Fatal(err)
	}
	if err := cluster.Down(); err != nil {
		t.Fatal(err)
	}
	upped := false
	defer func() {
		if !upped {
			_ = cluster.Up()
		}
	}()
	err := s.Create(storetest.NewOrder(storetest.Ref(2), 100))
	if !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("create while down: %v", err)
	}
	if _, err := s.Get(storetest.Ref(1)); !errors.Is(err, state.ErrUnavailable) {
		t.Fatalf("get while down: %v", err)
	}
	if err := cluster.Up(); err != nil {
		t.Fatal(err)
	}
	upped = true
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.Create(storetest.NewOrder(storetest.Ref(2), 100))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if o, err := s.Get(storetest.Ref(1)); err != nil || o.Amount != 100 {
		t.Fatalf("the order before the outage: %v", err)
	}
}
