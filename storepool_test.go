package caddyvipps

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// TestStorePoolSharesAndReleases: two shops runtimes on one data directory
// (a config reload) share one open database; it closes when the last one
// releases it.
func TestStorePoolSharesAndReleases(t *testing.T) {
	dir := t.TempDir()
	a, err := openStore(dir, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	b, err := openStore(dir, zap.NewNop())
	if err != nil {
		t.Fatalf("second holder: %v", err)
	}
	if a != b {
		t.Fatal("two holders got two databases")
	}
	if refs, _ := storePool.References(dir); refs != 2 {
		t.Fatalf("references = %d, want 2", refs)
	}
	if _, err := storePool.Delete(dir); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(&state.Order{Reference: "pool-0000001", Currency: "NOK", Amount: 100}); err != nil {
		t.Fatalf("the database closed while a holder remained: %v", err)
	}
	if _, err := storePool.Delete(dir); err != nil {
		t.Fatal(err)
	}
	if _, ok := storePool.References(dir); ok {
		t.Fatal("the pool still holds the database after the last release")
	}
	if err := b.Create(&state.Order{Reference: "pool-0000002", Currency: "NOK", Amount: 100}); !errors.Is(err, state.ErrClosed) {
		t.Fatalf("after the last release: %v", err)
	}
	// Reopening works, and a second process would be told to reload.
	s, err := state.OpenBadger(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = state.OpenBadger(dir, state.Options{})
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "caddy reload") {
		t.Fatalf("second opener: %v", err)
	}
}
