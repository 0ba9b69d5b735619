package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

func overviewOf(t *testing.T) shop.Overview {
	t.Helper()
	resp, body := merchant(t, http.MethodGet, "/vipps/overview", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d %s", resp.StatusCode, body)
	}
	var ov shop.Overview
	if err := json.Unmarshal(body, &ov); err != nil {
		t.Fatal(err)
	}
	return ov
}

// TestOverviewFiguresOfOrdersMade: orders shipped fully and in part, one
// refunded, one cancelled, one captured on payment through a link, one
// left reserved and one not yet paid: the overview through Caddy names
// exactly the money they moved, the orders to ship oldest first with their
// deadlines, and the order waiting on Vipps.
func TestOverviewFiguresOfOrdersMade(t *testing.T) {
	startShop(t, shopConfig{})
	oslo := mustZone(t, "Europe/Oslo")
	began := time.Now().In(oslo).Format(time.DateOnly)
	ship := func(ref, body string) {
		t.Helper()
		if resp, b := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", body); resp.StatusCode != http.StatusOK {
			t.Fatalf("ship %s: %d %s", ref, resp.StatusCode, b)
		}
	}
	full := approved(t, twoItems()) // 49700
	ship(full, `{"all": true}`)
	part := approved(t, twoItems())
	ship(part, `{"amount": 14900}`) // 34800 still reserved
	reserved := approved(t, url.Values{"sku": {"book"}, "qty": {"1"}})
	refunded := approved(t, twoItems())
	ship(refunded, `{"all": true}`)
	if resp, b := merchant(t, http.MethodPost, "/vipps/orders/"+refunded+"/refund", `{"amount": 10000}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("refund: %d %s", resp.StatusCode, b)
	}
	cancelled := approved(t, twoItems())
	if resp, b := merchant(t, http.MethodPost, "/vipps/orders/"+cancelled+"/cancel", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("cancel: %d %s", resp.StatusCode, b)
	}
	l := createLink(t, `{"amount": 89900, "description": "Guided tour, two people", "vat": 12, "capture": "payment"}`)
	tour := paidThroughLink(t, linkPath(t, l))
	waitFor(t, "the tour captured on payment", func() bool { return storedOrder(t, tour).Status == "captured" })
	waiting, _ := checkout(t, url.Values{"sku": {"mug"}, "qty": {"1"}})

	ov := overviewOf(t)
	if ov.Currency != "NOK" || ov.TimeZone != "Europe/Oslo" {
		t.Fatalf("currency %s, zone %s", ov.Currency, ov.TimeZone)
	}
	// To ship: the part-shipped order, then the one untouched.
	if ov.ToShip.Count != 2 || len(ov.ToShip.Orders) != 2 {
		t.Fatalf("to ship: %+v", ov.ToShip)
	}
	for i, want := range []struct {
		ref      string
		reserved int64
	}{{part, 34800}, {reserved, 34900}} {
		got := ov.ToShip.Orders[i]
		if got.Reference != want.ref || got.Reserved != want.reserved || got.Currency != "NOK" || got.Urgent {
			t.Fatalf("to ship %d: %+v, want %s %d", i, got, want.ref, want.reserved)
		}
		// NOK: Vipps keeps a reservation 180 days.
		if d := time.Until(got.CaptureDeadline); d < 179*24*time.Hour || d > 181*24*time.Hour {
			t.Fatalf("deadline of %s: %s", got.Reference, got.CaptureDeadline)
		}
	}
	if w := ov.NeedsAttention.WaitingOnVipps; w.Count != 1 || len(w.Items) != 1 || w.Items[0].Reference != waiting {
		t.Fatalf("waiting on vipps: %+v", w)
	}
	if n := ov.NeedsAttention; n.UnknownOutcome.Count != 0 || n.FailedJobs.Count != 0 {
		t.Fatalf("attention: %+v", n)
	}
	// Sales: all made today (or across midnight in Oslo: then summed over
	// the last two days, which the week holds too).
	const captured, refund, orders = 49700 + 14900 + 49700 + 89900, 10000, 7
	if len(ov.Sales.Days) != shop.OverviewDays {
		t.Fatalf("%d days", len(ov.Sales.Days))
	}
	var sum shop.SalesDay
	for _, d := range ov.Sales.Days[shop.OverviewDays-2:] {
		sum.Captured += d.Captured
		sum.Refunded += d.Refunded
		sum.Net += d.Net
		sum.Orders += d.Orders
	}
	if sum.Captured != captured || sum.Refunded != refund || sum.Net != captured-refund || sum.Orders != orders {
		t.Fatalf("sales of the last days: %+v", sum)
	}
	if w := ov.Sales.Week; w.Captured != captured || w.Refunded != refund || w.Net != captured-refund || w.Orders != orders {
		t.Fatalf("week: %+v", w)
	}
	if today := time.Now().In(oslo).Format(time.DateOnly); ov.Sales.Today.Day != today && ov.Sales.Today.Day != began {
		t.Fatalf("today is %s, not %s", ov.Sales.Today.Day, today)
	}
	if ov.Sales.Today != ov.Sales.Days[shop.OverviewDays-1] {
		t.Fatalf("today %+v is not the last day %+v", ov.Sales.Today, ov.Sales.Days[shop.OverviewDays-1])
	}

	// A retried ship (the same Idempotency-Key) and a check at Vipps move
	// nothing more.
	for range 2 {
		if resp, b := do(t, http.MethodPost, shopURL+"/vipps/orders/"+reserved+"/ship", strings.NewReader(`{"amount": 100}`),
			"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", "overview-retry"); resp.StatusCode != http.StatusOK {
			t.Fatalf("ship with a key: %d %s", resp.StatusCode, b)
		}
	}
	if again := overviewOf(t).Sales.Week; again.Captured != captured+100 || again.Orders != orders {
		t.Fatalf("after a retried ship: %+v", again)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}
