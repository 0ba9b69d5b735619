package state

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGroupSyncCoversEveryCallerWithFewerSyncs: 64 concurrent callers each
// return only after a sync that started after they called, and they share
// syncs.
func TestGroupSyncCoversEveryCallerWithFewerSyncs(t *testing.T) {
	var syncs atomic.Int64
	var clock atomic.Int64 // logical time: ticks at every call and sync start
	var mu sync.Mutex
	starts := []int64{}
	g := newGroupSync(func() error {
		mu.Lock()
		starts = append(starts, clock.Add(1))
		mu.Unlock()
		syncs.Add(1)
		time.Sleep(2 * time.Millisecond) // an fsync
		return nil
	})
	const callers = 64
	var wg sync.WaitGroup
	late := atomic.Int64{}
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			called := clock.Add(1)
			if err := g.Sync(); err != nil {
				t.Error(err)
			}
			// Some sync must have started after this call.
			mu.Lock()
			covered := false
			for _, s := range starts {
				if s > called {
					covered = true
				}
			}
			mu.Unlock()
			if !covered {
				late.Add(1)
			}
		}()
	}
	wg.Wait()
	if late.Load() != 0 {
		t.Fatalf("%d callers returned before a sync that started after them", late.Load())
	}
	if n := syncs.Load(); n >= callers || n < 1 {
		t.Fatalf("%d syncs for %d callers: not grouped", n, callers)
	} else {
		t.Logf("%d syncs for %d concurrent callers", n, callers)
	}
}

func TestGroupSyncReportsFailure(t *testing.T) {
	fail := errors.New("disk gone")
	var n atomic.Int64
	g := newGroupSync(func() error {
		if n.Add(1) == 1 {
			return fail
		}
		return nil
	})
	if err := g.Sync(); !errors.Is(err, fail) {
		t.Fatalf("first sync: %v, want the failure", err)
	}
	if err := g.Sync(); err != nil {
		t.Fatalf("a later, successful sync reported %v", err)
	}
}
