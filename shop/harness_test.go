package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
)

// harness is a shop on real parts, without Caddy: the simulator over real
// HTTP, Badger on disk, the real client, one fake clock for all three. The
// simulator answers through a tap that lets tests see every capture,
// cancel and refund that reaches it.
type harness struct {
	t      testing.TB
	clock  *sim.FakeClock
	sim    *sim.Simulator
	srv    *httptest.Server
	store  *state.BadgerStore
	db     *storefault.Store // the store the shop uses: store, with faults when a test asks
	svc    *Service
	portal *vipps.Client // the business portal: the same sales unit, its own keys

	modMu  sync.Mutex
	mu     sync.Mutex
	mods   []modification
	faults []tapFault
	onMod  func(modification) // called for every modification the simulator handled
	gets   int                // payments read at the simulator
	// onRequest, when set, is called as each request reaches the
	// simulator; what it returns is called when the answer is written.
	onRequest func(*http.Request) func()
}

// reads is how many times the shop has read a payment at the simulator.
func (h *harness) reads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.gets
}

// modification is a capture, cancel or refund as it reached Vipps.
type modification struct {
	Kind   string // capture, cancel, refund
	Ref    string
	Key    string
	Amount int64
	Status int // what the simulator answered (it may have dropped the answer)
}

const harnessMSN = "123456"

var harnessProducts = []Product{
	{SKU: "socks", Name: "Wool socks", Price: 14900},
	{SKU: "mug", Name: "Coffee mug", Price: 19900},
	{SKU: "book", Name: "Cookbook", Price: 34900},
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, clock: sim.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))}
	h.sim = sim.New(sim.Options{Clock: h.clock})
	h.srv = httptest.NewServer(http.HandlerFunc(h.tap))
	t.Cleanup(func() {
		h.srv.Close()
		h.sim.Close()
	})
	store, err := state.OpenBadger(t.TempDir(), state.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	h.store, h.db = store, storefault.Wrap(store)
	client := h.client("shop")
	catalog, err := NewCatalog("NOK", harnessProducts)
	if err != nil {
		t.Fatal(err)
	}
	h.svc, err = New(Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: harnessMSN, CallTimeout: 5 * time.Second},
		catalog, h.db, client, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.svc.SetClock(h.clock.Now)
	h.portal = h.client("portal")
	return h
}

