package shop

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestModelSingleUseLinkIsPaidOnce: buyers press Pay on one single-use
// link — by redirect or push, with their browser's attempt or without,
// the same buyer twice — while Vipps loses the create's answer, answers it
// 409 or 500 after making the payment, or 503 without; while the database
// loses a commit's answer, refuses one, or is closed under the request;
// and buyers approve or reject whatever payment Vipps shows them, or let
// it expire, with the poller, the outbox and webhooks in between. After
// every step: Vipps never holds two payments for the link that a buyer
// could approve or has approved (CREATED or AUTHORIZED) — so the link is
// paid at most once —, and the link's holder is the payment that waits
// or was paid. At the end, with nothing failing, a link that was not paid
// can still be paid.
func TestModelSingleUseLinkIsPaidOnce(t *testing.T) {
	h := newHarness(t)
	defer func(w, r time.Duration) { attemptWait, attemptResume = w, r }(attemptWait, attemptResume)
	attemptWait, attemptResume = 300*time.Millisecond, 20*time.Millisecond
	steps := 0
	rapid.Check(t, func(rt *rapid.T) {
		h.db.Decide(nil)
		h.db.Reopen()
		h.sim.ClearFaults()
		l, err := h.svc.CreateLink(LinkRequest{Charge: Charge{Lines: []CartLine{{SKU: "book", Qty: 1}}}})
		if err != nil {
			rt.Fatal(err)
		}
		attempts := []string{"", strings.Repeat("a", 20), strings.Repeat("b", 20)}
		rt.Repeat(map[string]func(*rapid.T){
			"pay": func(t *rapid.T) {
				pay := LinkPayment{Attempt: rapid.SampledFrom(attempts).Draw(t, "buyer")}
				if rapid.Bool().Draw(t, "push") {
					pay.Flow, pay.Phone = FlowPush, "4791234567"
				}
				h.disturbCreate(t)
				_, _ = h.svc.PayLink(context.Background(), l.Token, pay)
				h.db.Decide(nil)
				h.db.Reopen()
				h.sim.ClearFaults()
			},
			"approve": func(t *rapid.T) { h.buyerActs(t, l.ID, h.sim.Approve) },
			"reject":  func(t *rapid.T) { h.buyerActs(t, l.ID, h.sim.Reject) },
			"expire": func(*rapid.T) {
				h.clock.Advance(11 * time.Minute)
			},
			"poller": func(*rapid.T) {
				h.clock.Advance(firstCheckDelay + time.Second)
				_, _ = h.svc.PollOnce(context.Background())
			},
			"outbox": func(*rapid.T) { h.runWorker() },
			"webhook": func(t *rapid.T) {
				orders := h.linkOrders(l.ID)
				if len(orders) == 0 {
					t.Skip("no order yet")
				}
				o := rapid.SampledFrom(orders).Draw(t, "order")
				if p, ok := h.sim.Payment(o.Reference); ok {
					for _, ev := range p.Events {
						_ = h.svc.HandleWebhook(context.Background(), webhookOf(ev))
					}
				}
			},
			"": func(t *rapid.T) {
				steps++
				h.linkPaidOnce(t, l.ID)
			},
		})
		// Nothing fails any more: whatever was paid stays paid once, and a
		// link that was not paid takes a payment.
		// The poller, on its own schedule, ends whatever still waits
		// (Vipps expires a payment after ten minutes).
		for range 24 {
			h.clock.Advance(5 * time.Minute)
			_, _ = h.svc.PollOnce(context.Background())
			h.runWorker()
			cur, err := h.svc.Link(l.ID)
			if err != nil {
				rt.Fatal(err)
			}
			if h.svc.LinkStatus(cur) != LinkBusy {
				break
			}
		}
		h.linkPaidOnce(rt, l.ID)
		if !h.linkPaid(l.ID) {
			res, err := h.svc.PayLink(context.Background(), l.Token, LinkPayment{})
			if err != nil {
				rt.Fatalf("the link, not paid, takes no payment once nothing fails: %v", err)
			}
			if err := h.sim.Approve(res.Order.Reference); err != nil {
				rt.Fatal(err)
			}
			h.linkPaidOnce(rt, l.ID)
		}
	})
	t.Logf("%d steps", steps)
}

// disturbCreate draws how Vipps and the database fail during one press of
// Pay.
func (h *harness) disturbCreate(t *rapid.T) {
	switch rapid.IntRange(0, 5).Draw(t, "vipps") {
	case 1:
		h.sim.InjectFault(sim.Fault{Operation: "create", DropAfterCommit: true, Budget: sim.Budget{Count: 8}})
	case 2:
		h.sim.InjectFault(sim.Fault{Operation: "create", StatusAfterCommit: http.StatusConflict, Budget: sim.Budget{Count: 8}})
	case 3:
		h.sim.InjectFault(sim.Fault{Operation: "create", StatusAfterCommit: http.StatusInternalServerError, Budget: sim.Budget{Count: 8}})
	case 4:
		h.sim.InjectFault(sim.Fault{Operation: "create", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 8}})
	}
	if rapid.IntRange(0, 2).Draw(t, "database") == 0 {
		fault := rapid.SampledFrom([]storefault.Fault{storefault.LoseAnswer, storefault.Refuse, storefault.Close}).Draw(t, "database fault")
		at := rapid.IntRange(1, 4).Draw(t, "at write")
		n := 0
		h.db.Decide(func(c storefault.Call) storefault.Fault {
			if !c.Write {
				return storefault.None
			}
			if n++; n == at {
				return fault
			}
			return storefault.None
		})
	}
}

// buyerActs has a buyer act on one of the payments Vipps holds for the
// link's orders.
func (h *harness) buyerActs(t *rapid.T, link string, act func(string) error) {
	var waiting []string
	for _, o := range h.linkOrders(link) {
		if p, ok := h.sim.Payment(o.Reference); ok && p.State == vipps.StateCreated {
			waiting = append(waiting, o.Reference)
		}
	}
	if len(waiting) == 0 {
		t.Skip("no payment waits for a buyer")
	}
	_ = act(rapid.SampledFrom(waiting).Draw(t, "payment"))
}

// linkOrders reads the link's orders past the faults.
func (h *harness) linkOrders(link string) []*state.Order {
	orders, _, err := h.store.List("", 100, state.ListFilter{Link: link})
	if err != nil {
		h.t.Fatal(err)
	}
	return orders
}

// linkPaid reports whether Vipps holds an approved payment for the link.
func (h *harness) linkPaid(link string) bool {
	for _, o := range h.linkOrders(link) {
		if p, ok := h.sim.Payment(o.Reference); ok && p.Aggregate.AuthorizedAmount.Value > 0 {
			return true
		}
	}
	return false
}

// linkPaidOnce: Vipps holds at most one payment for the link that a buyer
// could approve or has approved.
func (h *harness) linkPaidOnce(t interface{ Fatalf(string, ...any) }, link string) {
	var live []string
	for _, o := range h.linkOrders(link) {
		p, ok := h.sim.Payment(o.Reference)
		if ok && (p.State == vipps.StateCreated || p.Aggregate.AuthorizedAmount.Value > 0) {
			live = append(live, fmt.Sprintf("%s %s", o.Reference, p.State))
		}
	}
	if len(live) > 1 {
		t.Fatalf("a single-use link has %d payments a buyer could pay or paid: %v", len(live), live)
	}
}
