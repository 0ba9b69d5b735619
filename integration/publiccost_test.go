package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// The public endpoints cost a bounded amount: whoever has a reference or a
// link cannot make the shop call Vipps, render images or send pushes
// without bound.

// simCalls is the simulator's count of API calls by operation.
func simCalls(t *testing.T) map[string]int64 {
	t.Helper()
	resp, b := do(t, http.MethodGet, simURL+"/_sim/stats", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("simulator stats: %d %s", resp.StatusCode, b)
	}
	var st struct {
		Calls map[string]int64 `json:"calls"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("decoding simulator stats: %v: %s", err, b)
	}
	return st.Calls
}

// readBound is the most reads of one payment the read budget allows since
// began: a burst of ten, then one a second, and the poller's first look.
func readBound(began time.Time) int64 {
	return 10 + int64(time.Since(began)/time.Second) + 2
}

// parallelGets sends n GETs of u at once and returns the status codes seen.
func parallelGets(t *testing.T, n int, u string, headers ...string) map[int]int {
	t.Helper()
	client := &http.Client{
		Timeout:       testTimeout,
		Transport:     &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 200},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			code := 0
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// TestReturnPageReadsVippsWithinBudget: a thousand parallel returns for a
// pending order make a few reads of the payment at Vipps, not a thousand,
// and the buyer still lands on the confirmation once the payment is
// approved.
func TestReturnPageReadsVippsWithinBudget(t *testing.T) {
	startShop(t, shopConfig{})
	// No webhooks: only reads tell the shop about the approval.
	simPost(t, "/_sim/webhooks/faults", `{"mode":"drop","count":1000}`)
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	before, began := simCalls(t)["get"], time.Now()
	codes := parallelGets(t, 1000, shopURL+"/vipps/return?reference="+ref)
	reads := simCalls(t)["get"] - before
	if codes[http.StatusOK] != 1000 {
		t.Fatalf("return pages: %v, want 1000 waiting pages", codes)
	}
	// One read in flight at a time, at most ten at once and then one a
	// second (the poller's among them): however long the burst took, far
	// below a thousand.
	if limit := readBound(began); reads > limit {
		t.Fatalf("1000 returns made %d reads at vipps, more than the budget's %d", reads, limit)
	}
	t.Logf("1000 parallel returns: %d reads at vipps in %s", reads, time.Since(began).Round(time.Millisecond))

	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	waitFor(t, "the return page to send the buyer to the confirmation", func() bool {
		resp, _ := do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
		return resp.StatusCode == http.StatusSeeOther && strings.Contains(resp.Header.Get("Location"), "/vipps/confirmation?reference="+ref)
	})

	// The order's JSON, polled by waiting pages, shares the budget.
	ref2, _ := checkout(t, url.Values{"sku": {"mug"}})
	before, began = simCalls(t)["get"], time.Now()
	codes = parallelGets(t, 300, shopURL+"/vipps/orders/"+ref2, "Accept", "application/json")
	if reads := simCalls(t)["get"] - before; codes[http.StatusOK] != 300 || reads > readBound(began) {
		t.Fatalf("300 order reads: %v, %d reads at vipps", codes, reads)
	}
}

// TestLinkQRIsCachedAndRevalidated: a link's QR image carries a strong
// ETag and is revalidated (a 304 from the cache, not a render); a burst of
// requests for the largest PNG gets one image; a disabled link serves no
// code, as its page answers.
func TestLinkQRIsCachedAndRevalidated(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"lines":[{"sku":"mug","qty":1}],"reusable":true}`)
	png := l.QRPNG + "?size=2000"
	resp, img := do(t, http.MethodGet, png, nil)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || len(img) == 0 ||
		!strings.HasPrefix(etag, `"`) || !strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") {
		t.Fatalf("the QR code: %d, type %q, etag %q, cache-control %q, %d bytes", resp.StatusCode,
			resp.Header.Get("Content-Type"), etag, resp.Header.Get("Cache-Control"), len(img))
	}
	if codes := parallelGets(t, 32, png); codes[http.StatusOK] != 32 {
		t.Fatalf("32 parallel requests: %v", codes)
	}
	if resp, again := do(t, http.MethodGet, png, nil); resp.Header.Get("ETag") != etag || string(again) != string(img) {
		t.Fatal("the same QR code came back different")
	}
	resp, b := do(t, http.MethodGet, png, nil, "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(b) != 0 || resp.Header.Get("ETag") != etag {
		t.Fatalf("revalidating the QR code: %d, %d bytes, etag %q", resp.StatusCode, len(b), resp.Header.Get("ETag"))
	}
	if codes := parallelGets(t, 32, png, "If-None-Match", etag); codes[http.StatusNotModified] != 32 {
		t.Fatalf("32 revalidations: %v", codes)
	}
	resp, svg := do(t, http.MethodGet, l.QRSVG, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" || resp.Header.Get("ETag") == etag || !strings.HasPrefix(string(svg), "<svg") {
		t.Fatalf("the SVG code: %d, etag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if resp, b := merchant(t, http.MethodPost, "/vipps/links/"+l.ID+"/disable", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("disable: %d %s", resp.StatusCode, b)
	}
	for _, u := range []string{png, l.QRSVG} {
		if resp, _ := do(t, http.MethodGet, u, nil, "If-None-Match", etag); resp.StatusCode != http.StatusGone {
			t.Fatalf("the QR code of a disabled link %s: %d", u, resp.StatusCode)
		}
	}
}