func (h *harness) client(name string) *vipps.Client {
	c, err := vipps.New(vipps.Config{
		BaseURL: h.srv.URL, ClientID: name, ClientSecret: "secret", SubscriptionKey: "key", MerchantSerialNumber: harnessMSN,
		MaxRetries: 1, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond, Now: h.clock.Now,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// tapFault disturbs the next modification that reaches the tap.
type tapFault struct {
	// Status answers with this status without passing the request on.
	Status int
	// DropAnswer passes the request on, then closes the connection
	// without an answer: committed at Vipps, the answer lost.
	DropAnswer bool
}

// disturb queues faults for the next modifications, in order.
func (h *harness) disturb(f ...tapFault) {
	h.mu.Lock()
	h.faults = append(h.faults, f...)
	h.mu.Unlock()
}

// loseAnswers drops the answer of every modification until the returned
// function is called (the client and Go's transport both retry a request
// that carries an Idempotency-Key, so how many attempts one call makes
// varies).
func (h *harness) loseAnswers() (stop func()) {
	h.mu.Lock()
	h.faults = nil
	for range 16 {
		h.faults = append(h.faults, tapFault{DropAnswer: true})
	}
	h.mu.Unlock()
	return h.clearFaults
}

// clearFaults drops the faults not used up.
func (h *harness) clearFaults() {
	h.mu.Lock()
	h.faults = nil
	h.mu.Unlock()
}

// tap hands every request to the simulator and notes the modifications:
// what was asked and what the simulator answered, even when the answer is
// then dropped.
func (h *harness) tap(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hook := h.onRequest
	h.mu.Unlock()
	if hook != nil {
		defer hook(r)()
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/epayment/v1/payments/"), "/")
	if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/epayment/v1/payments/") && len(parts) == 1 {
		h.mu.Lock()
		h.gets++
		h.mu.Unlock()
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.Path, "/epayment/v1/payments/") || len(parts) != 2 || parts[0] == "" {
		h.sim.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	var req vipps.ModificationRequest
	_ = json.Unmarshal(body, &req)
	h.mu.Lock()
	var f tapFault
	if len(h.faults) > 0 {
		f, h.faults = h.faults[0], h.faults[1:]
	}
	h.mu.Unlock()
	if f.Status != 0 {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(`{"type":"about:blank","title":"injected","status":` + strconv.Itoa(f.Status) + `}`))
		return
	}
	// One modification at a time, so that the order the simulator handles
	// them in is the order onMod hears them in.
	h.modMu.Lock()
	rec := httptest.NewRecorder()
	h.sim.ServeHTTP(rec, r)
	m := modification{Kind: parts[1], Ref: parts[0], Key: r.Header.Get("Idempotency-Key"), Amount: req.ModificationAmount.Value, Status: rec.Code}
	h.mu.Lock()
	h.mods = append(h.mods, m)
	fn := h.onMod
	h.mu.Unlock()
	if fn != nil {
		fn(m)
	}
	h.modMu.Unlock()
	if f.DropAnswer {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			_ = conn.Close()
			return
		}
		panic(http.ErrAbortHandler)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// authorizedOrder checks out a cart and has the buyer approve it.
func (h *harness) authorizedOrder(lines ...CartLine) *state.Order {
	h.t.Helper()
	if len(lines) == 0 {
		lines = []CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}
	}
	res, err := h.svc.Checkout(context.Background(), CheckoutRequest{Lines: lines})
	if err != nil {
		h.t.Fatalf("checkout: %v", err)
	}
	if err := h.sim.Approve(res.Order.Reference); err != nil {
		h.t.Fatalf("approve: %v", err)
	}
	o, err := h.svc.Refresh(context.Background(), res.Order.Reference, state.SourceReturn)
	if err != nil || o.Status != state.StatusAuthorized {
		h.t.Fatalf("after approval: %+v %v", o, err)
	}
	return o
}

// order reads an order as stored.
func (h *harness) order(ref string) *state.Order {
	h.t.Helper()
	o, err := h.store.Get(ref)
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

// atVipps is the payment as the simulator holds it.
func (h *harness) atVipps(ref string) sim.PaymentView {
	h.t.Helper()
	p, ok := h.sim.Payment(ref)
	if !ok {
		h.t.Fatalf("no payment %s at vipps", ref)
	}
	return p
}

// runWorker moves the clock past the hand-over and runs the outbox until
// nothing is due.
func (h *harness) runWorker() {
	h.t.Helper()
	h.clock.Advance(OpHandover + time.Second)
	for range 20 {
		n, err := h.svc.RunJobsOnce(context.Background())
		if err != nil {
			h.t.Fatalf("worker: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// sameMoney compares an order's amounts with Vipps'.
func sameMoney(o *state.Order, p sim.PaymentView) bool {
	a := p.Aggregate
	return o.Payment.Authorized == a.AuthorizedAmount.Value && o.Payment.Captured == a.CapturedAmount.Value &&
		o.Payment.Cancelled == a.CancelledAmount.Value && o.Payment.Refunded == a.RefundedAmount.Value
}

// eventsWithKey counts the events at Vipps that carry an idempotency key.
func eventsWithKey(p sim.PaymentView, key string) int {
	n := 0
	for _, ev := range p.Events {
		if ev.IdempotencyKey == key && ev.Name != vipps.EventCreated && ev.Name != vipps.EventAuthorized {
			n++
		}
	}
	return n
}

func amountNOK(v int64) vipps.Amount { return vipps.Amount{Currency: "NOK", Value: v} }
