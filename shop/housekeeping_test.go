package shop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// TestAbandonedOrdersArePurgedAfterTheirRetention: a checkout the buyer
// rejected is deleted once it is older than the abandoned retention; a
// paid order of the same age stays, and so does everything while the
// retention is off.
func TestAbandonedOrdersArePurgedAfterTheirRetention(t *testing.T) {
	h := newHarness(t)
	res, err := h.svc.Checkout(context.Background(), CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	rejected := res.Order.Reference
	if err := h.sim.Reject(rejected); err != nil {
		t.Fatal(err)
	}
	if o, err := h.svc.Refresh(context.Background(), rejected, state.SourceReturn); err != nil || o.Status != state.StatusAborted {
		t.Fatalf("after the buyer rejected: %+v %v", o, err)
	}
	paid := h.authorizedOrder().Reference

	h.clock.Advance(31 * 24 * time.Hour)
	if n, err := h.svc.PurgeAbandoned(); err != nil || n != 0 {
		t.Fatalf("with the retention off: purged %d (%v)", n, err)
	}
	h.svc.cfg.AbandonedRetention = 30 * 24 * time.Hour
	if n, err := h.svc.PurgeAbandoned(); err != nil || n != 1 {
		t.Fatalf("purged %d (%v), want the rejected order", n, err)
	}
	if _, err := h.svc.Order(rejected); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the rejected order is still there: %v", err)
	}
	if o := h.order(paid); o.Payment.Authorized == 0 {
		t.Fatalf("the paid order changed: %+v", o)
	}
	if n, err := h.svc.PurgeAbandoned(); err != nil || n != 0 {
		t.Fatalf("a second purge took %d (%v)", n, err)
	}
}
