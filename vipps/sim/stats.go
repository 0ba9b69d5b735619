package sim

import (
	"runtime/metrics"
	"sync"
)

// Stats counts what the simulator holds, for watching a long demo or a
// load test (GET /_sim/stats).
type Stats struct {
	Payments        int `json:"payments"`
	Waiting         int `json:"waiting"` // payments in CREATED
	IdempotencyKeys int `json:"idempotency_keys"`
	LandingTokens   int `json:"landing_tokens"`
	AccessTokens    int `json:"access_tokens"`
	Webhooks        int `json:"webhooks"`
	DeliveryQueues  int `json:"delivery_queues"`
	Receipts        int `json:"receipts"`
	Categories      int `json:"categories"`
	Images          int `json:"images"`
	Timers          int `json:"timers"`
	// Calls counts the API calls received since the simulator started, by
	// operation (the names of Fault.Operation: token, create, get, events,
	// capture, …), whatever they were answered.
	Calls map[string]int64 `json:"calls"`
	// HeapLiveBytes is the Go heap that was live at the last collection.
	HeapLiveBytes uint64 `json:"heap_live_bytes"`
}

// Stats returns the current counts.
func (s *Simulator) Stats() Stats {
	s.mu.Lock()
	st := Stats{
		Payments: len(s.payments), Waiting: s.waiting, IdempotencyKeys: len(s.idem), LandingTokens: len(s.landing),
		AccessTokens: s.tokens.len(), Webhooks: len(s.hooks), Receipts: len(s.receipts), Categories: len(s.categories),
		Images: len(s.images), Timers: len(s.timers),
	}
	for _, m := range s.queues {
		st.DeliveryQueues += len(m)
	}
	s.mu.Unlock()
	st.Calls = s.calls.snapshot()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		st.HeapLiveBytes = sample[0].Value.Uint64()
	}
	return st
}

// callCounter counts API calls by operation.
type callCounter struct {
	mu sync.Mutex
	n  map[string]int64
}

func (c *callCounter) add(op string) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int64{}
	}
	c.n[op]++
	c.mu.Unlock()
}

func (c *callCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		out[k] = v
	}
	return out
}
