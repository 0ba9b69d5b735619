package shop

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// writesDuring lists the store's write calls (by method) that fn makes.
func (h *harness) writesDuring(fn func()) []string {
	var mu sync.Mutex
	var writes []string
	h.db.Decide(func(c storefault.Call) storefault.Fault {
		if c.Write && c.Method != "ClaimJobs" {
			mu.Lock()
			writes = append(writes, c.Method)
			mu.Unlock()
		}
		return storefault.None
	})
	defer h.db.Decide(nil)
	fn()
	mu.Lock()
	defer mu.Unlock()
	return writes
}

// TestCheckoutIsOneSyncedCommit: a checkout stores its order once, as
// pending and with its create's key, before Vipps hears of it; Vipps'
// answer is then recorded with RecordCreated (not synced) instead of a
// second synced transition. Every reader sees the order as the payment
// waiting for its buyer from then on.
func TestCheckoutIsOneSyncedCommit(t *testing.T) {
	h := newHarness(t)
	var atCreate *state.Order
	var key string
	h.onRequest = func(r *http.Request) func() {
		if r.Method == http.MethodPost && r.URL.Path == "/epayment/v1/payments" && atCreate == nil {
			list, _, err := h.store.List("", 1, state.ListFilter{})
			if err == nil && len(list) == 1 {
				atCreate, key = list[0], r.Header.Get("Idempotency-Key")
			}
		}
		return func() {}
	}
	var res *CheckoutResult
	writes := h.writesDuring(func() {
		var err error
		if res, err = h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 2}}}); err != nil {
			t.Fatal(err)
		}
	})
	if strings.Join(writes, ",") != "Create,RecordCreated" {
		t.Fatalf("a checkout's writes: %v (want one synced Create, then RecordCreated)", writes)
	}
	if atCreate == nil || atCreate.Status != state.StatusPending || atCreate.PaymentKnown() || atCreate.CreateKey != key {
		t.Fatalf("the order when vipps got the create: %+v (key %q)", atCreate, key)
	}
	o := h.order(res.Order.Reference)
	if o.Status != state.StatusPending || o.Payment.State != "CREATED" || o.RedirectURL == "" || o.RedirectURL != res.RedirectURL {
		t.Fatalf("after checkout: %s %q %q", o.Status, o.Payment.State, o.RedirectURL)
	}
	if n := len(o.History); n != 2 || o.History[0].To != state.StatusPending || o.History[1].Note != state.CreatedNote {
		t.Fatalf("history: %+v", o.History)
	}
	pending, _, err := h.svc.Orders("", 10, state.ListFilter{Status: []state.Status{state.StatusPending}})
	if err != nil || len(pending) != 1 || pending[0].RedirectURL != res.RedirectURL {
		t.Fatalf("the pending filter: %+v %v", pending, err)
	}
}

// TestCancelWhileTheCreateIsInFlight: the merchant cancels an order whose
// create has reached Vipps and not come back. The cancel sends the create
// again with the order's key — Vipps answers with the same payment — and
// cancels it; the checkout's own answer then changes nothing. One payment
// at Vipps, terminated; the order cancelled.
func TestCancelWhileTheCreateIsInFlight(t *testing.T) {
	h := newHarness(t)
	var first atomic.Bool
	var cancelled *state.Order
	var cancelErr error
	h.onRequest = func(r *http.Request) func() {
		// The checkout's create waits here, not yet at the simulator,
		// while the merchant cancels (whose own create passes).
		if r.Method == http.MethodPost && r.URL.Path == "/epayment/v1/payments" && first.CompareAndSwap(false, true) {
			list, _, _ := h.store.List("", 1, state.ListFilter{})
			cancelled, _, cancelErr = h.svc.Cancel(bg, list[0].Reference, Caller{Actor: "test"})
		}
		return func() {}
	}
	res, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if cancelErr != nil || cancelled == nil || cancelled.Status != state.StatusCancelled {
		t.Fatalf("cancel with the create in flight: %+v %v", cancelled, cancelErr)
	}
	ref := res.Order.Reference
	if o := h.order(ref); o.Status != state.StatusCancelled || o.Payment.State != "TERMINATED" {
		t.Fatalf("after the checkout's answer: %s %s", o.Status, o.Payment.State)
	}
	if n := len(h.sim.Payments()); n != 1 {
		t.Fatalf("%d payments at vipps", n)
	}
	p := h.atVipps(ref)
	if p.State != vipps.StateTerminated || countEvents(p, vipps.EventCreated) != 1 {
		t.Fatalf("at vipps: %s, %d CREATED events", p.State, countEvents(p, vipps.EventCreated))
	}
}

