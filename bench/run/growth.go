package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/caddy-vipps/caddy-vipps/bench/internal/proc"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// The preloaded history: orders one every step back from growthNewest, the
// newest first, captured and receipted, with the history a real order has.
var (
	growthNewest = time.Now().UTC().Add(-3 * time.Hour)
	growthStep   = 90 * time.Second
	growthCount  int
)

const pendingOrders = 1000

func finishedOrder(i int) *state.Order {
	created := growthNewest.Add(-time.Duration(i) * growthStep)
	ref := fmt.Sprintf("hist-%012d", i)
	return &state.Order{
		Schema: state.SchemaVersion, Reference: ref, Currency: "NOK", Amount: 47700, Description: "2 × Wool socks, 1 × Coffee mug",
		Items:  []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900, VATRate: 2500}, {SKU: "mug", Name: "Coffee mug", Qty: 1, UnitPrice: 19900, VATRate: 2500}},
		Status: state.StatusCaptured, CreateKey: "create-" + ref, Receipt: "sent",
		Payment: state.Payment{State: "AUTHORIZED", Authorized: 47700, Captured: 47700, PSPReference: "psp-" + ref,
			AuthorizedAt: created.Add(40 * time.Second), CaptureDeadline: created.Add(180 * 24 * time.Hour)},
		Ops: []state.Operation{{ID: "op-" + ref, Kind: "capture", Amount: 47700, IdempotencyKey: "capture-" + ref, Status: "done",
			CreatedAt: created.Add(time.Hour), DoneAt: created.Add(time.Hour), Actor: "merchant"}},
		CreatedAt: created, UpdatedAt: created.Add(time.Hour),
		History: []state.HistoryEntry{
			{At: created, Source: state.SourceCheckout, To: state.StatusNew, Note: "order created"},
			{At: created.Add(time.Second), Source: state.SourceCheckout, From: state.StatusNew, To: state.StatusPending, Note: "payment created at vipps"},
			{At: created.Add(40 * time.Second), Source: state.SourceWebhook, From: state.StatusPending, To: state.StatusAuthorized, Note: "payment authorized at vipps"},
			{At: created.Add(time.Hour), Source: state.SourceMerchant, From: state.StatusAuthorized, To: state.StatusCaptured},
		},
	}
}

func pendingOrder(i int, now time.Time) *state.Order {
	ref := fmt.Sprintf("pend-%012d", i)
	return &state.Order{
		Schema: state.SchemaVersion, Reference: ref, Currency: "NOK", Amount: 14900,
		Items:  []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 1, UnitPrice: 14900, VATRate: 2500}},
		Status: state.StatusPending, CreateKey: "create-" + ref, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour),
		NextCheckAt: now.Add(-time.Minute),
	}
}

// preload writes n finished and 1,000 pending orders through the state
// package, then reports the poller's work per tick against a store holding
// only the pending ones, and the bytes on disk per order.
func preload(dir string, n int) error {
	growthCount = n
	start := time.Now()
	s, err := state.OpenBadger(dir, state.Options{})
	if err != nil {
		return err
	}
	const chunk = 20000
	batch := make([]*state.Order, 0, chunk)
	for i := range n {
		batch = append(batch, finishedOrder(i))
		if len(batch) == chunk || i == n-1 {
			if err := s.Import(batch); err != nil {
				s.Close()
				return err
			}
			batch = batch[:0]
		}
	}
	now := time.Now().UTC()
	var pend []*state.Order
	for i := range pendingOrders {
		pend = append(pend, pendingOrder(i, now))
	}
	if err := s.Import(pend); err != nil {
		s.Close()
		return err
	}
	// A shop that grew over years has a compacted store; so should this one
	// before Caddy opens it.
	if err := s.DB().Flatten(2); err != nil {
		s.Close()
		return err
	}
	loaded := time.Since(start)
	tickBig, err := pollTick(s, now)
	if err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	small, err := state.OpenBadger(filepath.Join(dir+"-pending-only"), state.Options{})
	if err != nil {
		return err
	}
	if err := small.Import(pend); err != nil {
		return err
	}
	tickSmall, err := pollTick(small, now)
	small.Close()
	if err != nil {
		return err
	}
	bytes := proc.DirSize(dir)
	fmt.Printf("Preloaded %d finished + %d pending orders through state.Import (and compacted) in %s; %.0f bytes on disk per order (%.1f MB in all).\n",
		n, pendingOrders, loaded.Round(time.Second), float64(bytes)/float64(n+pendingOrders), float64(bytes)/1e6)
	fmt.Printf("Poller tick (DueChecks of the %d due orders, median of 20): %s with %d finished orders beside them, %s with none — ratio %.2f.\n\n",
		pendingOrders, tickBig, n, tickSmall, float64(tickBig)/float64(tickSmall))
	return nil
}

// pollTick is the median time of the poller's query for due orders.
func pollTick(s *state.BadgerStore, now time.Time) (time.Duration, error) {
	var times []time.Duration
	for range 20 {
		t := time.Now()
		refs, err := s.DueChecks(now, pendingOrders)
		if err != nil {
			return 0, err
		}
		if len(refs) != pendingOrders {
			return 0, fmt.Errorf("DueChecks found %d of %d due orders", len(refs), pendingOrders)
		}
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}

// listFigures times the merchant's order list on the grown store: the
// first page, and a page 90 % of the way back in history (reached with the
// list's ?to= filter, as a merchant looking up an old month does).
func listFigures() error {
	client := &http.Client{Timeout: 60 * time.Second}
	deep := growthNewest.Add(-time.Duration(growthCount*9/10) * growthStep).Format(time.RFC3339)
	for _, page := range []struct{ name, query string }{
		{"first page (50 orders)", "?limit=50"},
		{"deep page (50 orders, 90 % back)", "?limit=50&to=" + deep},
	} {
		var times []time.Duration
		for range 20 {
			req, _ := http.NewRequest(http.MethodGet, shopURL+"/vipps/orders"+page.query, nil)
			req.Header.Set("Authorization", "Bearer "+adminToken)
			t := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /vipps/orders%s: %d", page.query, resp.StatusCode)
			}
			times = append(times, time.Since(t))
		}
		slices.Sort(times)
		fmt.Printf("merchant list, %s: median %s, max %s\n", page.name, ms(times[len(times)/2]), ms(times[len(times)-1]))
	}
	return nil
}
