package shop

import (
	"context"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// TestCancelInDoubtIsSettledByItsKey: a cancel whose answer was lost is
// found in Vipps' event log by its idempotency key and recorded done,
// without being sent again.
func TestCancelInDoubtIsSettledByItsKey(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	stop := h.loseAnswers()
	_, op, err := h.svc.Cancel(bg, ref, Caller{})
	stop()
	if err == nil || op.Status != OpPending {
		t.Fatalf("lost answer: %v %+v", err, op)
	}
	sent := len(h.mods)
	h.runWorker()
	o := h.order(ref)
	if got := findOp(o, op.ID); got.Status != OpDone || len(h.mods) != sent {
		t.Fatalf("settled %+v after %d more calls", got, len(h.mods)-sent)
	}
	if o.Status != state.StatusCancelled || !sameMoney(o, h.atVipps(ref)) || eventsWithKey(h.atVipps(ref), op.IdempotencyKey) != 1 {
		t.Fatalf("order %s %+v", o.Status, o.Payment)
	}
}

// TestCancelInDoubtIsNotTakenForAnotherRelease: while a cancel that never
// reached Vipps is in doubt, the business portal releases the money with
// its own key. The release is not the shop's cancel: the shop's is sent
// with its key, Vipps refuses it (nothing is left to release), and it is
// recorded failed, while the order shows the release.
func TestCancelInDoubtIsNotTakenForAnotherRelease(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, op, _ := h.svc.Cancel(ctx, ref, Caller{})
	if op == nil || op.Status != OpPending || len(h.mods) != 0 {
		t.Fatalf("cancel recorded but not sent: %+v, calls %d", op, len(h.mods))
	}
	if _, err := h.portal.CancelPayment(bg, ref, "portal-cancel-1", false); err != nil {
		t.Fatal(err)
	}
	h.runWorker()
	o := h.order(ref)
	got := findOp(o, op.ID)
	if got.Status != OpFailed || len(h.mods) != 2 || h.mods[1].Key != op.IdempotencyKey {
		t.Fatalf("the shop's cancel: %+v; calls %+v", got, h.mods)
	}
	p := h.atVipps(ref)
	if o.Status != state.StatusCancelled || !sameMoney(o, p) || eventsWithKey(p, "portal-cancel-1") != 1 || eventsWithKey(p, op.IdempotencyKey) != 0 {
		t.Fatalf("order %s %+v, vipps %+v", o.Status, o.Payment, p.Events)
	}
}

// TestCancelInDoubtWithAKeylessEvent: Vipps' own example event log shows
// a CANCELLED event without an idempotency key. When the log has such an
// event, the money decides: released means the cancel was applied, and it
// is not sent again.
func TestCancelInDoubtWithAKeylessEvent(t *testing.T) {
	h := newHarness(t)
	h.sim.Configure(sim.Settings{CancelledWithoutKey: true})
	ref := h.authorizedOrder().Reference
	stop := h.loseAnswers()
	_, op, err := h.svc.Cancel(bg, ref, Caller{})
	stop()
	if err == nil || op.Status != OpPending {
		t.Fatalf("lost answer: %v %+v", err, op)
	}
	p := h.atVipps(ref)
	if last := p.Events[len(p.Events)-1]; last.Name != vipps.EventCancelled || last.IdempotencyKey != "" {
		t.Fatalf("the simulator's CANCELLED event: %+v", last)
	}
	sent := len(h.mods)
	h.runWorker()
	o := h.order(ref)
	if got := findOp(o, op.ID); got.Status != OpDone || len(h.mods) != sent {
		t.Fatalf("settled %+v after %d more calls", got, len(h.mods)-sent)
	}
	if o.Status != state.StatusCancelled || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("order %s %+v", o.Status, o.Payment)
	}
}
