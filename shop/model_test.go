package shop

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// vippsModel is one payment's aggregate at Vipps, by the rules of the API
// reference (capture ≤ authorized, nothing after a release, refund ≤
// captured, a release takes all that is reserved, one outcome per
// Idempotency-Key), kept independently of the simulator and the shop.
type vippsModel struct {
	mu                                        sync.Mutex
	authorized, captured, cancelled, refunded int64
	outcome                                   map[string]bool  // kind/key → the first request's outcome
	amount                                    map[string]int64 // kind/key → the first request's amount
	errs                                      []string
}

func newVippsModel(authorized int64) *vippsModel {
	return &vippsModel{authorized: authorized, outcome: map[string]bool{}, amount: map[string]int64{}}
}

func (m *vippsModel) reserved() int64   { return m.authorized - m.captured - m.cancelled }
func (m *vippsModel) refundable() int64 { return m.captured - m.refunded }

// apply is what Vipps does with a modification; it reports success.
func (m *vippsModel) apply(kind, key string, amount int64) bool {
	id := kind + "/" + key
	if ok, seen := m.outcome[id]; seen {
		return ok && m.amount[id] == amount // a replay, or a conflicting reuse
	}
	ok := false
	switch kind {
	case OpCapture:
		ok = amount > 0 && m.cancelled == 0 && amount <= m.reserved()
		if ok {
			m.captured += amount
		}
	case OpRefund:
		ok = amount > 0 && amount <= m.refundable()
		if ok {
			m.refunded += amount
		}
	case OpCancel:
		ok = m.reserved() > 0
		if ok {
			m.cancelled += m.reserved()
		}
	}
	m.outcome[id], m.amount[id] = ok, amount
	return ok
}

// observe checks what the simulator answered against the model.
func (m *vippsModel) observe(mod modification) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ok := m.apply(mod.Kind, mod.Key, mod.Amount)
	if got := mod.Status >= 200 && mod.Status < 300; got != ok {
		m.errs = append(m.errs, fmt.Sprintf("%s of %d with key %s: vipps answered %d, the model says success=%v", mod.Kind, mod.Amount, mod.Key, mod.Status, ok))
	}
}

// modelRun is one sequence of steps on one order.
type modelRun struct {
	h     *harness
	ref   string
	model *vippsModel
	keys  map[string]func() // a merchant key → the request that used it, to retry
	nKeys int
}

// TestModelMoneyIsNeverStrandedOrTakenTwice drives one order at a time
// through random sequences of ships (an amount, all, lines; final or not),
// releases and refunds — some retried with the merchant's Idempotency-Key,
// some whose answer is lost, some refused by Vipps, some that die before
// they are sent — mixed with captures, refunds and releases made in the
// business portal, webhooks delivered late, twice, out of order or never,
// the poller, the outbox and "check at Vipps", and now and then several of
// these at once. Vipps' side is checked against an independent model of
// its aggregate. After every step: the order never holds more than Vipps
// says, captured ≤ authorized − released and refunded ≤ captured, and no
// Idempotency-Key is applied twice. After settling (webhooks, outbox,
// refresh): the order's amounts equal Vipps', nothing is left in doubt, and
// whatever is still reserved can be released and whatever is captured
// refunded.
//
// Seeded and reproducible (-rapid.seed); -rapid.checks and -rapid.steps
// make it longer.
func TestModelMoneyIsNeverStrandedOrTakenTwice(t *testing.T) {
	h := newHarness(t)
	var cur *vippsModel
	var curMu sync.Mutex
	h.onMod = func(m modification) {
		curMu.Lock()
		model := cur
		curMu.Unlock()
		if model != nil {
			model.observe(m)
		}
	}
	rapid.Check(t, func(rt *rapid.T) {
		curMu.Lock()
		cur = nil
		curMu.Unlock()
		cart := rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"socks", "mug", "book"}), 1, 3, rapid.ID[string]).Draw(rt, "cart")
		var lines []CartLine
		for _, sku := range cart {
			lines = append(lines, CartLine{SKU: sku, Qty: rapid.IntRange(1, 3).Draw(rt, "qty")})
		}
		o := h.authorizedOrder(lines...)
		r := &modelRun{h: h, ref: o.Reference, model: newVippsModel(o.Payment.Authorized), keys: map[string]func(){}}
		curMu.Lock()
		cur = r.model
		curMu.Unlock()
		rt.Repeat(map[string]func(*rapid.T){
			"ship":        func(t *rapid.T) { r.merchant(t, "ship", r.ship(t)) },
			"cancel":      func(t *rapid.T) { r.merchant(t, "cancel", r.cancel(t)) },
			"refund":      func(t *rapid.T) { r.merchant(t, "refund", r.refund(t)) },
			"retry":       r.retry,
			"portal":      r.portal,
			"webhook":     r.webhook,
			"return page": func(*rapid.T) { _, _ = h.svc.Refresh(bg, r.ref, state.SourceReturn) },
			"poller":      r.poll,
			"outbox":      func(*rapid.T) { h.runWorker() },
			"check at vipps": func(*rapid.T) {
				_, _ = h.svc.CheckAtVipps(bg, r.ref)
			},
			"race": r.race,
			"":     func(t *rapid.T) { r.check(t) },
		})
		r.settle(rt)
	})
}

