package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// TestOverviewEndpointAndAdminSection: GET /vipps/overview answers the
// merchant only, with the order to ship and the day's sales; the admin
// page shows the same figures at its top, with the chart and its table.
func TestOverviewEndpointAndAdminSection(t *testing.T) {
	x := newShopHarness(t)
	shipped, reserved := x.authorized(), x.authorized()
	if resp, body := x.merchant(http.MethodPost, "/vipps/orders/"+shipped+"/ship", `{"all":true}`, "ship-1"); resp.StatusCode != http.StatusOK {
		t.Fatalf("ship: %d %s", resp.StatusCode, body)
	}

	resp, err := http.Get(x.url + "/vipps/overview")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", resp.StatusCode)
	}
	if resp, _ := x.merchant(http.MethodGet, "/vipps/overview?days=7", "", ""); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an unknown parameter: %d", resp.StatusCode)
	}
	resp, body := x.merchant(http.MethodGet, "/vipps/overview", "", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("overview: %d %s", resp.StatusCode, body)
	}
	var ov shop.Overview
	if err := json.Unmarshal(body, &ov); err != nil {
		t.Fatal(err)
	}
	if ov.TimeZone != "Europe/Oslo" || ov.Currency != "NOK" {
		t.Fatalf("zone %q, currency %q", ov.TimeZone, ov.Currency)
	}
	if ov.ToShip.Count != 1 || ov.ToShip.Orders[0].Reference != reserved || ov.ToShip.Orders[0].Reserved != 49700 {
		t.Fatalf("to ship: %+v", ov.ToShip)
	}
	if ov.Sales.Today.Day != "2026-03-02" || ov.Sales.Today.Captured != 49700 || ov.Sales.Today.Orders != 2 || ov.Sales.Week.Net != 49700 {
		t.Fatalf("sales: today %+v week %+v", ov.Sales.Today, ov.Sales.Week)
	}
	for _, field := range []string{`"to_ship"`, `"capture_deadline"`, `"needs_attention"`, `"unknown_outcome"`, `"failed_jobs"`, `"waiting_on_vipps"`, `"sales"`, `"net"`} {
		if !strings.Contains(string(body), field) {
			t.Fatalf("the JSON lacks %s: %s", field, body)
		}
	}

	req, _ := http.NewRequest(http.MethodGet, x.url+"/vipps/admin", nil)
	req.Header.Set("Authorization", "Bearer "+harnessToken)
	req.Header.Set("Accept-Language", "nb")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	p := string(page)
	for _, want := range []string{`id="overview"`, `id="to-ship-count">1<`, `data-reference="` + reserved + `"`, `<svg class="sales-chart"`,
		`id="sales-today">` + FormatMoney(49700, "NOK", "nb") + `<`, `<tr data-day="2026-03-02">`, "Skal sendes"} {
		if !strings.Contains(p, want) {
			t.Fatalf("the admin page lacks %s", want)
		}
	}
	if strings.Index(p, `id="overview"`) > strings.Index(p, `id="orders"`) {
		t.Fatal("the overview is not above the orders")
	}
	// A later page of the list is the list alone.
	req, _ = http.NewRequest(http.MethodGet, x.url+"/vipps/admin?cursor=0000000000000000/x", nil)
	req.Header.Set("Authorization", "Bearer "+harnessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(page), `id="overview"`) {
		t.Fatal("the overview on a later page")
	}
}
