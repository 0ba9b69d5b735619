package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
	"go.uber.org/goleak"

	caddyvipps "github.com/caddy-vipps/caddy-vipps"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// globalHead is the global options block of the app tests.
const globalHead = `{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1s
	persist_config off
	skip_install_trust
`

// loadShops loads a config into the in-process Caddy and unloads it when
// the test ends.
func loadShops(t *testing.T, config string) *caddytest.Tester {
	t.Helper()
	tester := caddytest.NewTester(t)
	tester.InitServer(config, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() { tester.InitServer(idleConfig, "caddyfile") })
	return tester
}

// orderAt reads an order's buyer view at a site.
func orderAt(t *testing.T, site, ref string) (int, orderJSON) {
	t.Helper()
	resp, body := do(t, http.MethodGet, site+"/vipps/orders/"+ref, nil, "Accept", "application/json")
	var o orderJSON
	_ = json.Unmarshal(body, &o)
	return resp.StatusCode, o
}

// listAt lists the merchant's orders at a site.
func listAt(t *testing.T, site string) []string {
	t.Helper()
	resp, body := do(t, http.MethodGet, site+"/vipps/orders?limit=500", nil, "Authorization", "Bearer "+adminToken, "Accept", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("list at %s: %d %s", site, resp.StatusCode, body)
	}
	var page struct {
		Orders []orderJSON `json:"orders"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	var refs []string
	for _, o := range page.Orders {
		refs = append(refs, o.Reference)
	}
	return refs
}

func checkoutAt(t *testing.T, site, sku string) string {
	t.Helper()
	resp, body := do(t, http.MethodPost, site+"/vipps/checkout", strings.NewReader("sku="+sku), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("checkout at %s: %d %s", site, resp.StatusCode, body)
	}
	return resp.Header.Get("X-Vipps-Reference")
}

// TestTwoShopsInOneCaddy: two shops defined in the global vipps option, on
// two sites, each in its own default directory. Both receive verified
// webhooks (the poller is slowed down to an hour and nobody returns, so
// only a webhook can confirm an order), and neither sees the other's
// orders.
func TestTwoShopsInOneCaddy(t *testing.T) {
	loadShops(t, globalHead+`
	vipps {
		shop north {
			simulator_listen 127.0.0.1:9191
			reference_prefix north
			product socks 14900 "Wool socks"
			admin_token `+adminToken+`
			poll_interval 1h
		}
		shop south {
			simulator_listen 127.0.0.1:9191
			reference_prefix south
			currency DKK
			product socks 9900 "Uldsokker"
			admin_token `+adminToken+`
			poll_interval 1h
		}
	}
}

http://localhost:9080 {
	vipps north
}

