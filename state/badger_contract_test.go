package state_test

import (
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storetest"
)

// TestBadgerKeepsTheContract runs the store contract against Badger.
func TestBadgerKeepsTheContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) state.Store {
		s, err := state.OpenBadger(t.TempDir(), state.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
