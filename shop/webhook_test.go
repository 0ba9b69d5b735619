package shop

import (
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// TestWebhookThatTellsNothingNewAsksNothing: a delivery of what the order
// already shows (its authorization, a capture the shop made and recorded)
// costs no read at Vipps; a capture made in the business portal, or an
// event whose amount differs, is read from Vipps and recorded.
func TestWebhookThatTellsNothingNewAsksNothing(t *testing.T) {
	h := newHarness(t)
	o := h.authorizedOrder()
	ref := o.Reference
	if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 10000}); err != nil {
		t.Fatal(err)
	}
	event := func(name vipps.EventName, key string) *vipps.WebhookEvent {
		t.Helper()
		for _, ev := range h.atVipps(ref).Events {
			if ev.Name == name && (key == "" || ev.IdempotencyKey == key) {
				return webhookOf(ev)
			}
		}
		t.Fatalf("no %s event", name)
		return nil
	}
	deliver := func(ev *vipps.WebhookEvent) int {
		t.Helper()
		before := h.reads()
		if err := h.svc.HandleWebhook(bg, ev); err != nil {
			t.Fatal(err)
		}
		return h.reads() - before
	}
	if n := deliver(event(vipps.EventAuthorized, "")); n != 0 {
		t.Fatalf("a known authorization read the payment %d times", n)
	}
	if n := deliver(event(vipps.EventCaptured, "")); n != 0 {
		t.Fatalf("the shop's own recorded capture read the payment %d times", n)
	}
	odd := event(vipps.EventAuthorized, "")
	odd.Amount.Value++
	if n := deliver(odd); n != 1 {
		t.Fatalf("an authorization of another amount read the payment %d times", n)
	}
	failed := event(vipps.EventCaptured, "")
	failed.Success = false
	if n := deliver(failed); n != 1 {
		t.Fatalf("an unsuccessful event read the payment %d times", n)
	}

	// A capture in the business portal: its key is not the shop's.
	if _, err := h.portal.CapturePayment(bg, ref, "portal-capture-1", amountNOK(5000)); err != nil {
		t.Fatal(err)
	}
	if n := deliver(event(vipps.EventCaptured, "portal-capture-1")); n != 1 {
		t.Fatalf("a portal capture read the payment %d times", n)
	}
	if got := h.order(ref).Payment.Captured; got != 15000 {
		t.Fatalf("captured %d after the portal's capture, want 15000", got)
	}
	if h.order(ref).Status != state.StatusPartiallyCaptured {
		t.Fatalf("status %s", h.order(ref).Status)
	}
}
