package handlers

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// request is one merchant request the model sent, with every answer it
// got (the first, and those of its retries).
type request struct {
	kind, path, body, key string
	answers               []answer
}

// answer is what the merchant was told.
type answer struct {
	status int
	title  string // a problem's title
	op     *Operation
	money  Money
}

// modelShop is one sequence of steps on one order.
type modelShop struct {
	x        *shopHarness
	portal   *vipps.Client
	ref      string
	requests []*request
	faults   map[string]int
}

// TestModelEveryAnswerIsTrue drives one order at a time through the
// merchant API over HTTP — ships (an amount, all, lines; final or not),
// releases and refunds, with the merchant's Idempotency-Key or without,
// retried with the same key — while the order database and Vipps fail the
// ways real ones do: a commit applied whose answer is lost, a commit
// refused, a read refused, the store closed under a request (a reload);
// a call Vipps carries out and whose answer is lost, one answered 409 or
// 500 after it was applied, 409 for a key in flight, 503 without doing
// anything. Mixed in: captures, refunds and releases made in the business
// portal, webhooks late, twice or never, the poller, the outbox and "check
// at Vipps". Against Vipps' ledger and the database read past the faults,
// after every step:
//
//   - every 2xx names an operation that is recorded, of the kind and amount
//     asked, and a 200 one that Vipps carried out; the money it shows was
//     recorded (never more than the order now holds);
//   - no money moved that no caller asked for: every capture, release and
//     refund at Vipps carries the key of a recorded operation or the
//     portal's, and no key is applied twice;
//   - no operation was started by a request answered 4xx;
//   - captured ≤ reserved, refunded ≤ captured, nothing negative, and the
//     order never holds more than Vipps;
//   - no operation is pending without the outbox job that finishes it.
//
// After settling, a retry of every request whose answer was 5xx gets a
// definite answer with its same key, the order agrees with Vipps, nothing
// is in doubt, and what stays reserved or captured can still be released
// or refunded.
//
// Seeded and reproducible (-rapid.seed). Without -rapid.steps it runs 60
// steps per sequence (with rapid's 100 sequences, 6,000 steps).
func TestModelEveryAnswerIsTrue(t *testing.T) {
	if f := flag.Lookup("rapid.steps"); f != nil && !flagSet("rapid.steps") {
		_ = f.Value.Set("60")
		defer func() { _ = f.Value.Set(f.DefValue) }()
	}
	x := newShopHarness(t)
	portal, err := vipps.New(vipps.Config{BaseURL: x.simURL, ClientID: "portal", ClientSecret: "secret", SubscriptionKey: "key",
		MerchantSerialNumber: "123456", MaxRetries: 1, RetryBaseDelay: time.Millisecond, Now: x.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var steps atomic.Int64
	faults := map[string]int{}
	rapid.Check(t, func(rt *rapid.T) {
		x.faults.Decide(nil)
		x.faults.Reopen()
		x.sim.ClearFaults()
		m := &modelShop{x: x, portal: portal, ref: x.authorized(), faults: faults}
		rt.Repeat(map[string]func(*rapid.T){
			"ship":   func(t *rapid.T) { m.send(t, m.newRequest(t, shop.OpCapture)) },
			"cancel": func(t *rapid.T) { m.send(t, m.newRequest(t, shop.OpCancel)) },
			"refund": func(t *rapid.T) { m.send(t, m.newRequest(t, shop.OpRefund)) },
			"retry":  m.retry,
			"portal": m.portalMove,
			"webhook": func(t *rapid.T) {
				evs := x.atVipps(m.ref).Events
				ev := evs[rapid.IntRange(0, len(evs)-1).Draw(t, "event")]
				_ = x.svc.HandleWebhook(context.Background(), eventOf(ev))
			},
			"poller": func(*rapid.T) {
				x.clock.Advance(time.Hour)
				_, _ = x.svc.PollOnce(context.Background())
			},
			"outbox":         func(*rapid.T) { x.runWorker() },
			"check at vipps": func(*rapid.T) { _, _ = x.svc.CheckAtVipps(context.Background(), m.ref) },
			"": func(t *rapid.T) {
				steps.Add(1)
				m.check(t)
			},
		})
		m.settle(rt)
	})
	t.Logf("%d steps; faults injected: %v", steps.Load(), faults)
}

// flagSet reports whether a flag was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func eventOf(ev vipps.PaymentEvent) *vipps.WebhookEvent {
	return &vipps.WebhookEvent{MSN: "123456", Reference: ev.Reference, PSPReference: ev.PSPReference, Name: ev.Name,
		Amount: ev.Amount, Timestamp: ev.Timestamp, IdempotencyKey: ev.IdempotencyKey, Success: ev.Success}
}

// newRequest draws a merchant request of a kind.
func (m *modelShop) newRequest(t *rapid.T, kind string) *request {
	o := m.x.order(m.ref)
	r := &request{kind: kind}
	switch kind {
	case shop.OpCapture:
		r.path = "/vipps/orders/" + m.ref + "/ship"
		final := ""
		if rapid.Bool().Draw(t, "final") {
			final = `,"final":true`
		}
		switch rapid.IntRange(0, 3).Draw(t, "what") {
		case 0:
			r.body = fmt.Sprintf(`{"amount":%d%s}`, rapid.Int64Range(1, o.Amount+1000).Draw(t, "amount"), final)
		case 1:
			r.body = `{"all":true` + final + `}`
		case 2:
			r.body = ""
		default:
			it := o.Items[rapid.IntRange(0, len(o.Items)-1).Draw(t, "item")]
			r.body = fmt.Sprintf(`{"lines":[{"sku":%q,"qty":%d}]%s}`, it.SKU, rapid.IntRange(1, it.Qty+1).Draw(t, "qty"), final)
		}
	case shop.OpCancel:
		r.path = "/vipps/orders/" + m.ref + "/cancel"
	default:
		r.path = "/vipps/orders/" + m.ref + "/refund"
		if rapid.Bool().Draw(t, "refund all") {
			r.body = `{"all":true}`
		} else {
			r.body = fmt.Sprintf(`{"amount":%d}`, rapid.Int64Range(1, o.Amount+1000).Draw(t, "refund amount"))
		}
	}
	if rapid.Bool().Draw(t, "keyed") {
		r.key = fmt.Sprintf("%s-%d", m.ref, len(m.requests))
	}
	m.requests = append(m.requests, r)
	return r
}

// retry sends a keyed request again with its key, as a merchant's system
// does when an answer was lost or said to retry.
func (m *modelShop) retry(t *rapid.T) {
	var keyed []*request
	for _, r := range m.requests {
		if r.key != "" {
			keyed = append(keyed, r)
		}
	}
	if len(keyed) == 0 {
		t.Skip("no keyed request yet")
	}
	m.send(t, rapid.SampledFrom(keyed).Draw(t, "request"))
}

// send sends a request while the database and Vipps fail as drawn, and
// keeps its answer.
func (m *modelShop) send(t *rapid.T, r *request) {
	m.disturb(t, r.kind)
	m.sendAsIs(t, r)
}

// sendAsIs sends a request as things are, and keeps its answer.
func (m *modelShop) sendAsIs(t *rapid.T, r *request) {
	resp, body := m.x.merchant(http.MethodPost, r.path, r.body, r.key)
	m.x.faults.Decide(nil)
	m.x.faults.Reopen()
	m.x.sim.ClearFaults()
	a := answer{status: resp.StatusCode}
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted:
		var o OperationResponse
		if err := json.Unmarshal(body, &o); err != nil || o.Operation == nil {
			t.Fatalf("a %d without its operation: %s", resp.StatusCode, body)
		}
		a.op, a.money = o.Operation, o.Payment
	case resp.Header.Get("Content-Type") == "application/problem+json":
		var p Problem
		_ = json.Unmarshal(body, &p)
		a.title = p.Title
	default:
		t.Fatalf("%s answered %d %s: %s", r.kind, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp.StatusCode == http.StatusInternalServerError {
		t.Fatalf("%s answered 500: %s", r.kind, body)
	}
	r.answers = append(r.answers, a)
}

// disturb draws how the database and Vipps fail during one request.
func (m *modelShop) disturb(t *rapid.T, kind string) {
	switch rapid.IntRange(0, 3).Draw(t, "database") {
	case 1, 2:
		fault := rapid.SampledFrom([]storefault.Fault{storefault.LoseAnswer, storefault.Refuse, storefault.Close}).Draw(t, "database fault")
		write := rapid.IntRange(1, 5).Draw(t, "at write")
		reads := rapid.Bool().Draw(t, "reads fail too")
		n := 0
		m.x.faults.Decide(func(c storefault.Call) storefault.Fault {
			if !c.Write {
				if reads {
					return storefault.Refuse
				}
				return storefault.None
			}
			if n++; n == write {
				m.faults["database "+fault.String()]++
				return fault
			}
			return storefault.None
		})
	}
	op := map[string]string{shop.OpCapture: "capture", shop.OpCancel: "cancel", shop.OpRefund: "refund"}[kind]
	if i := rapid.IntRange(0, len(vippsFaults)).Draw(t, "vipps"); i < len(vippsFaults) {
		f := vippsFaults[i]
		m.faults["vipps "+f.name]++
		f.fault.Operation, f.fault.Budget = op, sim.Budget{Count: 8}
		m.x.sim.InjectFault(f.fault)
	}
}

// vippsFaults are the ways Vipps fails a modification in the model, each
// for all the attempts of one call.
var vippsFaults = []struct {
	name  string
	fault sim.Fault
}{
	{"answer lost", sim.Fault{DropAfterCommit: true}},
	{"409 after applying", sim.Fault{StatusAfterCommit: http.StatusConflict}},
	{"500 after applying", sim.Fault{StatusAfterCommit: http.StatusInternalServerError}},
	{"409 in flight", sim.Fault{Status: http.StatusConflict}},
	{"503", sim.Fault{Status: http.StatusServiceUnavailable}},
}

// portalMove moves money in the business portal: the same Vipps, its own
// keys.
func (m *modelShop) portalMove(t *rapid.T) {
	key := fmt.Sprintf("portal-%s-%d", m.ref, len(m.requests))
	m.requests = append(m.requests, &request{kind: "portal"})
	amount := vipps.Amount{Currency: "NOK", Value: rapid.Int64Range(1, m.x.order(m.ref).Amount).Draw(t, "portal amount")}
	ctx := context.Background()
	switch rapid.SampledFrom([]string{shop.OpCapture, shop.OpRefund, shop.OpCancel}).Draw(t, "portal op") {
	case shop.OpCapture:
		_, _ = m.portal.CapturePayment(ctx, m.ref, key, amount)
	case shop.OpRefund:
		_, _ = m.portal.RefundPayment(ctx, m.ref, key, amount)
	default:
		_, _ = m.portal.CancelPayment(ctx, m.ref, key, false)
	}
}

// check holds after every step.
func (m *modelShop) check(t *rapid.T) {
	o := m.x.order(m.ref)
	p := m.x.atVipps(m.ref)
	agg := p.Aggregate
	op := func(id string) *state.Operation {
		for i := range o.Ops {
			if o.Ops[i].ID == id {
				return &o.Ops[i]
			}
		}
		return nil
	}
	applied := map[string]int{} // a Vipps key → the events that carry it
	for _, ev := range p.Events {
		switch ev.Name {
		case vipps.EventCaptured, vipps.EventRefunded, vipps.EventCancelled:
			if ev.Success {
				applied[ev.IdempotencyKey]++
			}
		}
	}
	// Every 2xx names a recorded operation of the kind asked; a 200 one
	// that Vipps carried out; the money shown was recorded.
	for _, r := range m.requests {
		for _, a := range r.answers {
			if a.op == nil {
				continue
			}
			rec := op(a.op.ID)
			if rec == nil {
				t.Fatalf("%s answered %d with operation %s, which is not recorded", r.kind, a.status, a.op.ID)
			}
			if rec.Kind != r.kind || rec.Amount != a.op.Amount {
				t.Fatalf("%s %s answered with a %s of %d, recorded as a %s of %d", r.kind, r.body, a.op.Kind, a.op.Amount, rec.Kind, rec.Amount)
			}
			if a.status == http.StatusOK && a.op.Status == shop.OpDone && applied[rec.IdempotencyKey] == 0 {
				t.Fatalf("%s answered done, and vipps never carried it out: %+v", r.kind, rec)
			}
			if a.status == http.StatusOK && a.op.Status == shop.OpPending {
				t.Fatalf("%s answered 200 for an operation still pending", r.kind)
			}
			if a.money.Captured > o.Payment.Captured || a.money.Refunded > o.Payment.Refunded || a.money.Cancelled > o.Payment.Cancelled {
				t.Fatalf("%s showed money the order does not hold: %+v, recorded %+v", r.kind, a.money, o.Payment)
			}
		}
	}
	// No money moved that nobody asked for, and no key twice.
	keys := map[string]bool{}
	for _, op := range o.Ops {
		keys[op.IdempotencyKey] = true
	}
	for _, ev := range p.Events {
		if ev.Name != vipps.EventCaptured && ev.Name != vipps.EventRefunded && ev.Name != vipps.EventCancelled {
			continue
		}
		if !keys[ev.IdempotencyKey] && !isPortalKey(ev.IdempotencyKey) {
			t.Fatalf("vipps holds a %s of %d with key %q that no operation of the shop or the portal has", ev.Name, ev.Amount.Value, ev.IdempotencyKey)
		}
	}
	for key, n := range applied {
		if n > 1 && key != "" {
			t.Fatalf("vipps applied key %s %d times", key, n)
		}
	}
	// No operation that moved (or may move) money from a request that was
	// answered 4xx only: a refusal by Vipps is recorded as failed.
	for _, rec := range o.Ops {
		if rec.Follows != "" || rec.Status == shop.OpFailed {
			continue
		}
		if rec.ClientKey != "" && !answeredOpen(m.requests, rec.ClientKey) {
			t.Fatalf("operation %s (%s) of key %s, whose requests were all refused", rec.ID, rec.Status, rec.ClientKey)
		}
	}
	unkeyedOps, unkeyedOpen := 0, 0
	for _, rec := range o.Ops {
		if rec.Follows == "" && rec.ClientKey == "" && rec.Status != shop.OpFailed {
			unkeyedOps++
		}
	}
	for _, r := range m.requests {
		if r.key == "" && r.kind != "portal" && len(r.answers) > 0 && open(r.answers[0].status) {
			unkeyedOpen++
		}
	}
	if unkeyedOps > unkeyedOpen {
		t.Fatalf("%d operations without a key from %d requests that were not refused", unkeyedOps, unkeyedOpen)
	}
	// The money rules, and never more than Vipps holds.
	pay := o.Payment
	if pay.Reserved() < 0 || pay.Refundable() < 0 || pay.Captured > pay.Authorized-pay.Cancelled && pay.Authorized > 0 {
		t.Fatalf("the order breaks the money rules: %+v", pay)
	}
	if pay.Authorized > agg.AuthorizedAmount.Value || pay.Captured > agg.CapturedAmount.Value || pay.Cancelled > agg.CancelledAmount.Value || pay.Refunded > agg.RefundedAmount.Value {
		t.Fatalf("the order believes in more than vipps holds: %+v, vipps %+v", pay, agg)
	}
	// No operation pending without the job that finishes it.
	for _, rec := range o.Ops {
		if rec.Status == shop.OpPending && !hasJob(t, m.x.store, "op-"+rec.ID) {
			t.Fatalf("operation %s is pending with no job to finish it", rec.ID)
		}
	}
}

func isPortalKey(k string) bool { return len(k) > 7 && k[:7] == "portal-" }

// open reports whether a status leaves room for a change: done, pending,
// or not known.
func open(status int) bool {
	return status == http.StatusOK || status == http.StatusAccepted || status >= 500
}

// answeredOpen reports whether a request with key got an answer that
// leaves room for a change.
func answeredOpen(requests []*request, key string) bool {
	for _, r := range requests {
		if r.key != key {
			continue
		}
		for _, a := range r.answers {
			if open(a.status) {
				return true
			}
		}
	}
	return false
}

// settle lets everything catch up, then: every request left undecided
// gets a definite answer from its same key, the order agrees with Vipps,
// nothing is in doubt, and no money is stuck.
func (m *modelShop) settle(t *rapid.T) {
	x := m.x
	x.faults.Decide(nil)
	x.faults.Reopen()
	x.sim.ClearFaults()
	for _, ev := range x.atVipps(m.ref).Events {
		_ = x.svc.HandleWebhook(context.Background(), eventOf(ev))
	}
	for range 5 {
		x.runWorker()
	}
	for _, r := range slices.Clone(m.requests) {
		if r.key == "" || len(r.answers) == 0 || r.answers[len(r.answers)-1].status < 500 {
			continue
		}
		m.sendAsIs(t, r)
		a := r.answers[len(r.answers)-1]
		if a.status >= 500 || (a.status == http.StatusConflict && a.title == "Request in progress") {
			x.clock.Advance(x.svc.Handover())
			m.sendAsIs(t, r)
			a = r.answers[len(r.answers)-1]
		}
		if a.status >= 500 {
			t.Fatalf("%s with key %s is still undecided once nothing fails: %d %s", r.kind, r.key, a.status, a.title)
		}
	}
	for range 5 {
		x.runWorker()
	}
	if _, err := x.svc.Refresh(context.Background(), m.ref, state.SourcePoller); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	m.check(t)
	m.agrees(t, "after settling")
	ctx := context.Background()
	if x.order(m.ref).Payment.Reserved() > 0 {
		if _, _, err := x.svc.Cancel(ctx, m.ref, shop.Caller{}); err != nil {
			t.Fatalf("releasing the rest: %v", err)
		}
	}
	if x.order(m.ref).Payment.Refundable() > 0 {
		if _, _, err := x.svc.Refund(ctx, m.ref, shop.RefundRequest{All: true}); err != nil {
			t.Fatalf("refunding the rest: %v", err)
		}
	}
	m.agrees(t, "at the end")
}

func (m *modelShop) agrees(t *rapid.T, when string) {
	o := m.x.order(m.ref)
	for _, op := range o.Ops {
		if op.Status == shop.OpPending {
			t.Fatalf("%s an operation is still in doubt: %+v", when, op)
		}
	}
	a := m.x.atVipps(m.ref).Aggregate
	if o.Payment.Authorized != a.AuthorizedAmount.Value || o.Payment.Captured != a.CapturedAmount.Value ||
		o.Payment.Cancelled != a.CancelledAmount.Value || o.Payment.Refunded != a.RefundedAmount.Value {
		t.Fatalf("%s the order holds %+v, vipps %+v", when, o.Payment, a)
	}
}
