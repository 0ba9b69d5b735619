package shop

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestPollerChecksABurstInOneTick: more pending orders than one batch,
// all approved at Vipps with their webhooks and returns lost, are all
// confirmed by one tick of the poller; while Vipps does not answer, a tick
// asks about one batch only and ends.
func TestPollerChecksABurstInOneTick(t *testing.T) {
	h := newHarness(t)
	n := pollBatch + pollBatch/2
	refs := make([]string, 0, n)
	for range n {
		res, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, res.Order.Reference)
		if err := h.sim.Approve(res.Order.Reference); err != nil {
			t.Fatal(err)
		}
	}
	// Every order is due its first check.
	h.clock.Advance(time.Minute)

	h.sim.InjectFault(sim.Fault{Operation: "get", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 10 * n}})
	h.svc.drain(bg, "poller", pollBatch, h.svc.PollOnce)
	asked := 0
	for _, ref := range refs {
		if h.order(ref).Checks > 0 {
			asked++
		}
	}
	if asked != pollBatch {
		t.Fatalf("with Vipps down one tick asked about %d orders, want one batch (%d)", asked, pollBatch)
	}
	h.sim.ClearFaults()

	// The orders that were asked are leased and rescheduled; the rest wait.
	h.clock.Advance(10 * time.Minute)
	h.svc.drain(bg, "poller", pollBatch, h.svc.PollOnce)
	for _, ref := range refs {
		if o := h.order(ref); o.Status != state.StatusAuthorized {
			t.Fatalf("order %s after one tick: %s, want authorized", ref, o.Status)
		}
	}
}
