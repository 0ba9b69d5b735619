package handlers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/state/storefault"
	"github.com/caddy-vipps/caddy-vipps/vipps"
	"github.com/caddy-vipps/caddy-vipps/vipps/sim"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// shopHarness is the merchant API on real parts, without Caddy: the
// handler over real HTTP, the shop, Badger on disk behind a store that
// can be made to fail (storefault), the simulator over real HTTP, and one
// fake clock for all. store is the database itself, read past the faults:
// the truth the answers are held to.
type shopHarness struct {
	t      testing.TB
	clock  *sim.FakeClock
	sim    *sim.Simulator
	store  *state.BadgerStore
	faults *storefault.Store
	svc    *shop.Service
	h      *Handler
	url    string
	simURL string
	logs   *logSink
}

const harnessToken = "test-admin-token-123"

func newShopHarness(t testing.TB) *shopHarness {
	t.Helper()
	x := &shopHarness{t: t, clock: sim.NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC))}
	x.sim = sim.New(sim.Options{Clock: x.clock})
	simSrv := httptest.NewServer(x.sim)
	x.simURL = simSrv.URL
	t.Cleanup(func() {
		simSrv.Close()
		x.sim.Close()
	})
	store, err := state.OpenBadger(t.TempDir(), state.Options{Now: x.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	x.store, x.faults = store, storefault.Wrap(store)
	client, err := vipps.New(vipps.Config{
		BaseURL: simSrv.URL, ClientID: "shop", ClientSecret: "secret", SubscriptionKey: "key", MerchantSerialNumber: "123456",
		MaxRetries: 1, RetryBaseDelay: time.Millisecond, RetryMaxDelay: 2 * time.Millisecond, Now: x.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := shop.NewCatalog("NOK", []shop.Product{
		{SKU: "socks", Name: "Wool socks", Names: map[string]string{"nb": "Ullsokker"}, Price: 14900},
		{SKU: "mug", Name: "Coffee mug", Price: 19900},
	})
	if err != nil {
		t.Fatal(err)
	}
	x.logs = newLogSink()
	x.svc, err = shop.New(shop.Config{PublicURL: "https://shop.example", ReferencePrefix: "test", MerchantSerialNumber: "123456", CallTimeout: 2 * time.Second},
		catalog, x.faults, client, x.logs.logger(), nil)
	if err != nil {
		t.Fatal(err)
	}
	x.svc.SetClock(x.clock.Now)
	x.h = New(x.svc, Config{BasePath: "/vipps", AdminToken: harnessToken, Logger: x.logs.logger()})
	srv := httptest.NewServer(x.h)
	t.Cleanup(srv.Close)
	x.url = srv.URL
	return x
}

// merchant sends a merchant request with the admin token, and a key when
// one is given.
func (x *shopHarness) merchant(method, path, body, key string) (*http.Response, []byte) {
	x.t.Helper()
	req, err := http.NewRequest(method, x.url+path, strings.NewReader(body))
	if err != nil {
		x.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+harnessToken)
	req.Header.Set("Accept", "application/json")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// authorized checks out a cart (two socks and a mug, 49700) and has the
// buyer approve it.
func (x *shopHarness) authorized() string {
	x.t.Helper()
	ctx := context.Background()
	res, err := x.svc.Checkout(ctx, shop.CheckoutRequest{Lines: []shop.CartLine{{SKU: "socks", Qty: 2}, {SKU: "mug", Qty: 1}}})
	if err != nil {
		x.t.Fatalf("checkout: %v", err)
	}
	ref := res.Order.Reference
	if err := x.sim.Approve(ref); err != nil {
		x.t.Fatal(err)
	}
	if o, err := x.svc.Refresh(ctx, ref, state.SourceReturn); err != nil || o.Status != state.StatusAuthorized {
		x.t.Fatalf("after approval: %+v %v", o, err)
	}
	return ref
}

// order reads an order as stored, past the faults.
func (x *shopHarness) order(ref string) *state.Order {
	x.t.Helper()
	o, err := x.store.Get(ref)
	if err != nil {
		x.t.Fatal(err)
	}
	return o
}

// atVipps is the payment as the simulator holds it.
func (x *shopHarness) atVipps(ref string) sim.PaymentView {
	x.t.Helper()
	p, ok := x.sim.Payment(ref)
	if !ok {
		x.t.Fatalf("no payment %s at vipps", ref)
	}
	return p
}

// runWorker moves the clock past the hand-over and runs the outbox until
// nothing is due.
func (x *shopHarness) runWorker() {
	x.t.Helper()
	x.clock.Advance(shop.OpHandover + time.Second)
	for range 20 {
		n, err := x.svc.RunJobsOnce(context.Background())
		if err != nil || n == 0 {
			return
		}
	}
}

// problemOf reads a problem+json answer.
func problemOf(t testing.TB, resp *http.Response, body []byte) Problem {
	t.Helper()
	var p Problem
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d answered %s, not a problem: %s", resp.StatusCode, ct, body)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// operationOf reads an operation's answer.
func operationOf(t testing.TB, body []byte) OperationResponse {
	t.Helper()
	var o OperationResponse
	if err := json.Unmarshal(body, &o); err != nil || o.Operation == nil {
		t.Fatalf("not an operation's answer (%v): %s", err, body)
	}
	return o
}

// failOnce makes the next call of method on the store meet fault.
func failOnce(method string, fault storefault.Fault) func(storefault.Call) storefault.Fault {
	done := false
	return func(c storefault.Call) storefault.Fault {
		if done || c.Method != method {
			return storefault.None
		}
		done = true
		return fault
	}
}

// logSink keeps what the shop and the handler log.
type logSink struct {
	core zapcore.Core
	logs *observer.ObservedLogs
}

func newLogSink() *logSink {
	core, logs := observer.New(zapcore.DebugLevel)
	return &logSink{core: core, logs: logs}
}

func (l *logSink) logger() *zap.Logger { return zap.New(l.core) }

// find returns the entries whose message contains s.
func (l *logSink) find(s string) []observer.LoggedEntry {
	return l.logs.FilterMessageSnippet(s).All()
}
