package integration

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

func approved(t *testing.T, form url.Values) string {
	t.Helper()
	ref, _ := checkout(t, form)
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	waitFor(t, "authorized", func() bool { return storedOrder(t, ref).Status == "authorized" })
	return ref
}

func TestPartialCaptureCancelAndRefund(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // 49700

	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount": 14900}`)
	if resp.StatusCode != 200 {
		t.Fatalf("partial ship: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Status != "partially_captured" || o.Payment.Captured != 14900 {
		t.Fatalf("after partial ship: %+v", o)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount": 40000}`)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "left to capture") {
		t.Fatalf("ship over remaining: %d %s", resp.StatusCode, body)
	}
	// Releasing the rest finishes the order: captured, nothing reserved.
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/cancel", "")
	if resp.StatusCode != 200 {
		t.Fatalf("cancel rest: %d %s", resp.StatusCode, body)
	}
	o := storedOrder(t, ref)
	if o.Status != "captured" || o.Payment.Cancelled != 34800 || o.Payment.Captured != 14900 {
		t.Fatalf("after cancel: %+v", o)
	}
	resp, _ = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/cancel", "")
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("second cancel: %d", resp.StatusCode)
	}
	// Refunds: never more than captured.
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/refund", `{"amount": 20000}`)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("refund over captured: %d %s", resp.StatusCode, body)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/refund", `{"amount": 4900}`)
	if resp.StatusCode != 200 || storedOrder(t, ref).Status != "partially_refunded" {
		t.Fatalf("partial refund: %d %s", resp.StatusCode, body)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/refund", "")
	if resp.StatusCode != 200 {
		t.Fatalf("refund the rest: %d %s", resp.StatusCode, body)
	}
	o = storedOrder(t, ref)
	if o.Status != "refunded" || o.Payment.Refunded != 14900 {
		t.Fatalf("after refunds: %+v", o)
	}
	p := simPaymentOf(t, ref)
	if countEvents(p, "CAPTURED") != 1 || countEvents(p, "CANCELLED") != 1 || countEvents(p, "REFUNDED") != 2 {
		t.Fatalf("vipps events: %+v", p.Events)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/refund", `{"amount": -5}`)
	if resp.StatusCode != 400 {
		t.Fatalf("negative refund: %d %s", resp.StatusCode, body)
	}
}

func TestCancelBeforeApproval(t *testing.T) {
	startShop(t, shopConfig{})
	ref, _ := checkout(t, url.Values{"sku": {"book"}})
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/cancel", "")
	if resp.StatusCode != 200 {
		t.Fatalf("cancel: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Status != "cancelled" {
		t.Fatalf("status %s", o.Status)
	}
	if p := simPaymentOf(t, ref); p.State != "TERMINATED" {
		t.Fatalf("vipps state %s", p.State)
	}
}

func TestConcurrentShipAndCancel(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems())
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := "ship"
			if i%2 == 1 {
				op = "cancel"
			}
			resp, _ := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/"+op, "")
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c == 200 {
			ok++
		} else if c != http.StatusConflict {
			t.Errorf("status %d", c)
		}
	}
	p := simPaymentOf(t, ref)
	captures, cancels := countEvents(p, "CAPTURED"), countEvents(p, "CANCELLED")
	if ok != 1 || captures+cancels != 1 {
		t.Fatalf("%d calls succeeded; vipps saw %d captures and %d cancels", ok, captures, cancels)
	}
	o := storedOrder(t, ref)
	if o.Payment.Captured+o.Payment.Cancelled != 49700 {
		t.Fatalf("local view %+v", o.Payment)
	}
}

