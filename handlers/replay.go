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
	mu   sync.Mutex
	seen map[string]time.Time
	ttl  time.Duration
}

func newReplayGuard(ttl time.Duration) *replayGuard {
	return &replayGuard{seen: map[string]time.Time{}, ttl: ttl}
}

// firstTime records a signature and reports whether it was new.
func (g *replayGuard) firstTime(signature string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if exp, ok := g.seen[signature]; ok && now.Before(exp) {
		return false
	}
	if len(g.seen) > 50000 {
		for k, exp := range g.seen {
			if now.After(exp) {
				delete(g.seen, k)
			}
		}
	}
	g.seen[signature] = now.Add(g.ttl)
	return true
}
