package shop

import (
	"context"
	"testing"
	"time"
)

// TestOverviewCountsDaysInTheMarketsZone: sales land on the market's
// day (Oslo), not UTC's; orders to ship are listed oldest first with
// their deadline, marked when it is near; an unpaid order waits.
func TestOverviewCountsDaysInTheMarketsZone(t *testing.T) {
	h := newHarness(t) // 2026-03-02 10:00 UTC, 11:00 in Oslo
	bg := context.Background()
	a := h.authorizedOrder() // 2 × 149 + 199 = 497 kr
	h.clock.Advance(time.Minute)
	c := h.authorizedOrder(CartLine{SKU: "book", Qty: 1})
	if _, _, err := h.svc.Ship(bg, a.Reference, ShipRequest{All: true}); err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC is 00:30 the next day in Oslo.
	h.clock.Advance(time.Date(2026, 3, 2, 23, 30, 0, 0, time.UTC).Sub(h.clock.Now()))
	b := h.authorizedOrder(CartLine{SKU: "mug", Qty: 1})
	if _, _, err := h.svc.Ship(bg, b.Reference, ShipRequest{All: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.svc.Refund(bg, a.Reference, RefundRequest{Amount: 14900}); err != nil {
		t.Fatal(err)
	}
	waiting, err := h.svc.Checkout(bg, CheckoutRequest{Lines: []CartLine{{SKU: "socks", Qty: 1}}})
	if err != nil {
		t.Fatal(err)
	}

	ov, err := h.svc.Overview(h.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ov.Currency != "NOK" || ov.TimeZone != "Europe/Oslo" || len(ov.Sales.Days) != OverviewDays {
		t.Fatalf("overview: %s %s %d days", ov.Currency, ov.TimeZone, len(ov.Sales.Days))
	}
	yesterday, today := ov.Sales.Days[OverviewDays-2], ov.Sales.Today
	if yesterday.Day != "2026-03-02" || yesterday.Captured != 49700 || yesterday.Refunded != 0 || yesterday.Orders != 2 {
		t.Fatalf("yesterday: %+v", yesterday)
	}
	if today.Day != "2026-03-03" || today.Captured != 19900 || today.Refunded != 14900 || today.Net != 5000 || today.Orders != 2 {
		t.Fatalf("today: %+v", today)
	}
	if w := ov.Sales.Week; w.Day != "2026-02-25" || w.Captured != 49700+19900 || w.Refunded != 14900 || w.Net != 49700+19900-14900 || w.Orders != 4 {
		t.Fatalf("week: %+v", w)
	}
	if ov.ToShip.Count != 1 || len(ov.ToShip.Orders) != 1 {
		t.Fatalf("to ship: %+v", ov.ToShip)
	}
	ship := ov.ToShip.Orders[0]
	if ship.Reference != c.Reference || ship.Reserved != 34900 || ship.Urgent || !ship.CaptureDeadline.Equal(h.order(c.Reference).Payment.CaptureDeadline) || ship.CaptureDeadline.IsZero() {
		t.Fatalf("order to ship: %+v", ship)
	}
	if w := ov.NeedsAttention.WaitingOnVipps; w.Count != 1 || w.Items[0].Reference != waiting.Order.Reference {
		t.Fatalf("waiting: %+v", w)
	}
	if ov.NeedsAttention.UnknownOutcome.Count != 0 || ov.NeedsAttention.FailedJobs.Count != 0 {
		t.Fatalf("attention: %+v", ov.NeedsAttention)
	}

	// A day before the deadline: urgent. Thirty days on: sales gone by.
	ov, err = h.svc.Overview(ship.CaptureDeadline.Add(-24 * time.Hour))
	if err != nil || !ov.ToShip.Orders[0].Urgent || ov.ToShip.Urgent != 1 {
		t.Fatalf("near the deadline: %+v, %v", ov.ToShip, err)
	}
	if ov.Sales.Week.Net != 0 || ov.Sales.Today.Orders != 0 {
		t.Fatalf("months later: %+v", ov.Sales)
	}
}
