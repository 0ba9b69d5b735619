package shop

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

var bg = context.Background()

func TestShipAndRefundSayWhatToMove(t *testing.T) {
	h := newHarness(t)
	o := h.authorizedOrder()
	bad := []ShipRequest{
		{},
		{Amount: -5},
		{Amount: MaxAmount + 1},
		{Amount: 100, All: true},
		{Amount: 100, Lines: []CartLine{{SKU: "socks", Qty: 1}}},
		{All: true, Lines: []CartLine{{SKU: "socks", Qty: 1}}},
		{All: true, TrackingURL: "ftp://x"},
	}
	for _, req := range bad {
		if _, _, err := h.svc.Ship(bg, o.Reference, req); !isInput(err) {
			t.Errorf("Ship(%+v) = %v, want an input error", req, err)
		}
	}
	for _, req := range []RefundRequest{{}, {Amount: -1}, {Amount: 5, All: true}} {
		if _, _, err := h.svc.Refund(bg, o.Reference, req); !isInput(err) {
			t.Errorf("Refund(%+v) = %v, want an input error", req, err)
		}
	}
	if got := h.order(o.Reference); len(got.Ops) != 0 || got.Payment.Captured != 0 || len(h.mods) != 0 {
		t.Fatalf("refused requests changed something: ops %d, captured %d, calls %d", len(got.Ops), got.Payment.Captured, len(h.mods))
	}
}

func isInput(err error) bool {
	var in *InputError
	return errors.As(err, &in)
}

func isState(err error) bool {
	var st *StateError
	return errors.As(err, &st)
}

// TestRefundAfterPartialCaptureStillReleasesTheRest: a refund after a
// partial capture does not strand what is still reserved.
func TestRefundAfterPartialCaptureStillReleasesTheRest(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference // 49700
	if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 14900}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Refund(bg, ref, RefundRequest{Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if o := h.order(ref); o.Status != state.StatusPartiallyCaptured || o.Payment.Reserved() != 34800 {
		t.Fatalf("after ship and refund: %s, reserved %d", o.Status, o.Payment.Reserved())
	}
	o, op, err := h.svc.Cancel(bg, ref, Caller{})
	if err != nil || op.Status != OpDone || op.Amount != 34800 {
		t.Fatalf("cancel after a refund: %v %+v", err, op)
	}
	if o.Status != state.StatusPartiallyRefunded || o.Payment.Reserved() != 0 || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("after cancel: %s %+v, vipps %+v", o.Status, o.Payment, h.atVipps(ref).Aggregate)
	}
	// Nothing is reserved any more; the refundable rest still is.
	if _, _, err := h.svc.Cancel(bg, ref, Caller{}); !isState(err) || !strings.Contains(err.Error(), "can be refunded") {
		t.Fatalf("second cancel: %v", err)
	}
	if _, op, err := h.svc.Refund(bg, ref, RefundRequest{All: true}); err != nil || op.Amount != 14800 {
		t.Fatalf("refund the rest: %v %+v", err, op)
	}
}

// TestPortalCaptureAfterFullRefundIsAbsorbed: Vipps is the ledger; what the
// business portal did is absorbed, never refused as an illegal transition.
func TestPortalCaptureAfterFullRefundIsAbsorbed(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference // 49700
	if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 14900}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Refund(bg, ref, RefundRequest{All: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.portal.CapturePayment(bg, ref, "portal-capture-1", amountNOK(34800)); err != nil {
		t.Fatal(err)
	}
	o, err := h.svc.Refresh(bg, ref, state.SourceWebhook)
	if err != nil {
		t.Fatalf("refresh after the portal's capture: %v", err)
	}
	if o.Status != state.StatusPartiallyRefunded || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("after the portal's capture: %s %+v", o.Status, o.Payment)
	}
	if _, op, err := h.svc.Refund(bg, ref, RefundRequest{All: true}); err != nil || op.Amount != 34800 {
		t.Fatalf("refund what the portal captured: %v %+v", err, op)
	}
	if o := h.order(ref); o.Status != state.StatusRefunded || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("at the end: %s %+v", o.Status, o.Payment)
	}
}

