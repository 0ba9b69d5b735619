package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/pgtest"
)

// startPostgres starts a throwaway PostgreSQL for one test. A missing
// PostgreSQL fails the test.
func startPostgres(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c, err := pgtest.Start()
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	t.Cleanup(c.Stop)
	return c
}

// TestShopOnPostgres: a shop with store postgres, through real Caddy: an
// order from checkout to refund, a buyer erased, the backup endpoint
// pointing at pg_dump, and checkout answering 503 while the database is
// down — then working again when it is back.
func TestShopOnPostgres(t *testing.T) {
	pg := startPostgres(t)
	t.Setenv("VIPPS_TEST_DATABASE_URL", pg.DSN())
	startShop(t, shopConfig{Extra: "store postgres {env.VIPPS_TEST_DATABASE_URL}\n\t\tcollect name"})
	ref := approved(t, twoItems())
	for _, step := range []struct{ path, body string }{{"ship", `{"amount":14900}`}, {"refund", `{"amount":100}`}, {"cancel", ""}} {
		if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/"+step.path, step.body); resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", step.path, resp.StatusCode, body)
		}
	}
	if o := storedOrder(t, ref); o.Status != "partially_refunded" || o.Payment.Cancelled != 34800 {
		t.Fatalf("after ship, refund, cancel: %+v", o)
	}
	waitFor(t, "the buyer's details", func() bool {
		return merchantViewOf(t, ref).Buyer != nil
	})
	if resp, body := merchant(t, http.MethodDelete, "/vipps/orders/"+ref+"/buyer", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("erase the buyer: %d %s", resp.StatusCode, body)
	}
	if v := merchantViewOf(t, ref); v.Buyer != nil {
		t.Fatalf("the buyer is still there: %+v", v.Buyer)
	}
	if resp, _ := do(t, http.MethodGet, "http://localhost:2999/vipps/shops/default/backup", nil); resp.StatusCode != http.StatusNotImplemented {
		t.Fatalf("backup of a PostgreSQL shop: %d", resp.StatusCode)
	}

	if err := pg.Down(); err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader(url.Values{"sku": {"socks"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "application/json")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("checkout while the database is down: %d %s", resp.StatusCode, body)
	}
	if err := pg.Up(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, _ := do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader(url.Values{"sku": {"socks"}}.Encode()),
			"Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode == http.StatusSeeOther {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shop did not recover: %d", resp.StatusCode)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestDatabaseOfAnotherShopOnPostgresIsRefused: on PostgreSQL, a config
// that switches a shop to another currency on the same schema does not
// start, and names the fix that applies there (a schema of its own), not
// Badger's data_dir.
func TestDatabaseOfAnotherShopOnPostgresIsRefused(t *testing.T) {
	pg := startPostgres(t)
	t.Setenv("VIPPS_TEST_DATABASE_URL", pg.DSN())
	store := "store postgres {env.VIPPS_TEST_DATABASE_URL}"
	dir := t.TempDir()
	startShop(t, shopConfig{DataDir: dir, Extra: store})
	checkout(t, url.Values{"sku": {"socks"}})
	err := loadCaddyfile(caddyfile(shopConfig{DataDir: dir, Extra: store + "\n\t\tcurrency DKK"}))
	if err == nil || !strings.Contains(err.Error(), "belongs to a shop in simulator selling in NOK") ||
		!strings.Contains(err.Error(), "its own schema (store postgres <dsn> schema <name>)") || strings.Contains(err.Error(), "data_dir") {
		t.Fatalf("switching the currency on PostgreSQL: %v", err)
	}
	// With a schema of its own, the same config starts.
	if err := loadCaddyfile(caddyfile(shopConfig{DataDir: dir, Extra: store + " schema vipps_denmark\n\t\tcurrency DKK"})); err != nil {
		t.Fatalf("the fix the message names: %v", err)
	}
}
