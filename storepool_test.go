package caddyvipps

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// TestStorePoolSharesAndReleases: two handlers on one data directory (a
// config reload) share one open database; it closes when the last one
// releases it, and a handler that never acquired it releases nothing.
func TestStorePoolSharesAndReleases(t *testing.T) {
	dir := t.TempDir()
	a := &Handler{DataDir: dir, logger: zap.NewNop()}
	b := &Handler{DataDir: dir + "/", logger: zap.NewNop()} // same directory, other spelling
	if err := a.openStore(); err != nil {
		t.Fatal(err)
	}
	if err := b.openStore(); err != nil {
		t.Fatalf("second holder: %v", err)
	}
	if a.store != b.store {
		t.Fatal("two holders got two databases")
	}
	never := &Handler{DataDir: dir, logger: zap.NewNop()} // provisioning failed before the store
	if err := never.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if refs, _ := storePool.References(a.storeKey); refs != 2 {
		t.Fatalf("references = %d after a cleanup that acquired nothing, want 2", refs)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := b.store.Create(&state.Order{Reference: "pool-0000001", Currency: "NOK", Amount: 100}); err != nil {
		t.Fatalf("the database closed while a holder remained: %v", err)
	}
	store := b.store
	if err := b.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, ok := storePool.References(dir); ok {
		t.Fatal("the pool still holds the database after the last release")
	}
	if err := store.Create(&state.Order{Reference: "pool-0000002", Currency: "NOK", Amount: 100}); err == nil {
		t.Fatal("the database is still open after the last release")
	}
	// Reopening works, and a second process would be told to reload.
	s, err := state.Open(dir, state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = state.Open(dir, state.Options{})
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "caddy reload") {
		t.Fatalf("second opener: %v", err)
	}
}