http://127.0.0.1:9080 {
	vipps south
}
`)
	before := scrape(t)
	north, south := "http://localhost:9080", "http://127.0.0.1:9080"
	a, b := checkoutAt(t, north, "socks"), checkoutAt(t, south, "socks")
	if !strings.HasPrefix(a, "north-") || !strings.HasPrefix(b, "south-") {
		t.Fatalf("references %s, %s", a, b)
	}
	simPost(t, "/_sim/payments/"+a+"/approve", "")
	simPost(t, "/_sim/payments/"+b+"/approve", "")
	waitFor(t, "both orders confirmed by webhook", func() bool {
		_, oa := orderAt(t, north, a)
		_, ob := orderAt(t, south, b)
		return oa.Status == "authorized" && ob.Status == "authorized"
	})
	if got := scrape(t)[`caddy_vipps_webhook_rejections_total{reason="signature"}`] - before[`caddy_vipps_webhook_rejections_total{reason="signature"}`]; got != 0 {
		t.Fatalf("%v webhooks refused", got)
	}
	if refs := listAt(t, north); len(refs) != 1 || refs[0] != a {
		t.Fatalf("north lists %v", refs)
	}
	if refs := listAt(t, south); len(refs) != 1 || refs[0] != b {
		t.Fatalf("south lists %v", refs)
	}
	if code, _ := orderAt(t, north, b); code != http.StatusNotFound {
		t.Fatalf("north shows south's order: %d", code)
	}
	for _, name := range []string{"north", "south"} {
		if _, err := os.Stat(filepath.Join(caddy.AppDataDir(), "vipps", "shops", name, "MANIFEST")); err != nil {
			t.Fatalf("shop %s has no database of its own: %v", name, err)
		}
	}
}

// TestTwoSitesServeOneShop: apex and www with the same block (a copied
// snippet) are one shop: an order made on one site is the other's too.
func TestTwoSitesServeOneShop(t *testing.T) {
	dir := t.TempDir()
	block := fmt.Sprintf(`vipps {
		shop main
		simulator_listen 127.0.0.1:9191
		public_url http://localhost:9080
		product socks 14900 "Wool socks"
		admin_token %s
		data_dir %s
	}`, adminToken, dir)
	loadShops(t, globalHead+"}\n\nhttp://localhost:9080 {\n\t"+block+"\n}\n\nhttp://127.0.0.1:9080 {\n\t"+block+"\n}\n")
	ref := checkoutAt(t, "http://127.0.0.1:9080", "socks")
	if refs := listAt(t, "http://localhost:9080"); len(refs) != 1 || refs[0] != ref {
		t.Fatalf("the other site lists %v", refs)
	}
	// Two blocks that say different things under one name are refused.
	cfg := strings.Replace(globalHead+"}\n\nhttp://localhost:9080 {\n\t"+block+"\n}\n\nhttp://127.0.0.1:9080 {\n\t"+block+"\n}\n", "Wool socks", "Socks", 1)
	if err := loadCaddyfile(cfg); err == nil || !strings.Contains(err.Error(), `two vipps blocks declare shop "main" differently`) {
		t.Fatalf("two different blocks under one name: %v", err)
	}
}

// loadCaddyfile adapts and loads a Caddyfile, returning the error.
func loadCaddyfile(cfg string) error {
	raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err != nil {
		return err
	}
	return caddy.Load(raw, true)
}

// TestValidateChangesNothing: caddy validate provisions the config without
// starting it: next to a live shop it binds no simulator port, opens no
// database, registers no webhook.
func TestValidateChangesNothing(t *testing.T) {
	liveDir := t.TempDir()
	startShop(t, shopConfig{DataDir: liveDir})
	waitFor(t, "the webhook registered", func() bool { return len(simHooks(t)) > 0 })
	hooks := simHooks(t)
	validate := func(cfg string) {
		t.Helper()
		raw, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
		if err != nil {
			t.Fatal(err)
		}
		var c caddy.Config
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&c); err != nil {
			t.Fatalf("validate: %v", err)
		}
	}
	// The live config itself: its database and simulator port are in use,
	// and validating it must touch neither.
	validate(caddyfile(shopConfig{DataDir: liveDir}))
	// A new shop: nothing may appear.
	empty := t.TempDir()
	simAddr := freeAddr(t)
	validate(strings.Replace(caddyfile(shopConfig{DataDir: empty}), "simulator_listen 127.0.0.1:9191", "simulator_listen "+simAddr, 1))
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Fatalf("validate wrote into the data directory: %v", entries)
	}
	if conn, err := net.DialTimeout("tcp", simAddr, 200*time.Millisecond); err == nil {
		conn.Close()
		t.Fatalf("validate started a simulator on %s", simAddr)
	}
	if after := simHooks(t); !sameHooks(hooks, after) {
		t.Fatalf("webhook registrations changed: %v → %v", hooks, after)
	}
	if ref, _ := checkout(t, url.Values{"sku": {"socks"}}); ref == "" {
		t.Fatal("the live shop stopped")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func simHooks(t *testing.T) []string {
	t.Helper()
	resp, body := do(t, http.MethodGet, simURL+"/_sim/webhooks", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("simulator webhooks: %d", resp.StatusCode)
	}
	var hooks []struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	_ = json.Unmarshal(body, &hooks)
	var out []string
	for _, h := range hooks {
		out = append(out, h.ID+" "+h.URL)
	}
	return out
}

func sameHooks(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// TestReloadsLeakNothing: 50 reloads of a shop, with orders in between,
// leave no goroutine behind once the shop is unloaded, and nothing panics.
func TestReloadsLeakNothing(t *testing.T) {
	tester := caddytest.NewTester(t)
	tester.InitServer(idleConfig, "caddyfile")
	time.Sleep(200 * time.Millisecond)
	baseline := goleak.IgnoreCurrent()
	dir := t.TempDir()
	for i := range 50 {
		tester.InitServer(caddyfile(shopConfig{DataDir: dir, Description: fmt.Sprintf("Reload number %d", i)}), "caddyfile")
		if t.Failed() {
			t.FailNow()
		}
		if i%10 == 0 {
			checkout(t, url.Values{"sku": {"mug"}})
		}
	}
	tester.InitServer(idleConfig, "caddyfile")
	goleak.VerifyNone(t, baseline,
		// Caddy's own servers, restarted by every load, and the HTTP
		// client's idle connections.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*Server).Serve"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2.(*Context).Logger"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp.(*App).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2/modules/caddyhttp.(*Server).serveHTTP3"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2.(*adminHandler).serveHTTP"),
		goleak.IgnoreAnyFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreAnyFunction("github.com/caddyserver/caddy/v2.trapSignalsPosix"),
		// The tls and pki apps of the idle config loaded last.
		goleak.IgnoreTopFunction("github.com/caddyserver/caddy/v2/modules/caddytls.(*TLS).keepStorageClean.func1"),
		goleak.IgnoreTopFunction("github.com/caddyserver/caddy/v2/modules/caddypki.(*PKI).maintenanceForCA"),
	)
}

// TestWebhooksThroughARewritingProxy: a proxy (Caddy's own reverse_proxy)
// in front of the shop strips a path prefix and rewrites Host; Vipps signed
// the registered URL, and the shop verifies against it, so webhooks still
// confirm orders.
func TestWebhooksThroughARewritingProxy(t *testing.T) {
	loadShops(t, globalHead+`}