func countEvents(p sim.PaymentView, name vipps.EventName) int {
	n := 0
	for _, ev := range p.Events {
		if ev.Name == name {
			n++
		}
	}
	return n
}

// TestCancelBeforeVippsHeardOfIt: the create never reached Vipps (it was
// down), so the order is pending with its payment not known. A cancel
// while Vipps is still down changes nothing and says so; once Vipps is
// back, the cancel creates the payment with the order's key and cancels
// it, so no create still on its way can leave a payment behind.
func TestCancelBeforeVippsHeardOfIt(t *testing.T) {
	h := newHarness(t)
	h.sim.InjectFault(sim.Fault{Operation: "create", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 100}})
	_, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 1}}})
	var un *UnavailableError
	if !errors.As(err, &un) {
		t.Fatalf("checkout while vipps is down: %v", err)
	}
	list, _, _ := h.store.List("", 1, state.ListFilter{})
	ref := list[0].Reference
	if _, op, err := h.svc.Cancel(bg, ref, Caller{Actor: "test"}); !errors.As(err, &un) || op != nil {
		t.Fatalf("cancel while vipps is down: %v %v", op, err)
	}
	if o := h.order(ref); o.Status != state.StatusPending || o.PaymentKnown() || len(o.Ops) != 0 {
		t.Fatalf("after a cancel that could not reach vipps: %+v", o)
	}
	h.sim.ClearFaults()
	o, op, err := h.svc.Cancel(bg, ref, Caller{Actor: "test"})
	if err != nil || op.Status != OpDone || o.Status != state.StatusCancelled {
		t.Fatalf("cancel once vipps is back: %+v %+v %v", o, op, err)
	}
	if p := h.atVipps(ref); p.State != vipps.StateTerminated {
		t.Fatalf("at vipps: %s", p.State)
	}
}

// notifications collects the merchant's notifications.
type notifications struct {
	mu     sync.Mutex
	events []Notification
}

func (n *notifications) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev Notification
	_ = json.Unmarshal(body, &ev)
	n.mu.Lock()
	n.events = append(n.events, ev)
	n.mu.Unlock()
}

func (n *notifications) told(ref string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, ev := range n.events {
		if ev.Reference == ref {
			out = append(out, ev.Event)
		}
	}
	return out
}

// notifyingShop is the harness's shop with notifications to a recorder.
func (h *harness) notifyingShop(t *testing.T) *notifications {
	rec := &notifications{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	catalog, _ := NewCatalog("NOK", harnessProducts)
	svc, err := New(Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: harnessMSN, CallTimeout: 5 * time.Second,
		NotifyURL: srv.URL, NotifySecret: "notify-secret"}, catalog, h.db, h.client("shop"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc.SetClock(h.clock.Now)
	h.svc = svc
	return rec
}

// TestPendingNotificationWaitsForVipps: the order.pending notification is
// stored with the order, before the create is sent, and told once Vipps
// has confirmed the payment. An order whose create never reached Vipps is
// told as failed, never as pending.
func TestPendingNotificationWaitsForVipps(t *testing.T) {
	h := newHarness(t)
	rec := h.notifyingShop(t)
	res, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	h.runWorker()
	if got := rec.told(res.Order.Reference); strings.Join(got, ",") != "order.pending" {
		t.Fatalf("a created payment was told as %v", got)
	}

	h.sim.InjectFault(sim.Fault{Operation: "create", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 100}})
	if _, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "mug", Qty: 1}}}); err == nil {
		t.Fatal("checkout while vipps is down succeeded")
	}
	h.sim.ClearFaults()
	list, _, _ := h.store.List("", 1, state.ListFilter{})
	ref := list[0].Reference
	h.runWorker()
	if got := rec.told(ref); len(got) != 0 {
		t.Fatalf("a payment vipps never got was told as %v", got)
	}
	h.clock.Advance(createGrace)
	if _, err := h.svc.PollOnce(bg); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Status != state.StatusFailed {
		t.Fatalf("after the grace period: %s", o.Status)
	}
	h.runWorker()
	h.runWorker()
	if got := rec.told(ref); strings.Join(got, ",") != "order.failed" {
		t.Fatalf("a payment vipps never got was told as %v", got)
	}
}
