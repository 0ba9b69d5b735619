package shop

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestRefreshFollowsVipps: the return page's refresh confirms an approved
// payment, plans its receipt and authorization time, and the receipt is
// posted once however often the worker runs.
func TestRefreshFollowsVipps(t *testing.T) {
	h := newHarness(t)
	res, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	if o, _ := h.svc.Refresh(bg, ref, state.SourceReturn); o.Status != state.StatusPending {
		t.Fatalf("before approval: %s", o.Status)
	}
	if err := h.sim.Approve(ref); err != nil {
		t.Fatal(err)
	}
	o, err := h.svc.Refresh(bg, ref, state.SourceReturn)
	if err != nil || o.Status != state.StatusAuthorized || o.Payment.CaptureDeadline.IsZero() || o.NextCheckAt.IsZero() {
		t.Fatalf("after approval: %+v %v", o, err)
	}
	kinds := map[string]int{}
	jobs, _ := h.store.PendingJobs()
	for _, j := range jobs {
		kinds[j.Kind]++
	}
	if kinds[JobReceipt] != 1 || kinds[JobAuthorization] != 1 {
		t.Fatalf("jobs after authorization: %v", kinds)
	}
	h.runWorker()
	h.runWorker()
	if o := h.order(ref); o.Receipt != ReceiptSent || len(h.sim.Receipts()) != 1 {
		t.Fatalf("receipt %q, %d at vipps", o.Receipt, len(h.sim.Receipts()))
	}
	if _, err := h.svc.Refresh(bg, "test-nosuchorder1", state.SourceReturn); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}

// TestOrderNeverCreatedAtVippsFails: an order whose create call never
// landed is failed once the grace period is over, not pending forever.
func TestOrderNeverCreatedAtVippsFails(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(sim.Fault{Operation: "create", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 10}})
	_, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 1}}})
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("checkout while vipps is down: %v", err)
	}
	h.sim.ClearFaults()
	list, _, _ := h.store.List("", 1, state.ListFilter{})
	ref := list[0].Reference
	h.clock.Advance(10 * time.Second)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Status != state.StatusPending || o.PaymentKnown() {
		t.Fatalf("within the grace period: %s, payment known %v", o.Status, o.PaymentKnown())
	}
	h.clock.Advance(createGrace)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Status != state.StatusFailed || !o.NextCheckAt.IsZero() {
		t.Fatalf("after the grace period: %s next %v", o.Status, o.NextCheckAt)
	}
}

// TestWebhookSignalsARefresh: a webhook refreshes the order from Vipps;
// one for another merchant or an unknown order is ignored; when Vipps
// cannot be asked, a refresh job is kept and the worker does it.
func TestWebhookSignalsARefresh(t *testing.T) {
	h := newHarness(t)
	res, _ := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}})
	ref := res.Order.Reference
	_ = h.sim.Approve(ref)
	for _, ev := range []*vipps.WebhookEvent{
		{MSN: "999999", Reference: ref, Name: vipps.EventAuthorized},
		{MSN: harnessMSN, Reference: "test-nosuchorder1", Name: vipps.EventAuthorized},
	} {
		if err := h.svc.HandleWebhook(bg, ev); err != nil {
			t.Fatal(err)
		}
	}
	if o := h.order(ref); o.Status != state.StatusPending {
		t.Fatalf("a foreign webhook changed the order: %s", o.Status)
	}
	h.sim.InjectFault(sim.Fault{Operation: "get", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 2}})
	if err := h.svc.HandleWebhook(bg, &vipps.WebhookEvent{MSN: harnessMSN, Reference: ref, Name: vipps.EventAuthorized}); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Status != state.StatusPending || !o.NextCheckAt.Equal(h.clock.Now()) {
		t.Fatalf("webhook while vipps is down: %s next %v", o.Status, o.NextCheckAt)
	}
	h.sim.ClearFaults()
	h.runWorker()
	if o := h.order(ref); o.Status != state.StatusAuthorized {
		t.Fatalf("after the refresh job: %s", o.Status)
	}
}