// TestStaleViewRefusedByVippsIsRecordedAndRefreshed: when the shop's view
// is stale (the portal released the rest), Vipps' refusal is recorded and
// the order catches up at once.
func TestStaleViewRefusedByVippsIsRecordedAndRefreshed(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	if _, err := h.portal.CancelPayment(bg, ref, "portal-cancel-1", false); err != nil {
		t.Fatal(err)
	}
	o, op, err := h.svc.Ship(bg, ref, ShipRequest{All: true})
	if !isState(err) || op == nil || op.Status != OpFailed || op.ErrorCode == "" {
		t.Fatalf("ship after the portal released: %v %+v", err, op)
	}
	if o.Status != state.StatusCancelled || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("order did not catch up: %s %+v", o.Status, o.Payment)
	}
}

// TestClientKeyFindsItsOperation: a merchant retrying with its own key gets
// the operation it started, never a second one, also when the first answer
// was lost.
func TestClientKeyFindsItsOperation(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	c := Caller{Actor: "erp", Key: "erp-ship-77"}
	_, op1, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 5000, Caller: c})
	if err != nil || op1.Status != OpDone {
		t.Fatal(err, op1)
	}
	_, op2, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 5000, Caller: c})
	if err != nil || op2.ID != op1.ID {
		t.Fatalf("retry with the same key: %v, op %s then %s", err, op1.ID, op2.ID)
	}
	// The answer lost on every attempt: the capture is applied at Vipps,
	// the merchant sees an open outcome and tries again with its key.
	stop := h.loseAnswers()
	c2 := Caller{Actor: "erp", Key: "erp-ship-78"}
	_, op3, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 5000, Caller: c2})
	stop()
	var un *UnavailableError
	if !errors.As(err, &un) || op3 == nil || op3.Status != OpPending {
		t.Fatalf("lost answer: %v %+v", err, op3)
	}
	_, op4, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 5000, Caller: c2})
	if err != nil || op4.ID != op3.ID || op4.Status != OpDone {
		t.Fatalf("retry after a lost answer: %v %+v", err, op4)
	}
	p := h.atVipps(ref)
	if p.Aggregate.CapturedAmount.Value != 10000 || eventsWithKey(p, op3.IdempotencyKey) != 1 {
		t.Fatalf("vipps captured %d, events with the key %d", p.Aggregate.CapturedAmount.Value, eventsWithKey(p, op3.IdempotencyKey))
	}
	// A key that started a capture cannot start a refund.
	if _, _, err := h.svc.Refund(bg, ref, RefundRequest{Amount: 100, Caller: c}); !errors.Is(err, ErrKeyReused) {
		t.Fatalf("the key for another operation: %v", err)
	}
}

// TestOperationInDoubtIsSettledFromTheEventLog: the outbox settles an
// operation whose answer was lost from Vipps' event log, without sending it
// again; one that never reached Vipps is sent.
func TestOperationInDoubtIsSettledFromTheEventLog(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	stop := h.loseAnswers()
	_, op, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 14900})
	stop()
	if err == nil || op.Status != OpPending {
		t.Fatalf("lost answer: %v %+v", err, op)
	}
	sent := len(h.mods)
	if _, _, err := h.svc.Cancel(bg, ref, Caller{}); !errors.Is(err, ErrInProgress) {
		t.Fatalf("another operation while one is open: %v", err)
	}
	h.runWorker()
	o := h.order(ref)
	if got := findOp(o, op.ID); got.Status != OpDone || len(h.mods) != sent {
		t.Fatalf("settled %+v after %d more calls", got, len(h.mods)-sent)
	}
	if !sameMoney(o, h.atVipps(ref)) || o.Payment.Captured != 14900 {
		t.Fatalf("order %+v", o.Payment)
	}

	// A request that died before it sent anything: the outbox sends it.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	_, op, _ = h.svc.Refund(ctx, ref, RefundRequest{Amount: 900})
	if op == nil || op.Status != OpPending || len(h.mods) != sent {
		t.Fatalf("refund recorded but not sent: %+v, calls %d", op, len(h.mods)-sent)
	}
	h.runWorker()
	p := h.atVipps(ref)
	if got := findOp(h.order(ref), op.ID); got.Status != OpDone || eventsWithKey(p, op.IdempotencyKey) != 1 || p.Aggregate.RefundedAmount.Value != 900 {
		t.Fatalf("refund after the worker: %+v, vipps %+v", got, p.Aggregate)
	}
}