http://localhost:9080 {
	vipps {
		simulator_listen 127.0.0.1:9191
		public_url http://127.0.0.1:9080/shop
		product socks 14900 "Wool socks"
		admin_token `+adminToken+`
		data_dir `+t.TempDir()+`
		poll_interval 1h
	}
}

http://127.0.0.1:9080 {
	handle_path /shop/* {
		reverse_proxy localhost:9080 {
			header_up Host localhost
		}
	}
}
`)
	before := scrape(t)
	ref := checkoutAt(t, "http://localhost:9080", "socks")
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	waitFor(t, "the order confirmed by a webhook through the proxy", func() bool {
		_, o := orderAt(t, "http://localhost:9080", ref)
		return o.Status == "authorized"
	})
	if got := scrape(t)[`caddy_vipps_webhook_rejections_total{reason="signature"}`] - before[`caddy_vipps_webhook_rejections_total{reason="signature"}`]; got != 0 {
		t.Fatalf("%v webhooks refused", got)
	}
}

// TestSecureCookieFollowsPublicURL: behind TLS that ends at a proxy the
// request is plain HTTP, yet the admin cookie is Secure because the shop's
// public URL is https.
func TestSecureCookieFollowsPublicURL(t *testing.T) {
	tester := caddytest.NewTester(t)
	tester.InitServer(strings.Replace(caddyfile(shopConfig{DataDir: t.TempDir()}), "public_url http://localhost:9080", "public_url https://shop.example.com", 1), "caddyfile")
	t.Cleanup(func() { tester.InitServer(idleConfig, "caddyfile") })
	form := url.Values{"token": {adminToken}}
	resp, _ := do(t, http.MethodPost, shopURL+"/vipps/admin/login", strings.NewReader(form.Encode()), "Content-Type", "application/x-www-form-urlencoded")
	if c := resp.Header.Get("Set-Cookie"); !strings.Contains(c, "vipps_admin=") || !strings.Contains(c, "Secure") {
		t.Fatalf("admin cookie: %q", c)
	}
}

// TestHandleErrorsStylesBrowserErrors: with handle_errors in the site, the
// errors a browser would see go to it; API callers still get problem+json.
func TestHandleErrorsStylesBrowserErrors(t *testing.T) {
	startShop(t, shopConfig{Site: `handle_errors {
		respond "styled {err.status_code}"
	}`})
	resp, body := do(t, http.MethodGet, shopURL+"/vipps/confirmation?reference=test-nosuchorder00", nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusNotFound || string(body) != "styled 404" {
		t.Fatalf("browser error: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/orders/test-nosuchorder00", nil, "Accept", "application/json")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("API error: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

// TestDatabaseOfAnotherShopIsRefused: a config that switches a shop to
// another currency on the same database does not start, and says why.
func TestDatabaseOfAnotherShopIsRefused(t *testing.T) {
	dir := t.TempDir()
	startShop(t, shopConfig{DataDir: dir})
	checkout(t, url.Values{"sku": {"socks"}})
	cfg := caddyfile(shopConfig{DataDir: dir, Extra: "currency DKK"})
	err := loadCaddyfile(cfg)
	if err == nil || !strings.Contains(err.Error(), "belongs to a shop in simulator selling in NOK") || !strings.Contains(err.Error(), "its own data_dir") || strings.Contains(err.Error(), "schema") {
		t.Fatalf("switching the currency: %v", err)
	}
	// The running shop is untouched.
	if ref, _ := checkout(t, url.Values{"sku": {"socks"}}); ref == "" {
		t.Fatal("the running shop stopped")
	}
}

// TestBackupThroughTheAdminAPI: a backup taken from the admin endpoint
// while the shop runs restores into an empty directory with every order.
func TestBackupThroughTheAdminAPI(t *testing.T) {
	startShop(t, shopConfig{})
	for range 3 {
		checkout(t, url.Values{"sku": {"book"}})
	}
	resp, body := do(t, http.MethodGet, "http://localhost:2999/vipps/shops", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"default"`) || !strings.Contains(string(body), `"running":true`) {
		t.Fatalf("shops: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, "http://localhost:2999/vipps/shops/default/backup", nil)
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("backup: %d, %d bytes", resp.StatusCode, len(body))
	}
	file := filepath.Join(t.TempDir(), "shop.badger")
	if err := os.WriteFile(file, body, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := state.RestoreBadgerBackup(file, t.TempDir())
	if err != nil || n != 3 {
		t.Fatalf("restored %d orders: %v", n, err)
	}
	if resp, _ := do(t, http.MethodGet, "http://localhost:2999/vipps/shops/nope/backup", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("backup of an unknown shop: %d", resp.StatusCode)
	}
}

// TestDemoRestartedBetweenApproveAndShip: the embedded simulator keeps its
// payments under the shop's data directory, so a demo stopped after the
// buyer approved and started again still ships the order.
func TestDemoRestartedBetweenApproveAndShip(t *testing.T) {
	dir := t.TempDir()
	tester := caddytest.NewTester(t)
	tester.InitServer(caddyfile(shopConfig{DataDir: dir}), "caddyfile")
	ref := approved(t, twoItems())
	// Stopped: the database closes and the simulator goes away.
	tester.InitServer(idleConfig, "caddyfile")
	if conn, err := net.DialTimeout("tcp", "127.0.0.1:9191", 200*time.Millisecond); err == nil {
		conn.Close()
		t.Fatal("the simulator still listens after the shop stopped")
	}
	startShop(t, shopConfig{DataDir: dir})
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", "")
	if resp.StatusCode != 200 {
		t.Fatalf("ship after the restart: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Status != "captured" || o.Payment.Captured != 49700 {
		t.Fatalf("after the restart and ship: %+v", o)
	}
}

// TestStoppedAppServesUntilCleanup: Caddy stops the apps of a retiring
// config in no fixed order, so the vipps app may stop while the old HTTP
// server still finishes (and, during the listener hand-over, takes)
// requests. Those must be served, not answered 503; the database goes in
// Cleanup.
func TestStoppedAppServesUntilCleanup(t *testing.T) {
	startShop(t, shopConfig{})
	app, err := caddy.ActiveContext().App("vipps")
	if err != nil {
		t.Fatal(err)
	}
	if err := app.(*caddyvipps.App).Stop(); err != nil {
		t.Fatal(err)
	}
	ref, _ := checkout(t, url.Values{"sku": {"mug"}})
	if ref == "" {
		t.Fatal("no order")
	}
}
