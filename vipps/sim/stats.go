package sim

import (
	"runtime/metrics"
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
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		st.HeapLiveBytes = sample[0].Value.Uint64()
	}
	return st
}
