package handlers

import (
	"sync"
	"time"
)

// replayGuard remembers the signatures of accepted webhook deliveries for
// as long as their date is acceptable, so the same signed request cannot be
// played again. Vipps signs every attempt anew (a fresh x-ms-date), so its
// own retries are never refused.
type replayGuard struct {
	mu       sync.Mutex
	accepted map[string]time.Time
	ttl      time.Duration
}

func newReplayGuard(ttl time.Duration) *replayGuard {
	return &replayGuard{accepted: map[string]time.Time{}, ttl: ttl}
}

// seen reports whether a signature was accepted before and is still
// remembered.
func (g *replayGuard) seen(signature string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	exp, ok := g.accepted[signature]
	return ok && now.Before(exp)
}

// remember records a signature whose delivery was handled. A delivery that
// failed is not remembered, so Vipps' retry of it (or the same request sent
// again) is handled.
func (g *replayGuard) remember(signature string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.accepted) > 50000 {
		for k, exp := range g.accepted {
			if now.After(exp) {
				delete(g.accepted, k)
			}
		}
	}
	g.accepted[signature] = now.Add(g.ttl)
}