// merchant runs a merchant request, with or without a key, maybe disturbed.
func (r *modelRun) merchant(t *rapid.T, kind string, run func(ctx context.Context, c Caller)) {
	c := Caller{Actor: "model"}
	if rapid.Bool().Draw(t, "keyed") {
		r.nKeys++
		c.Key = fmt.Sprintf("%s-%s-%d", r.ref, kind, r.nKeys)
	}
	ctx := bg
	switch rapid.IntRange(0, 5).Draw(t, "disturbance") {
	case 1: // the answer is lost: applied at Vipps, the shop does not know
		defer r.h.loseAnswers()()
	case 2: // Vipps unavailable for the whole call
		r.h.disturb(tapFault{Status: http.StatusServiceUnavailable}, tapFault{Status: http.StatusServiceUnavailable})
		defer r.h.clearFaults()
	case 3: // the process dies after recording, before sending
		cctx, cancel := context.WithCancel(bg)
		cancel()
		ctx = cctx
	}
	run(ctx, c)
	if c.Key != "" {
		r.keys[c.Key] = func() { run(bg, c) }
	}
}

func (r *modelRun) ship(t *rapid.T) func(context.Context, Caller) {
	o := r.h.order(r.ref)
	req := ShipRequest{Final: rapid.Bool().Draw(t, "final")}
	switch rapid.IntRange(0, 2).Draw(t, "what") {
	case 0:
		req.Amount = rapid.Int64Range(1, o.Amount+1000).Draw(t, "amount")
	case 1:
		req.All = true
	default:
		it := o.Items[rapid.IntRange(0, len(o.Items)-1).Draw(t, "item")]
		req.Lines = []CartLine{{SKU: it.SKU, Qty: rapid.IntRange(1, it.Qty+1).Draw(t, "lines qty")}}
	}
	return func(ctx context.Context, c Caller) {
		req.Caller = c
		_, _, _ = r.h.svc.Ship(ctx, r.ref, req)
	}
}

func (r *modelRun) cancel(*rapid.T) func(context.Context, Caller) {
	return func(ctx context.Context, c Caller) { _, _, _ = r.h.svc.Cancel(ctx, r.ref, c) }
}

func (r *modelRun) refund(t *rapid.T) func(context.Context, Caller) {
	req := RefundRequest{All: rapid.Bool().Draw(t, "refund all")}
	if !req.All {
		req.Amount = rapid.Int64Range(1, r.h.order(r.ref).Amount+1000).Draw(t, "refund amount")
	}
	return func(ctx context.Context, c Caller) {
		req.Caller = c
		_, _, _ = r.h.svc.Refund(ctx, r.ref, req)
	}
}

