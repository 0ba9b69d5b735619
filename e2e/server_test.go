package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddy-vipps/caddy-vipps"
)

// The in-process Caddy of the walks listens on its own ports: the root
// package's integration tests use caddytest's defaults (admin 2999, HTTP
// 9080), and `go test ./...` runs the two test binaries at the same time.
// Were the ports shared, one binary would load its config into the other's
// Caddy.
const (
	adminPort  = 2998
	httpPort   = 9081
	httpsPort  = 9444
	shopURL    = "http://localhost:9081"
	adminToken = "test-admin-token"
)

// shop is the demo shop running in the in-process Caddy, with the embedded
// Vipps simulator on its own port.
type shop struct {
	t      *testing.T
	base   string // shopURL
	simURL string // http://127.0.0.1:<port>
	client *http.Client
}

// startShop loads the demo shop into the in-process Caddy: examples/site
// with the vipps handler in simulator mode, a fresh data_dir and simulator
// port per test. The config is replaced by an empty site when the test ends,
// which closes the database and stops the simulator.
//
// settings are more lines for the vipps block; without a currency line the
// shop sells in NOK.
func startShop(t *testing.T, settings ...string) *shop {
	t.Helper()
	return startSite(t, shopURL, shopURL, settings...)
}

// startSite is startShop with the site's address and the shop's public_url
// given ("" leaves public_url out).
func startSite(t *testing.T, siteAddr, publicURL string, settings ...string) *shop {
	t.Helper()
	return startConfig(t, site{addr: siteAddr, publicURL: publicURL, settings: settings})
}

// site is the in-process Caddy's config: the demo shop's site, and what
// else a test puts around it.
type site struct {
	// addr is the shop's site address; publicURL its public_url (""
	// leaves it out).
	addr, publicURL string
	// directives are more directives of the shop's site, before its vipps
	// block (basic_auth, for one).
	directives string
	// sites are more site blocks: a proxy in front of the shop, another
	// site's pages.
	sites string
	// settings are more lines for the vipps block.
	settings []string
}

// startConfig loads the site into the in-process Caddy (see startShop).
func startConfig(t *testing.T, c site) *shop {
	t.Helper()
	if testing.Short() {
		t.Skip("the browser walks start Caddy and chromium; not run with -short")
	}
	simAddr := freeAddr(t)
	tmp := t.TempDir()

	// caddytest skips the test when it cannot start Caddy. That must not
	// pass quietly: turn such a skip into a failure.
	started := false
	t.Cleanup(func() {
		if t.Skipped() && !started {
			t.Errorf("the in-process Caddy did not start (is something else using ports %d or %d?)", adminPort, httpPort)
		}
	})

	tester := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort:          adminPort,
		LoadRequestTimeout: 30 * time.Second,
		TestRequestTimeout: 30 * time.Second,
	})
	tester.InitServer(shopConfig(tmp, simAddr, c), "caddyfile")
	started = true
	if t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() {
		tester.InitServer(fmt.Sprintf(emptyConfig, adminPort, httpPort, httpsPort,
			filepath.ToSlash(filepath.Join(tmp, "caddy")), shopURL), "caddyfile")
	})

	s := &shop{
		t:      t,
		base:   shopURL,
		simURL: "http://" + simAddr,
		client: &http.Client{
			Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	// The shop itself must serve the static site before any walk starts.
	res := s.request(http.MethodGet, s.base+"/cart.html", nil, nil)
	if res.status != http.StatusOK || !strings.Contains(res.body, `id="pay"`) {
		t.Fatalf("GET /cart.html: %d, want 200 with the cart page; is root ../examples/site right?", res.status)
	}
	return s
}

// shopConfig is examples/Caddyfile adapted to the test: the test's ports
// and admin address, temporary storage, and the simulator on a free port.
func shopConfig(tmp, simAddr string, c site) string {
	slash := filepath.ToSlash
	extra := strings.Join(c.settings, "\n\t\t")
	if !strings.Contains(extra, "currency ") {
		extra = "currency NOK\n\t\t" + extra
	}
	if c.publicURL != "" {
		extra = "public_url " + c.publicURL + "\n\t\t" + extra
	}
	return fmt.Sprintf(`{
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 1ns
	persist_config off
	skip_install_trust
	storage file_system %s
}

%s {
	root * ../examples/site
	%s

	vipps {
		environment simulator
		simulator_listen %s
		base_path /vipps
		reference_prefix e2e
		%s
		product socks 14900 "Wool socks" name nb "Ullsokker" name da "Uldsokker" name sv "Ullstrumpor" name fi "Villasukat"
		product mug 19900 "Coffee mug" name nb "Kaffekopp" name da "Kaffekop" name sv "Kaffemugg" name fi "Kahvimuki"
		product book 34900 "Cookbook" vat 0 name nb "Kokebok" name da "Kogebog" name sv "Kokbok" name fi "Keittokirja"
		admin_token %s
		data_dir %s
	}

	file_server
}
%s
`, adminPort, httpPort, httpsPort, slash(filepath.Join(tmp, "caddy")),
		c.addr, strings.ReplaceAll(c.directives, "\n", "\n\t"), simAddr, extra, adminToken, slash(filepath.Join(tmp, "vipps")), c.sites)
}

// emptyConfig replaces the shop at the end of a test, so that the vipps
// handler is cleaned up (database closed, simulator stopped) while the
// in-process Caddy keeps running for the next test.
const emptyConfig = `{
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 1ns
	persist_config off
	skip_install_trust
	storage file_system %s
}

%s {
	respond "closed" 503
}
`

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	return addr
}

type response struct {
	status int
	header http.Header
	body   string
}

// request sends one HTTP request (redirects are not followed) and fails the
// test if it cannot be sent.
func (s *shop) request(method, target string, header http.Header, body io.Reader) response {
	s.t.Helper()
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		s.t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// ship calls the merchant's ship endpoint for ref with the given bearer
// token (none when empty).
func (s *shop) ship(ref, token string) response {
	s.t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return s.request(http.MethodPost, s.base+"/vipps/orders/"+url.PathEscape(ref)+"/ship", h, nil)
}

// buyerOrder is the part of GET /vipps/orders/R the walks look at.
type buyerOrder struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Items     []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"items"`
}

// order fetches the buyer's JSON view of ref.
func (s *shop) order(ref string) buyerOrder {
	s.t.Helper()
	res := s.request(http.MethodGet, s.base+"/vipps/orders/"+url.PathEscape(ref), http.Header{"Accept": {"application/json"}}, nil)
	if res.status != http.StatusOK {
		s.t.Fatalf("GET /vipps/orders/%s: status %d, want 200; body: %s", ref, res.status, clip(res.body))
	}
	var o buyerOrder
	if err := json.Unmarshal([]byte(res.body), &o); err != nil {
		s.t.Fatalf("GET /vipps/orders/%s: %v; body: %s", ref, err, clip(res.body))
	}
	return o
}

// simApprove approves a pending payment through the simulator's control
// API, as the buyer would in the Vipps app.
func (s *shop) simApprove(ref string) {
	s.t.Helper()
	res := s.request(http.MethodPost, s.simURL+"/_sim/payments/"+url.PathEscape(ref)+"/approve", nil, nil)
	if res.status < 200 || res.status > 299 {
		s.t.Fatalf("simulator approve %s: status %d; body: %s", ref, res.status, clip(res.body))
	}
}

// clip shortens a response body for an error message.
func clip(s string) string {
	const n = 400
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
