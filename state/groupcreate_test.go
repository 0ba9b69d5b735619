package state

import (
	"testing"
	"time"
)

// gathering runs a leader's gather on b and returns how many orders it
// found waiting when it stopped.
func gathering(b *createBatch) chan int {
	got := make(chan int, 1)
	go func() {
		b.mu.Lock()
		b.gather()
		n := len(b.queue)
		b.mu.Unlock()
		got <- n
	}()
	return got
}

// awaitWant waits until a gathering leader aims at a queue length.
func awaitWant(t *testing.T, b *createBatch) int {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b.mu.Lock()
		w := b.want
		b.mu.Unlock()
		if w > 0 {
			return w
		}
	}
	t.Fatal("the leader never gathered")
	return 0
}

func queueN(b *createBatch, n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for range n {
		b.add(&createReq{})
	}
}

// TestGatheringGrowsWithTheLoad: a leader whose last gathering filled up
// in time aims a quarter higher, so that batches follow a growing load
// instead of staying at the size they first had; one that ran out of
// time aims at what came; a buyer alone never waits.
func TestGatheringGrowsWithTheLoad(t *testing.T) {
	b := &createBatch{last: 8, took: time.Hour}
	queueN(b, 1)
	got := gathering(b)
	if w := awaitWant(t, b); w != 8 {
		t.Fatalf("after a batch of 8 the leader aims at %d, want 8", w)
	}
	queueN(b, 7)
	if n := <-got; n != 8 || !b.filled {
		t.Fatalf("gathered %d (filled %v), want 8 and filled", n, b.filled)
	}

	b.queue, b.last = nil, 8
	queueN(b, 1)
	got = gathering(b)
	if w := awaitWant(t, b); w != 10 {
		t.Fatalf("after a gathering that filled, the leader aims at %d, want 10", w)
	}
	queueN(b, 9)
	if n := <-got; n != 10 {
		t.Fatalf("gathered %d, want 10", n)
	}

	// Out of time: the next aims at the last batch again, not higher.
	b.queue, b.last, b.took = nil, 10, 5*time.Millisecond
	queueN(b, 3)
	if n := <-gathering(b); n != 3 || b.filled {
		t.Fatalf("gathered %d (filled %v) when nobody came, want 3 and not filled", n, b.filled)
	}
	b.queue, b.last = nil, 3
	queueN(b, 1)
	got = gathering(b)
	if w := awaitWant(t, b); w != 3 {
		t.Fatalf("after a gathering that ran out of time, the leader aims at %d, want 3", w)
	}
	<-got

	// A buyer alone.
	b.queue, b.last, b.took = nil, 1, time.Hour
	queueN(b, 1)
	start := time.Now()
	if n := <-gathering(b); n != 1 || time.Since(start) > time.Second {
		t.Fatalf("a lone buyer's leader gathered %d in %v", n, time.Since(start))
	}
}