// retry sends a keyed request again, as a merchant's system does when its
// answer was lost.
func (r *modelRun) retry(t *rapid.T) {
	if len(r.keys) == 0 {
		t.Skip("no keyed request yet")
	}
	var keys []string
	for k := range r.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	r.keys[rapid.SampledFrom(keys).Draw(t, "key")]()
}

// portal moves money in the business portal: the same Vipps, its own keys.
func (r *modelRun) portal(t *rapid.T) {
	r.nKeys++
	key := fmt.Sprintf("portal-%s-%d", r.ref, r.nKeys)
	amount := vipps.Amount{Currency: "NOK", Value: rapid.Int64Range(1, r.model.authorized).Draw(t, "portal amount")}
	switch rapid.SampledFrom([]string{OpCapture, OpRefund, OpCancel}).Draw(t, "portal op") {
	case OpCapture:
		_, _ = r.h.portal.CapturePayment(bg, r.ref, key, amount)
	case OpRefund:
		_, _ = r.h.portal.RefundPayment(bg, r.ref, key, amount)
	default:
		_, _ = r.h.portal.CancelPayment(bg, r.ref, key, false)
	}
}

// webhook delivers one of the payment's events, old or new, again or for
// the first time; events never picked are lost.
func (r *modelRun) webhook(t *rapid.T) {
	p := r.h.atVipps(r.ref)
	ev := p.Events[rapid.IntRange(0, len(p.Events)-1).Draw(t, "event")]
	if err := r.h.svc.HandleWebhook(bg, webhookOf(ev)); err != nil {
		t.Fatalf("webhook: %v", err)
	}
}

// webhookOf is the delivery Vipps makes of a payment event: its name,
// amount, Idempotency-Key and outcome.
func webhookOf(ev vipps.PaymentEvent) *vipps.WebhookEvent {
	return &vipps.WebhookEvent{MSN: harnessMSN, Reference: ev.Reference, PSPReference: ev.PSPReference, Name: ev.Name,
		Amount: ev.Amount, Timestamp: ev.Timestamp, IdempotencyKey: ev.IdempotencyKey, Success: ev.Success}
}

// poll lets time pass until the poller looks at orders with money reserved.
func (r *modelRun) poll(t *rapid.T) {
	r.h.clock.Advance(reservedCheckInterval + 1)
	if _, err := r.h.svc.PollOnce(bg); err != nil {
		t.Fatalf("poller: %v", err)
	}
}

