package shop

import (
	"testing"
	"time"
)

func TestReadBudgetCapsReadsPerOrder(t *testing.T) {
	b := newReadBudget()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := range readBurst {
		if !b.take("a", now, false) {
			t.Fatalf("read %d of the burst refused", i+1)
		}
	}
	if b.take("a", now, false) {
		t.Fatal("a read past the burst was allowed")
	}
	if !b.take("b", now, false) {
		t.Fatal("another order's read was refused: the budget is per order")
	}
	// The poller's and the outbox's reads go, and count.
	if !b.take("a", now, true) {
		t.Fatal("a read that must go was refused")
	}
	if b.take("a", now.Add(time.Second), false) {
		t.Fatal("the must-read was not counted")
	}
	if !b.take("a", now.Add(3*time.Second), false) {
		t.Fatalf("no read allowed after the cap refilled (%d a minute)", readsPerMinute)
	}
}

func TestReadBudgetReusesRecentRead(t *testing.T) {
	b := newReadBudget()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if b.recent("a", now, readReuse, reuseAlways) {
		t.Fatal("an order never read counts as recent")
	}
	b.take("a", now, false)
	b.done("a", now)
	if !b.recent("a", now.Add(readReuse-time.Millisecond), readReuse, reuseAlways) {
		t.Fatal("a read younger than the reuse time is not reused")
	}
	if b.recent("a", now.Add(readReuse), readReuse, reuseAlways) || b.recent("a", now, 0, reuseAlways) {
		t.Fatal("an old read, or a caller that wants none, was answered by reuse")
	}
	// The return page reads afresh until half the burst is spent.
	if b.recent("a", now, readReuse, reuseUnderPressure) {
		t.Fatal("a second return was answered from the first look, with the budget untouched")
	}
	for range readBurst / 2 {
		b.take("a", now, false)
	}
	if !b.recent("a", now, readReuse, reuseUnderPressure) {
		t.Fatal("under pressure, a recent read is not reused")
	}
}
