package state

import "sync"

// groupSync coalesces fsyncs: a caller that needs its commit on disk waits
// for a sync that started after it called, and concurrent callers share
// one. With many buyers checking out at once, one fsync covers a whole
// group of orders instead of one each, and no caller returns before its own
// commit is durable.
type groupSync struct {
	fn func() error

	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // syncs started
	done    uint64 // syncs finished (they run one at a time)
	running bool
	errGen  uint64 // the newest sync that failed
	err     error
}

func newGroupSync(fn func() error) *groupSync {
	g := &groupSync{fn: fn}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Sync returns once a sync that started after the call has finished, with
// its error (or a later sync's).
func (g *groupSync) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	// A sync already running may have started before our commit: we need
	// the next one.
	want := g.started + 1
	for g.done < want {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		gen := g.started
		g.mu.Unlock()
		err := g.fn()
		g.mu.Lock()
		g.running = false
		g.done = gen
		if err != nil {
			g.errGen, g.err = gen, err
		}
		g.cond.Broadcast()
	}
	if g.err != nil && g.errGen >= want {
		return g.err
	}
	return nil
}
