package sim

import (
	"sync"
	"time"
)

// Clock is the simulator's notion of time. It drives payment expiry,
// capture deadlines, token lifetimes and the webhook retry schedule. Webhook
// signatures always carry the wall-clock date, as the receiver checks it
// against its own clock.
type Clock interface {
	Now() time.Time
	// Advance moves the clock forward; whatever became due (expiries,
	// webhook retries) happens promptly.
	Advance(d time.Duration)
}

// OffsetClock is real time plus an offset that Advance grows: the default
// clock, so a running simulator can still be sent into the future.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now returns the wall clock plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

// Advance adds d to the offset.
func (c *OffsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// FakeClock stands still until advanced. Safe for concurrent use.
type FakeClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewFakeClock returns a clock stopped at start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{t: start.UTC()} }

// Now returns the clock's time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *OffsetClock) currentOffset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

func (c *OffsetClock) setOffset(d time.Duration) {
	c.mu.Lock()
	c.offset = d
	c.mu.Unlock()
}