// TestOperationInDoubtIsNeverGivenUp: while Vipps cannot be asked, the
// operation stays open and its job keeps trying past the usual limit; the
// moment Vipps answers, the order is unblocked.
func TestOperationInDoubtIsNeverGivenUp(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	h.disturb(tapFault{Status: http.StatusServiceUnavailable}, tapFault{Status: http.StatusServiceUnavailable})
	_, op, _ := h.svc.Ship(bg, ref, ShipRequest{All: true})
	h.sim.InjectFault(sim.Fault{Operation: "get", Status: http.StatusServiceUnavailable, Budget: sim.Budget{Count: 1000}})
	for range maxAttempts + 5 {
		h.clock.Advance(time.Hour + time.Minute)
		if _, err := h.svc.RunJobsOnce(bg); err != nil {
			t.Fatal(err)
		}
	}
	if dead, _ := h.store.DeadJobs(); len(dead) != 0 {
		t.Fatalf("an operation in doubt was given up: %+v", dead)
	}
	jobs, _ := h.store.PendingJobs()
	if len(jobs) != 1 || jobs[0].Attempts <= maxAttempts {
		t.Fatalf("operation job: %+v", jobs)
	}
	if !h.svc.InDoubt(*findOp(h.order(ref), op.ID)) {
		t.Fatal("the operation is not shown in doubt")
	}
	h.sim.ClearFaults()
	h.clock.Advance(time.Hour + time.Minute)
	if _, err := h.svc.RunJobsOnce(bg); err != nil {
		t.Fatal(err)
	}
	o := h.order(ref)
	if findOp(o, op.ID).Status != OpDone || o.Status != state.StatusCaptured || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("after Vipps answered: %s %+v", o.Status, findOp(o, op.ID))
	}
}

// TestCheckAtVippsSettlesABuriedOperation: an operation job an older
// version gave up on no longer blocks the order: "check at Vipps" settles it.
func TestCheckAtVippsSettlesABuriedOperation(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	stop := h.loseAnswers()
	_, op, _ := h.svc.Ship(bg, ref, ShipRequest{Amount: 10000})
	stop()
	if err := h.store.DeadJob(state.Job{ID: operationJobID(op.ID)}, errors.New("gave up")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 100}); !errors.Is(err, ErrInProgress) {
		t.Fatalf("blocked before the check: %v", err)
	}
	h.clock.Advance(OpHandover)
	o, err := h.svc.CheckAtVipps(bg, ref)
	if err != nil || findOp(o, op.ID).Status != OpDone || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("check at vipps: %v %+v", err, findOp(o, op.ID))
	}
	if dead, _ := h.store.DeadJobs(); len(dead) != 0 {
		t.Fatalf("the buried job is still listed: %+v", dead)
	}
	if _, op, err := h.svc.Ship(bg, ref, ShipRequest{Amount: 100}); err != nil || op.Status != OpDone {
		t.Fatalf("ship after the check: %v", err)
	}
}