// TestPublicSimulatorGivesTokensToTheShopOnly: a simulator open to the
// network (simulator_public) gives access tokens for the shop's own
// credentials only, so no one else reads payments or deletes the shop's
// webhook registration; the shop works as before.
func TestPublicSimulatorGivesTokensToTheShopOnly(t *testing.T) {
	startShop(t, shopConfig{Extra: `simulator_public
		client_id shop-client-id
		client_secret {env.VIPPS_TEST_PUBLIC_SIM_SECRET}
		subscription_key shop-subscription-key`,
	}.publicSim(t))
	token := func(id, secret, key string) int {
		resp, _ := do(t, http.MethodPost, simURL+"/accesstoken/get", nil, "client_id", id, "client_secret", secret, "Ocp-Apim-Subscription-Key", key)
		return resp.StatusCode
	}
	for _, c := range [][3]string{
		{"simulator-client", "simulator-secret", "simulator-subscription-key"},
		{"anyone", "anything", "any-key"},
		{"shop-client-id", "wrong", "shop-subscription-key"},
	} {
		if code := token(c[0], c[1], c[2]); code != http.StatusUnauthorized {
			t.Fatalf("a token for %v: %d", c, code)
		}
	}
	if code := token("shop-client-id", "shop-secret-value", "shop-subscription-key"); code != http.StatusOK {
		t.Fatalf("a token for the shop's credentials: %d", code)
	}
	resp, b := postForm(t, "/vipps/checkout", url.Values{"sku": {"socks"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), ":9191/landing") {
		t.Fatalf("checkout through the public simulator: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
}

// publicSim moves the shop's simulator to every address.
func (c shopConfig) publicSim(t *testing.T) shopConfig {
	t.Setenv("VIPPS_TEST_PUBLIC_SIM_SECRET", "shop-secret-value")
	c.listen = "0.0.0.0:9191"
	return c
}

// TestPushesPerPhoneNumberAreBounded: twenty posts of one phone number to
// a reusable link send three pushes, not twenty; the rest are told to
// wait (429) and reach neither the store nor Vipps. Another number is
// counted apart.
func TestPushesPerPhoneNumberAreBounded(t *testing.T) {
	startShop(t, shopConfig{Extra: "link_push"})
	l := createLink(t, `{"lines":[{"sku":"mug","qty":1}],"reusable":true}`)
	path := linkPath(t, l)
	before := simCalls(t)["create"]
	codes := map[int]int{}
	var limited []byte
	for range 20 {
		resp, b := payLink(t, path, url.Values{"phone": {"912 34 567"}})
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = b
			if resp.Header.Get("Retry-After") == "" {
				t.Fatal("a refused push says not when to try again")
			}
		}
	}
	if codes[http.StatusSeeOther] != 3 || codes[http.StatusTooManyRequests] != 17 {
		t.Fatalf("20 pushes to one number: %v, want 3 sent and 17 refused", codes)
	}
	if !strings.Contains(string(limited), "Too many payments sent to that number") || !strings.Contains(string(limited), path) {
		t.Fatalf("the page of a refused push:\n%s", limited)
	}
	if n := simCalls(t)["create"] - before; n != 3 {
		t.Fatalf("%d payments created at vipps, want 3", n)
	}
	if _, orders := linkDetail(t, l.ID); len(orders) != 3 {
		t.Fatalf("the link has %d orders, want 3", len(orders))
	}
	resp, b := do(t, http.MethodPost, shopURL+path, strings.NewReader(`{"phone":"+47 912 34 567"}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("the same number written another way, through the API: %d %s", resp.StatusCode, b)
	}
	// A number without the app: Vipps is asked (and refuses), the shop's
	// count of the first number does not stand in the way.
	if resp, _ := payLink(t, path, url.Values{"phone": {"912 34 568"}}); resp.StatusCode == http.StatusTooManyRequests || simCalls(t)["create"]-before != 4 {
		t.Fatalf("another number: %d", resp.StatusCode)
	}
}
