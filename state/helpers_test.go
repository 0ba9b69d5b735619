package state

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for leases and timestamps.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openTest(t testing.TB, clock *fakeClock) *BadgerStore {
	t.Helper()
	opts := Options{}
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := OpenBadger(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newOrder(ref string, amount int64) *Order {
	return &Order{
		Reference: ref,
		Items:     []Item{{SKU: "socks", Name: "Socks", Qty: 1, UnitPrice: amount, VATRate: 2500}},
		Currency:  "NOK",
		Amount:    amount,
		CreateKey: "key-" + ref,
	}
}

func mustCreate(t testing.TB, s *BadgerStore, o *Order) {
	t.Helper()
	if err := s.Create(o); err != nil {
		t.Fatal(err)
	}
}

func ref(i int) string { return fmt.Sprintf("test-%08d", i) }