// race runs a merchant operation, the return page, a webhook and the
// worker at once: the arbiter must admit them one at a time.
func (r *modelRun) race(t *rapid.T) {
	ship, refund := r.ship(t), r.refund(t)
	var wg sync.WaitGroup
	for _, f := range []func(){
		func() { ship(bg, Caller{Actor: "race"}) },
		func() { _, _, _ = r.h.svc.Cancel(bg, r.ref, Caller{Actor: "race"}) },
		func() { refund(bg, Caller{Actor: "race"}) },
		func() { _, _ = r.h.svc.Refresh(bg, r.ref, state.SourceReturn) },
		func() { _ = r.h.svc.HandleWebhook(bg, &vipps.WebhookEvent{MSN: harnessMSN, Reference: r.ref}) },
		func() { _, _ = r.h.svc.RunJobsOnce(bg) },
	} {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	wg.Wait()
}

// check holds after every step.
func (r *modelRun) check(t *rapid.T) {
	m := r.model
	m.mu.Lock()
	errs := append([]string(nil), m.errs...)
	mA, mC, mX, mR := m.authorized, m.captured, m.cancelled, m.refunded
	m.mu.Unlock()
	for _, e := range errs {
		t.Fatalf("the simulator broke Vipps' rules: %s", e)
	}
	agg := r.h.atVipps(r.ref).Aggregate
	if agg.AuthorizedAmount.Value != mA || agg.CapturedAmount.Value != mC || agg.CancelledAmount.Value != mX || agg.RefundedAmount.Value != mR {
		t.Fatalf("vipps holds %+v, the model %d/%d/%d/%d", agg, mA, mC, mX, mR)
	}
	o := r.h.order(r.ref)
	p := o.Payment
	if p.Reserved() < 0 || p.Refundable() < 0 {
		t.Fatalf("order breaks the money rules: %+v", p)
	}
	if p.Authorized > mA || p.Captured > mC || p.Cancelled > mX || p.Refunded > mR {
		t.Fatalf("the order believes in more than vipps has: %+v, vipps %d/%d/%d/%d", p, mA, mC, mX, mR)
	}
	if o.Status != state.DeriveStatus(p, o.Status) {
		t.Fatalf("status %s does not name the amounts %+v", o.Status, p)
	}
	keys, clientKeys := map[string]bool{}, map[string]bool{}
	for _, op := range o.Ops {
		if keys[op.IdempotencyKey] || (op.ClientKey != "" && clientKeys[op.ClientKey]) {
			t.Fatalf("two operations share a key: %+v", o.Ops)
		}
		keys[op.IdempotencyKey], clientKeys[op.ClientKey] = true, op.ClientKey != ""
	}
	perKey := map[string]int{}
	for _, ev := range r.h.atVipps(r.ref).Events {
		if ev.IdempotencyKey != "" && (ev.Name == vipps.EventCaptured || ev.Name == vipps.EventRefunded) {
			perKey[string(ev.Name)+ev.IdempotencyKey]++
			if perKey[string(ev.Name)+ev.IdempotencyKey] > 1 {
				t.Fatalf("vipps applied key %s twice", ev.IdempotencyKey)
			}
		}
	}
}

// settle lets everything catch up, then checks that the order agrees with
// Vipps and that no money is stuck.
func (r *modelRun) settle(t *rapid.T) {
	r.h.clearFaults()
	for _, ev := range r.h.atVipps(r.ref).Events {
		_ = r.h.svc.HandleWebhook(bg, webhookOf(ev))
	}
	for range 5 {
		r.h.runWorker()
		if !hasPending(r.h.order(r.ref)) {
			break
		}
	}
	if _, err := r.h.svc.Refresh(bg, r.ref, state.SourcePoller); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	r.agrees(t, "after settling")
	if r.model.reserved() > 0 {
		var err error
		if rapid.Bool().Draw(t, "release rather than ship the rest") {
			_, _, err = r.h.svc.Cancel(bg, r.ref, Caller{})
		} else {
			_, _, err = r.h.svc.Ship(bg, r.ref, ShipRequest{All: true})
		}
		if err != nil || r.model.reserved() != 0 {
			t.Fatalf("%d stays reserved: %v", r.model.reserved(), err)
		}
	}
	if r.model.refundable() > 0 {
		if _, _, err := r.h.svc.Refund(bg, r.ref, RefundRequest{All: true}); err != nil || r.model.refundable() != 0 {
			t.Fatalf("%d stays refundable: %v", r.model.refundable(), err)
		}
	}
	r.agrees(t, "at the end")
}

func (r *modelRun) agrees(t *rapid.T, when string) {
	r.check(t)
	o := r.h.order(r.ref)
	if hasPending(o) {
		t.Fatalf("%s an operation is still in doubt: %+v", when, o.Ops)
	}
	if !sameMoney(o, r.h.atVipps(r.ref)) {
		t.Fatalf("%s the order holds %+v, vipps %+v", when, o.Payment, r.h.atVipps(r.ref).Aggregate)
	}
}

func hasPending(o *state.Order) bool {
	for _, op := range o.Ops {
		if op.Status == OpPending {
			return true
		}
	}
	return false
}