func TestOrderListPaginationAndCSV(t *testing.T) {
	startShop(t, shopConfig{})
	var refs []string
	for range 7 {
		ref, _ := checkout(t, url.Values{"sku": {"mug"}})
		refs = append(refs, ref)
	}
	var seen []string
	cursor := ""
	for {
		resp, body := merchant(t, http.MethodGet, "/vipps/orders?limit=3&cursor="+url.QueryEscape(cursor), "")
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, body)
		}
		var page struct {
			Orders []orderJSON `json:"orders"`
			Next   string      `json:"next"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Orders {
			seen = append(seen, o.Reference)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 7 {
		t.Fatalf("listed %d orders", len(seen))
	}
	for i := range seen {
		if seen[i] != refs[len(refs)-1-i] {
			t.Fatalf("position %d: %s, want newest first", i, seen[i])
		}
	}
	if got := listOrders(t, "&status=pending"); len(got) != 7 {
		t.Fatalf("pending filter: %d", len(got))
	}
	if got := listOrders(t, "&status=captured"); len(got) != 0 {
		t.Fatalf("captured filter: %d", len(got))
	}
	resp, body := merchant(t, http.MethodGet, "/vipps/orders?limit=0", "")
	if resp.StatusCode != 400 {
		t.Fatalf("bad limit: %d %s", resp.StatusCode, body)
	}
	resp, body = merchant(t, http.MethodGet, "/vipps/orders?format=csv", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil || len(rows) != 8 {
		t.Fatalf("csv rows %v %v", rows, err)
	}
	// The header names the units: minor units of the currency, times in UTC.
	if got := strings.Join(rows[0][:9], ","); got != "reference,created_utc,status,currency,amount_minor,authorized_minor,captured_minor,cancelled_minor,refunded_minor" {
		t.Fatalf("csv header: %s", got)
	}
	if rows[1][4] != "19900" || rows[1][3] != "NOK" || !strings.HasSuffix(rows[1][1], "Z") {
		t.Fatalf("csv row: %v", rows[1])
	}
	resp, _ = do(t, http.MethodGet, shopURL+"/vipps/orders", nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("list without token: %d", resp.StatusCode)
	}
}

func TestAdminPage(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems())

	resp, body := do(t, http.MethodGet, shopURL+"/vipps/admin", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="token"`) || strings.Contains(string(body), ref) {
		t.Fatalf("admin without credentials: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = postForm(t, "/vipps/admin/login", url.Values{"token": {"wrong-token-123"}})
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 0 {
		t.Fatalf("bad login: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	resp, _ = postForm(t, "/vipps/admin/login", url.Values{"token": {adminToken}})
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("login: %d, cookies %+v", resp.StatusCode, cookies)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Cookie", cookie)
	page := string(body)
	if resp.StatusCode != 200 || !strings.Contains(page, ref) || !strings.Contains(page, "NOK\u00a0497.00") || !regexp.MustCompile(`\d+ days left`).MatchString(page) {
		t.Fatalf("admin page: %d\n%s", resp.StatusCode, page)
	}
	// The ship button: a form post with the session cookie, from the page.
	form := url.Values{"reference": {ref}, "op": {"ship"}}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cookie post without origin (CSRF): %d", resp.StatusCode)
	}
	if o := storedOrder(t, ref); o.Status != "authorized" {
		t.Fatalf("a cross-site post shipped the order: %s", o.Status)
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie, "Origin", shopURL)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=capture") {
		t.Fatalf("ship from the admin page: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if o := storedOrder(t, ref); o.Status != "captured" {
		t.Fatalf("status after the ship button: %s", o.Status)
	}
	_, body = do(t, http.MethodGet, shopURL+resp.Header.Get("Location"), nil, "Cookie", cookie, "Accept-Language", "nb")
	if !strings.Contains(string(body), "Ordre "+ref+": 497,00\u00a0kr trukket.") {
		t.Fatalf("the admin page does not say what the ship did:\n%s", body)
	}

	// Refund and cancel ask first, naming the amount; only the
	// confirmation moves money.
	action := func(form url.Values) (*http.Response, string) {
		resp, body := do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(form.Encode()),
			"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie, "Origin", shopURL, "Accept-Language", "nb")
		return resp, string(body)
	}
	resp, _ = action(url.Values{"reference": {ref}, "op": {"refund"}, "key": {"k1-refund"}, "amount": {"1 00,50"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "problem=amount") {
		t.Fatalf("a refund of junk: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = action(url.Values{"reference": {ref}, "op": {"refund"}, "key": {"k1-refund"}, "amount": {"100,505"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "problem=amount") {
		t.Fatalf("a refund with three decimals: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = action(url.Values{"reference": {ref}, "op": {"refund"}, "key": {"k1-refund"}, "amount": {"600"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "problem=toomuch.refund") {
		t.Fatalf("a refund of more than was charged: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = action(url.Values{"reference": {ref}, "op": {"refund"}, "key": {"k1-refund"}, "amount": {"100,50"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Refundere 100,50\u00a0kr?") || !strings.Contains(page, `name="expect" value="10050"`) {
		t.Fatalf("the refund's confirmation: %d\n%s", resp.StatusCode, page)
	}
	if o := storedOrder(t, ref); o.Payment.Refunded != 0 {
		t.Fatalf("the first press of Refund refunded %d", o.Payment.Refunded)
	}
	confirm := url.Values{"reference": {ref}, "op": {"refund"}, "key": {"k1-refund"}, "expect": {"10050"}, "confirm": {"yes"}}
	for range 2 { // a double click refunds once
		resp, _ = action(confirm)
		if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=refund") {
			t.Fatalf("confirmed refund: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if o := storedOrder(t, ref); o.Payment.Refunded != 10050 || o.Status != "partially_refunded" {
		t.Fatalf("after the confirmed refund: %s, refunded %d", o.Status, o.Payment.Refunded)
	}

	second := approved(t, url.Values{"sku": {"socks"}})
	resp, page = action(url.Values{"reference": {second}, "op": {"cancel"}, "key": {"k2-cancel"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Ja, frigi 149,00\u00a0kr") {
		t.Fatalf("the cancel's confirmation: %d\n%s", resp.StatusCode, page)
	}
	if o := storedOrder(t, second); o.Status != "authorized" {
		t.Fatalf("the first press of Cancel made the order %s", o.Status)
	}
	resp, _ = action(url.Values{"reference": {second}, "op": {"cancel"}, "key": {"k2-cancel"}, "expect": {"100"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "problem=changed") || storedOrder(t, second).Status != "authorized" {
		t.Fatalf("a cancel confirmed for another amount: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = action(url.Values{"reference": {second}, "op": {"cancel"}, "key": {"k2-cancel"}, "expect": {"14900"}, "confirm": {"yes"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=cancel") || storedOrder(t, second).Status != "cancelled" {
		t.Fatalf("a confirmed cancel: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The page's messages come from words and the stored order, never from
	// text in the link.
	_, body = do(t, http.MethodGet, shopURL+"/vipps/admin?problem=%3Cb%3Eyour+token+expired%3C%2Fb%3E&ref=x&notice=hi", nil, "Cookie", cookie)
	if strings.Contains(string(body), "token expired") || strings.Contains(string(body), `id="error"`) {
		t.Fatalf("the admin page shows text from its link")
	}
	// A forged session cookie is refused.
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Cookie", "vipps_admin=9999999999.AAAA")
	if strings.Contains(string(body), ref) {
		t.Fatalf("a forged cookie opened the admin page: %d", resp.StatusCode)
	}
}

func TestMetricsAfterScriptedOrders(t *testing.T) {
	startShop(t, shopConfig{})
	before := scrape(t)
	a := approved(t, url.Values{"sku": {"socks"}})
	merchant(t, http.MethodPost, "/vipps/orders/"+a+"/ship", "")
	b, _ := checkout(t, url.Values{"sku": {"mug"}})
	simPost(t, "/_sim/payments/"+b+"/reject", "")
	do(t, http.MethodGet, shopURL+"/vipps/return?reference="+b, nil)
	do(t, http.MethodPost, shopURL+"/vipps/webhook", strings.NewReader(`{"reference":"x"}`), "Content-Type", "application/json")
	after := scrape(t)
	delta := func(name string) float64 { return after[name] - before[name] }
	checks := map[string]float64{
		`caddy_vipps_orders_total{outcome="created"}`:              2,
		`caddy_vipps_orders_total{outcome="authorized"}`:           1,
		`caddy_vipps_orders_total{outcome="captured"}`:             1,
		`caddy_vipps_orders_total{outcome="aborted"}`:              1,
		`caddy_vipps_webhook_rejections_total{reason="signature"}`: 1,
		// What Vipps answered, not a blanket 200: create is 201.
		`caddy_vipps_api_calls_total{operation="create payment",status="201"}`:  2,
		`caddy_vipps_api_calls_total{operation="create payment",status="200"}`:  0,
		`caddy_vipps_api_calls_total{operation="capture payment",status="200"}`: 1,
	}
	for name, want := range checks {
		if got := delta(name); got != want {
			t.Errorf("%s grew by %v, want %v", name, got, want)
		}
	}
}

// scrape reads Caddy's metrics endpoint on the admin API.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, body := do(t, http.MethodGet, "http://localhost:2999/metrics", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "caddy_vipps_") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// notifySecret signs the notifications of the shops notifyShop starts.
const notifySecret = "notify-secret-for-tests"

// notifyShop starts a shop whose notifications go to a receiver that
// checks each one's signature and hands it to accept, which says whether
// the receiver takes it (2xx) or refuses it (503, to be delivered again).
// Calls of accept take turns.
func notifyShop(t *testing.T, accept func(n shop.Notification) bool) {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := shop.VerifyNotification(notifySecret, r, body, 5*time.Minute, time.Now()); err != nil {
			t.Errorf("notification does not verify: %v", err)
			w.WriteHeader(401)
			return
		}
		var n shop.Notification
		_ = json.Unmarshal(body, &n)
		mu.Lock()
		defer mu.Unlock()
		if !accept(n) {
			w.WriteHeader(503)
		}
	}))
	t.Cleanup(srv.Close)
	t.Setenv("VIPPS_TEST_NOTIFY_SECRET", notifySecret)
	startShop(t, shopConfig{Extra: "notify_url " + srv.URL + "\n\t\tnotify_secret {env.VIPPS_TEST_NOTIFY_SECRET}"})
}

func TestNotifyDeliveriesSignedAndRetried(t *testing.T) {
	const secret = notifySecret
	var mu sync.Mutex
	var got []shop.Notification
	failures := 1
	notifyShop(t, func(n shop.Notification) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return false
		}
		got = append(got, n)
		return true
	})
	ref := approved(t, url.Values{"sku": {"socks"}})
	events := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, n := range got {
			if n.Reference == ref {
				out = append(out, n.Event)
			}
		}
		return out
	}
	// The first delivery fails and is retried by the outbox (backoff 5s+).
	deadline := time.Now().Add(40 * time.Second)
	for len(events()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("notifications so far: %v", events())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if e := strings.Join(events(), ","); !strings.Contains(e, "order.pending") || !strings.Contains(e, "order.authorized") {
		t.Fatalf("notifications %s", e)
	}
	// A tampered body does not verify.
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	ts := time.Now().Unix()
	req.Header.Set(shop.HeaderNotifyTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(shop.HeaderNotifySignature, shop.SignNotification(secret, ts, []byte(`{"amount":1}`)))
	if shop.VerifyNotification(secret, req, []byte(`{"amount":2}`), time.Minute, time.Now()) == nil {
		t.Fatal("a tampered notification verified")
	}
}

// TestNotificationsFollowTheMoney: the merchant's system is told of every
// movement of money, also when the status stays the same (a second partial
// capture, a release after a partial refund), with the figures of that
// moment and an ID that a repeated delivery keeps.
func TestNotificationsFollowTheMoney(t *testing.T) {
	var mu sync.Mutex
	var got []shop.Notification
	var refusedIDs []string
	notifyShop(t, func(n shop.Notification) bool {
		mu.Lock()
		defer mu.Unlock()
		// The first delivery of the second capture's event is refused.
		if n.Status == "partially_captured" && n.Captured == 15000 && len(refusedIDs) == 0 {
			refusedIDs = append(refusedIDs, n.ID)
			return false
		}
		got = append(got, n)
		return true
	})
	ref := approved(t, twoItems()) // 49700
	for _, step := range []struct{ path, body string }{
		{"ship", `{"amount":10000}`},
		{"ship", `{"amount":5000}`},
		{"refund", `{"amount":3000}`},
		{"cancel", ""},
	} {
		if resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/"+step.path, step.body); resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", step.path, step.body, resp.StatusCode, body)
		}
	}
	type moment struct {
		status                                    string
		authorized, captured, cancelled, refunded int64
	}
	want := []moment{
		{"pending", 0, 0, 0, 0},
		{"authorized", 49700, 0, 0, 0},
		{"partially_captured", 49700, 10000, 0, 0},
		{"partially_captured", 49700, 15000, 0, 0},
		{"partially_captured", 49700, 15000, 0, 3000}, // the rest is still reserved
		{"partially_refunded", 49700, 15000, 34700, 3000},
	}
	var seen []moment
	ids := map[string]bool{}
	waitFor(t, "a notification of every movement of money", func() bool {
		mu.Lock()
		defer mu.Unlock()
		seen, ids = nil, map[string]bool{}
		for _, n := range got {
			if n.Reference == ref {
				seen = append(seen, moment{n.Status, n.Authorized, n.Captured, n.Cancelled, n.Refunded})
				ids[n.ID] = true
			}
		}
		return len(seen) >= len(want)
	})
	for _, m := range want {
		if !slices.Contains(seen, m) {
			t.Errorf("no notification of %+v; got %+v", m, seen)
		}
	}
	if len(seen) != len(want) || len(ids) != len(want) {
		t.Errorf("%d notifications with %d IDs, want %d each: %+v", len(seen), len(ids), len(want), seen)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(refusedIDs) != 1 || !ids[refusedIDs[0]] {
		t.Errorf("the refused delivery (%v) was not repeated with its ID (%v)", refusedIDs, ids)
	}
}

func TestShipByLinesWithTrackingThenRest(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems()) // socks×2 (2×14900), mug×1 (19900)

	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship",
		`{"lines":[{"sku":"socks","qty":1}],"tracking_url":"https://track.example/parcel/1"}`)
	if resp.StatusCode != 200 {
		t.Fatalf("ship one pair of socks: %d %s", resp.StatusCode, body)
	}
	if o := storedOrder(t, ref); o.Payment.Captured != 14900 || o.Status != "partially_captured" {
		t.Fatalf("after first shipment: %+v", o)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"lines":[{"sku":"socks","qty":2}]}`)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "left to ship") {
		t.Fatalf("shipping more socks than ordered: %d %s", resp.StatusCode, body)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"lines":[{"sku":"book","qty":1}]}`)
	if resp.StatusCode != 400 {
		t.Fatalf("shipping a book that was never ordered: %d %s", resp.StatusCode, body)
	}
	// The last shipment covers every line: it captures and nothing stays reserved.
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"lines":[{"sku":"socks","qty":1},{"sku":"mug","qty":1}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("last shipment: %d %s", resp.StatusCode, body)
	}
	o := storedOrder(t, ref)
	if o.Status != "captured" || o.Payment.Captured != 49700 || o.Payment.Cancelled != 0 {
		t.Fatalf("after the last shipment: %+v", o)
	}
	// The tracking link reaches the app through the outbox.
	waitFor(t, "the tracking link at vipps", func() bool {
		_, b := do(t, http.MethodGet, simURL+"/_sim/payments/"+ref, nil)
		return len(b) > 0 && categoryAt(t, ref) == "https://track.example/parcel/1"
	})
}

func TestShipFinalReleasesTheRest(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems())
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"amount":10000,"final":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("final ship: %d %s", resp.StatusCode, body)
	}
	o := storedOrder(t, ref)
	if o.Status != "captured" || o.Payment.Captured != 10000 || o.Payment.Cancelled != 39700 {
		t.Fatalf("after final ship: %+v", o)
	}
	p := simPaymentOf(t, ref)
	if countEvents(p, "CAPTURED") != 1 || countEvents(p, "CANCELLED") != 1 {
		t.Fatalf("vipps events %+v", p.Events)
	}
}

// categoryAt reads the Order Management category the shop set, through the
// simulator's API as the shop's own client would.
func categoryAt(t *testing.T, ref string) string {
	t.Helper()
	h := map[string]string{"Ocp-Apim-Subscription-Key": "simulator-subscription-key", "client_id": "c", "client_secret": "s"}
	req, _ := http.NewRequest(http.MethodPost, simURL+"/accesstoken/get", nil)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, simURL+"/order-management/v2/ECOM/"+ref, nil)
	req.Header.Set("Ocp-Apim-Subscription-Key", h["Ocp-Apim-Subscription-Key"])
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Merchant-Serial-Number", "123456")
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Category *struct {
			Category        string `json:"category"`
			OrderDetailsURL string `json:"orderDetailsUrl"`
		} `json:"category"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if out.Category == nil || out.Category.Category != "DELIVERY" {
		return ""
	}
	return out.Category.OrderDetailsURL
}

// TestBasicAuthAdminUsers: with the README's basic_auth recipe in front
// of the merchant paths, a user named in admin_users ships without the
// token (from the shop's own origin); another authenticated user does not.
func TestBasicAuthAdminUsers(t *testing.T) {
	recipe := staffRecipe(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("intern-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// A second user, whom Caddy authenticates but admin_users does not name.
	recipe = strings.Replace(recipe, "\tstaff ", "\tintern "+string(hash)+"\n\tstaff ", 1)
	startShop(t, shopConfig{Site: recipe, Extra: "admin_users staff"})
	ref := approved(t, url.Values{"sku": {"socks"}})
	ship := func(auth string) (*http.Response, []byte) {
		return do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", nil, "Authorization", auth, "Accept", "application/json",
			"Content-Type", "application/json", "Origin", shopURL)
	}
	resp, _ := do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", nil, "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d", resp.StatusCode)
	}
	resp, body := ship(basicAuth("intern", "intern-password"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a user not in admin_users: %d %s", resp.StatusCode, body)
	}
	resp, body = ship(basicAuth("staff", "staff-password"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"captured"`) {
		t.Fatalf("staff ships: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Authorization", basicAuth("staff", "staff-password"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), ref) || strings.Contains(string(body), `id="sign-out"`) {
		t.Fatalf("staff opens the admin page (with no sign-out, which would not sign them out): %d", resp.StatusCode)
	}
}

// TestAdminPageShowsFailingNotifications: a merchant endpoint that keeps
// failing is visible on the admin page, with the error.
func TestAdminPageShowsFailingNotifications(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	os.Setenv("VIPPS_TEST_NOTIFY_SECRET", "notify-secret-for-tests")
	startShop(t, shopConfig{Extra: "notify_url " + srv.URL + "\n\t\tnotify_secret {env.VIPPS_TEST_NOTIFY_SECRET}"})
	ref, _ := checkout(t, url.Values{"sku": {"mug"}})
	waitFor(t, "the failing notification on the admin page", func() bool {
		resp, body := do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Authorization", "Bearer "+adminToken)
		return resp.StatusCode == 200 && strings.Contains(string(body), `id="problems"`) &&
			strings.Contains(string(body), ref) && strings.Contains(string(body), "answered 500")
	})
}

// TestDanishShopSpeaksMobilePay: a DKK shop shows MobilePay, in Danish to a
// Danish browser, end to end.
func TestDanishShopSpeaksMobilePay(t *testing.T) {
	startShop(t, shopConfig{Extra: "currency DKK"})
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	if p := simPaymentOf(t, ref); p.Amount.Value != 14900 {
		t.Fatalf("amount %d", p.Amount.Value)
	}
	resp, body := do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil, "Accept-Language", "da-DK,da;q=0.9,en;q=0.5")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Godkend betalingen i MobilePay-appen") || !strings.Contains(string(body), `lang="da" data-brand="mobilepay"`) {
		t.Fatalf("waiting page: %d\n%s", resp.StatusCode, body)
	}
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/confirmation?reference="+ref, nil, "Accept-Language", "da")
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Tak for din ordre") || !strings.Contains(string(body), "149,00\u00a0kr.") {
		t.Fatalf("confirmation: %d\n%s", resp.StatusCode, body)
	}
	// MobilePay reservations last 14 days.
	waitFor(t, "authorized", func() bool { return storedOrder(t, ref).Status == "authorized" })
	resp, body = merchant(t, http.MethodGet, "/vipps/orders/"+ref, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"days_left_to_capture": 13`) && !strings.Contains(string(body), `"days_left_to_capture": 14`) {
		t.Fatalf("capture deadline: %s", body)
	}
}
