package shop

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOutboxRunsOrdersSideBySide: the jobs of different orders (receipts,
// the authorization's event read) reach Vipps side by side, so the outbox
// keeps up with a busy shop; the jobs of one order never overlap.
func TestOutboxRunsOrdersSideBySide(t *testing.T) {
	h := newHarness(t)
	const orders = 6
	for range orders {
		h.authorizedOrder()
	}
	var (
		mu       sync.Mutex
		inFlight int
		most     int
		perOrder = map[string]int{}
		overlap  []string
	)
	h.mu.Lock()
	h.onRequest = func(r *http.Request) func() {
		ref := orderOf(r.URL.Path)
		if ref == "" {
			return func() {}
		}
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		perOrder[ref]++
		if perOrder[ref] > 1 {
			overlap = append(overlap, r.Method+" "+r.URL.Path)
		}
		mu.Unlock()
		// Hold each call until four are at Vipps at once (or a while has
		// passed), so calls that can overlap do.
		deadline := time.After(2 * time.Second)
		for {
			mu.Lock()
			n := most
			mu.Unlock()
			if n >= 4 {
				break
			}
			select {
			case <-deadline:
				return func() {}
			case <-time.After(5 * time.Millisecond):
			}
		}
		return func() {
			mu.Lock()
			inFlight--
			perOrder[ref]--
			mu.Unlock()
		}
	}
	h.mu.Unlock()
	h.runWorker()
	mu.Lock()
	defer mu.Unlock()
	if most < 4 {
		t.Fatalf("at most %d calls of the outbox reached Vipps at once", most)
	}
	if len(overlap) > 0 {
		t.Fatalf("one order's jobs overlapped: %v", overlap)
	}
	if sent := len(h.sim.Receipts()); sent != orders {
		t.Fatalf("%d receipts posted, want %d", sent, orders)
	}
}

// orderOf is the order reference a Vipps call is about, if any.
func orderOf(path string) string {
	for _, prefix := range []string{"/epayment/v1/payments/", "/order-management/v2/ECOM/receipts/"} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			ref, _, _ := strings.Cut(rest, "/")
			return ref
		}
	}
	return ""
}