// TestPollerWatchesReservedMoney: the poller confirms a pending order whose
// webhook and return were lost, then checks it every few hours while money
// is reserved (a capture made in the portal shows), and lets go of it once
// nothing is reserved.
func TestPollerWatchesReservedMoney(t *testing.T) {
	h := newHarness(t)
	res, _ := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "book", Qty: 1}}})
	ref := res.Order.Reference
	_ = h.sim.Approve(ref)
	h.clock.Advance(firstCheckDelay)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	o := h.order(ref)
	if o.Status != state.StatusAuthorized || !o.NextCheckAt.Equal(h.clock.Now().Add(reservedCheckInterval)) {
		t.Fatalf("after the poller: %s next %v", o.Status, o.NextCheckAt)
	}
	if _, err := h.portal.CapturePayment(bg, ref, "portal-1", amountNOK(10000)); err != nil {
		t.Fatal(err)
	}
	if due, _ := h.store.DueChecks(h.clock.Now(), 10); len(due) != 0 {
		t.Fatalf("due before the interval: %v", due)
	}
	h.clock.Advance(reservedCheckInterval)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Payment.Captured != 10000 || o.Status != state.StatusPartiallyCaptured {
		t.Fatalf("the portal's capture was not seen: %+v", o.Payment)
	}
	if _, err := h.portal.CancelPayment(bg, ref, "portal-2", false); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(reservedCheckInterval)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Payment.Reserved() != 0 || !o.NextCheckAt.IsZero() || o.Status != state.StatusCaptured {
		t.Fatalf("after the release: %s %+v next %v", o.Status, o.Payment, o.NextCheckAt)
	}
	if due, _ := h.store.DueChecks(h.clock.Now().Add(100*24*time.Hour), 10); len(due) != 0 {
		t.Fatalf("a settled order is still watched: %v", due)
	}
}

// TestWorkerBuriesOnlyWhatCanBeGivenUp: a receipt that keeps failing is
// given up on after the attempts and shows as failed.
func TestWorkerBuriesOnlyWhatCanBeGivenUp(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(sim.Fault{Operation: "receipt", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 1000}})
	ref := h.authorizedOrder().Reference
	for range maxAttempts + 2 {
		h.clock.Advance(time.Hour + time.Minute)
		if _, err := h.svc.RunJobsOnce(bg); err != nil {
			t.Fatal(err)
		}
	}
	dead, _ := h.store.DeadJobs()
	if len(dead) != 1 || dead[0].Kind != JobReceipt || h.order(ref).Receipt != ReceiptFailed {
		t.Fatalf("dead jobs %+v, receipt %q", dead, h.order(ref).Receipt)
	}
}

// TestPaymentVippsForgotIsFailedNotPendingForever: a payment Vipps had
// created but no longer knows (a simulator restarted without its memory)
// fails if it was waiting for the buyer, and is no longer watched either
// way.
func TestPaymentVippsForgotIsFailedNotPendingForever(t *testing.T) {
	h := newHarness(t)
	res, _ := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}})
	waiting := res.Order.Reference
	paid := h.authorizedOrder().Reference
	h.sim.Reset()
	h.clock.Advance(10 * time.Second)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(waiting); o.Status != state.StatusPending {
		t.Fatalf("within the grace period: %s", o.Status)
	}
	h.clock.Advance(createGrace)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(waiting); o.Status != state.StatusFailed || o.Watched() || !o.Payment.Missing {
		t.Fatalf("a forgotten pending payment: %s watched %v", o.Status, o.Watched())
	}
	o, err := h.svc.Refresh(bg, paid, state.SourceReturn)
	if err != nil || o.Status != state.StatusAuthorized || o.Watched() || !o.Payment.Missing {
		t.Fatalf("a forgotten authorized payment: %+v %v", o, err)
	}
	if _, op, err := h.svc.Ship(bg, paid, ShipRequest{All: true}); !isState(err) || op.Status != OpFailed {
		t.Fatalf("ship a forgotten payment: %v %+v", err, op)
	}
}
