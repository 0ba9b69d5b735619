package shop

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestCreateAnswered409KeepsTheOrder: Vipps takes a push link's create
// and answers 409 (the same key still in flight, or a request of ours it
// already took). The order is not marked failed while its payment lives at
// Vipps, so the single-use link is not freed for a second buyer, who would
// pay the same link again.
func TestCreateAnswered409KeepsTheOrder(t *testing.T) {
	h := newHarness(t)
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "book", Qty: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	h.sim.InjectFault(sim.Fault{Operation: "create", StatusAfterCommit: 409, Budget: sim.Budget{Count: 1}})
	_, err = h.svc.PayLink(bg, l.Token, LinkPayment{Flow: FlowPush, Phone: "4791234567"})
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("a create answered 409: %v", err)
	}
	orders, _, err := h.svc.LinkOrders(l.ID, "", 10)
	if err != nil || len(orders) != 1 || orders[0].Status == state.StatusFailed {
		t.Fatalf("the link's order after a 409: %+v %v", orders, err)
	}
	if _, err := h.svc.PayLink(bg, l.Token, LinkPayment{Flow: FlowPush, Phone: "4791234567"}); !errors.Is(err, ErrLinkBusy) {
		t.Fatalf("a second buyer while the first payment lives at vipps: %v", err)
	}
	if n := len(h.sim.Payments()); n != 1 {
		t.Fatalf("vipps holds %d payments for a single-use link", n)
	}
	// The poller finds the payment and the link stays held by it.
	h.clock.Advance(firstCheckDelay + time.Second)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(orders[0].Reference); o.Status != state.StatusPending {
		t.Fatalf("after the poller: %s", o.Status)
	}
}

// TestLostCreateIsSentAgainForTheSameBuyer: the create of a link's
// payment reaches Vipps and every answer to it is lost; the poller then
// records the payment as created, without Vipps' address for the buyer.
// The same buyer's next press of Pay gets that address at once — the
// create is sent again with its stored key, and Vipps answers with the
// same payment — instead of the link answering "busy" for ten minutes.
func TestLostCreateIsSentAgainForTheSameBuyer(t *testing.T) {
	h := newHarness(t)
	defer func(w, r time.Duration) { attemptWait, attemptResume = w, r }(attemptWait, attemptResume)
	attemptWait, attemptResume = 3*time.Second, 50*time.Millisecond
	l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "book", Qty: 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	attempt := strings.Repeat("a", 24)
	h.sim.InjectFault(sim.Fault{Operation: "create", DropAfterCommit: true, Budget: sim.Budget{Count: 16}})
	if _, err := h.svc.PayLink(bg, l.Token, LinkPayment{Attempt: attempt}); err == nil {
		t.Fatal("a create whose every answer was lost succeeded")
	}
	h.sim.ClearFaults()
	h.clock.Advance(firstCheckDelay + time.Second)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	orders, _, _ := h.svc.LinkOrders(l.ID, "", 10)
	if len(orders) != 1 || orders[0].Status != state.StatusPending || orders[0].RedirectURL != "" {
		t.Fatalf("after the poller: %+v", orders)
	}
	res, err := h.svc.PayLink(bg, l.Token, LinkPayment{Attempt: attempt})
	if err != nil || res.RedirectURL == "" || res.Order.Reference != orders[0].Reference {
		t.Fatalf("the same buyer's next press: %+v %v", res, err)
	}
	if n := len(h.sim.Payments()); n != 1 {
		t.Fatalf("vipps holds %d payments", n)
	}
	if o := h.order(orders[0].Reference); o.RedirectURL != res.RedirectURL {
		t.Fatalf("the address is not recorded: %q", o.RedirectURL)
	}
}

// TestGoodsArePaidAgainOnce: an order whose buyer rejected the payment
// gets a link to pay again. A second link for it is refused while the
// first still takes the payment; once the first is disabled another can be
// made; once that one is paid, neither a link nor a sale at the counter may
// charge the goods again. Eight merchants asking at once get one link.
func TestGoodsArePaidAgainOnce(t *testing.T) {
	h := newHarness(t)
	unpaid := h.rejectedOrder()
	first, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}}); !errors.As(err, new(*StateError)) || !strings.Contains(err.Error(), first.ID) {
		t.Fatalf("a second link while the first takes the payment: %v", err)
	}
	if _, err := h.svc.CounterSale(bg, Charge{Order: unpaid}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a sale at the counter while a link takes the payment: %v", err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}, Reusable: true}); !errors.As(err, new(*InputError)) {
		t.Fatalf("a reusable link for an order: %v", err)
	}
	if _, err := h.svc.DisableLink(first.ID); err != nil {
		t.Fatal(err)
	}
	second, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}})
	if err != nil {
		t.Fatalf("a link once the first is disabled: %v", err)
	}
	res, err := h.svc.PayLink(bg, second.Token, LinkPayment{})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sim.Approve(res.Order.Reference); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Refresh(bg, res.Order.Reference, state.SourceReturn); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: unpaid}}); !errors.As(err, new(*StateError)) || !strings.Contains(err.Error(), res.Order.Reference) {
		t.Fatalf("a link for goods paid through the second: %v", err)
	}
	if _, err := h.svc.CounterSale(bg, Charge{Order: unpaid}); !errors.As(err, new(*StateError)) {
		t.Fatalf("a sale at the counter of goods paid: %v", err)
	}
	if st, err := h.svc.Again(h.order(unpaid)); err != nil || st.PaidBy != res.Order.Reference || st.Open != "" {
		t.Fatalf("where the goods stand: %+v %v", st, err)
	}

	// Eight at once for another unpaid order: one link.
	other := h.rejectedOrder()
	var wg sync.WaitGroup
	var mu sync.Mutex
	made := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Order: other}}); err == nil {
				mu.Lock()
				made++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if made != 1 {
		t.Fatalf("%d links made at once for one unpaid order", made)
	}
}

// rejectedOrder checks out a cart whose buyer rejects the payment.
func (h *harness) rejectedOrder() string {
	h.t.Helper()
	res, err := h.svc.Checkout(context.Background(), CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.sim.Reject(res.Order.Reference); err != nil {
		h.t.Fatal(err)
	}
	if o, err := h.svc.Refresh(context.Background(), res.Order.Reference, state.SourceWebhook); err != nil || o.Status != state.StatusAborted {
		h.t.Fatalf("the rejected order: %+v %v", o, err)
	}
	return res.Order.Reference
}

// TestTrackingLinkOfAShipInDoubt: a ship with a tracking link whose
// capture's answer was lost is settled by the outbox; the link reaches the
// app then, from the commit that records the capture (before, it was only
// queued when the request itself saw the capture done, and was lost).
func TestTrackingLinkOfAShipInDoubt(t *testing.T) {
	h := newHarness(t)
	o := h.authorizedOrder()
	stop := h.loseAnswers()
	_, op, err := h.svc.Ship(bg, o.Reference, ShipRequest{Amount: 10000, TrackingURL: "https://track.example/p/1"})
	stop()
	if op == nil || op.Status != OpPending || err == nil {
		t.Fatalf("ship whose answer was lost: %+v %v", op, err)
	}
	h.runWorker()
	h.runWorker()
	got, err := h.portal.GetOrder(bg, vipps.PaymentTypeEcom, o.Reference)
	if err != nil || got.Category == nil || got.Category.OrderDetailsURL != "https://track.example/p/1" {
		t.Fatalf("the tracking link at vipps: %+v %v", got, err)
	}
}