// TestFinalShipmentReleasesTheRestEvenAfterACrash: the release after a
// final shipment is planned with the capture's outcome, so the outbox does
// it when the request could not.
func TestFinalShipmentReleasesTheRestEvenAfterACrash(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference
	o, op, err := h.svc.Ship(bg, ref, ShipRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}, Final: true})
	if err != nil || op.Amount != 14900 || o.Payment.Cancelled != 34800 || o.Status != state.StatusCaptured {
		t.Fatalf("final shipment: %v %+v %+v", err, op, o.Payment)
	}
	// Now the release fails: the capture is done, the release is planned.
	ref = h.authorizedOrder().Reference
	h.disturb(tapFault{}, tapFault{Status: http.StatusServiceUnavailable}, tapFault{Status: http.StatusServiceUnavailable})
	o, op, err = h.svc.Ship(bg, ref, ShipRequest{Amount: 10000, Final: true})
	if err != nil || op.Status != OpDone || o.Payment.Reserved() != 39700 {
		t.Fatalf("capture before a failed release: %v %+v %+v", err, op, o.Payment)
	}
	h.runWorker()
	if o := h.order(ref); o.Payment.Reserved() != 0 || o.Payment.Cancelled != 39700 || !sameMoney(o, h.atVipps(ref)) {
		t.Fatalf("the rest was not released: %+v", o.Payment)
	}
}

// TestShipLinesNeverOverflow: a huge quantity is refused before it is
// added, and nothing is recorded.
func TestShipLinesNeverOverflow(t *testing.T) {
	h := newHarness(t)
	ref := h.authorizedOrder().Reference // 2 socks, 1 mug
	if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}}); err != nil {
		t.Fatal(err)
	}
	before := h.order(ref)
	for _, lines := range [][]CartLine{
		{{SKU: "socks", Qty: math.MaxInt}},
		{{SKU: "socks", Qty: 1}, {SKU: "socks", Qty: math.MaxInt}},
		{{SKU: "mug", Qty: math.MaxInt - 1}, {SKU: "mug", Qty: 3}},
	} {
		if _, _, err := h.svc.Ship(bg, ref, ShipRequest{Lines: lines}); !isState(err) || !strings.Contains(err.Error(), "left to ship") {
			t.Errorf("ship %+v: %v", lines, err)
		}
	}
	after := h.order(ref)
	if len(after.Ops) != len(before.Ops) || len(after.History) != len(before.History) || after.Payment != before.Payment {
		t.Fatal("refused shipments changed the order")
	}
	if _, op, err := h.svc.Ship(bg, ref, ShipRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}, {SKU: "mug", Qty: 1}}}); err != nil || op.Amount != 14900+19900 {
		t.Fatalf("ship the rest: %v %+v", err, op)
	}
}

// TestCaptureDeadlineCountsFromVippsAuthorization: the deadline counts from
// Vipps' AUTHORIZED event, not from when the shop noticed.
func TestCaptureDeadlineCountsFromVippsAuthorization(t *testing.T) {
	h := newHarness(t)
	res, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "book", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	ref := res.Order.Reference
	approvedAt := h.clock.Now()
	if err := h.sim.Approve(ref); err != nil {
		t.Fatal(err)
	}
	// The shop hears of it three days later (webhooks and returns lost).
	h.clock.Advance(72 * time.Hour)
	if _, err := h.svc.Refresh(bg, ref, state.SourcePoller); err != nil {
		t.Fatal(err)
	}
	h.runWorker()
	o := h.order(ref)
	if want := approvedAt.AddDate(0, 0, 180); !o.Payment.CaptureDeadline.Equal(want) || !o.Payment.AuthorizedAt.Equal(approvedAt) {
		t.Fatalf("authorized at %v, deadline %v; want %v and %v", o.Payment.AuthorizedAt, o.Payment.CaptureDeadline, approvedAt, want)
	}
}

func TestCallTimeoutIsBounded(t *testing.T) {
	h := newHarness(t)
	catalog, _ := NewCatalog("NOK", harnessProducts)
	_, err := New(Config{PublicURL: "https://shop.example", CallTimeout: OpHandover}, catalog, h.store, h.client("x"), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("a call timeout as long as the hand-over: %v", err)
	}
}
