package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
)

// TestPushFromLinkPage: with link_push the link's page takes a phone
// number in the market's own form; the payment goes to that buyer's app
// (the simulator's push inbox) with no redirect, the buyer waits on a page
// that says so, approves in the app, and the page moves on to the
// confirmation. A number that has no app is told so, nothing is charged,
// and the single-use link takes the next try.
func TestPushFromLinkPage(t *testing.T) {
	startShop(t, shopConfig{Extra: "link_push"})
	l := createLink(t, `{"lines":[{"sku":"book","qty":1}]}`)
	path := linkPath(t, l)
	_, page := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html", "Accept-Language", "nb")
	if !strings.Contains(string(page), `id="phone"`) || !strings.Contains(string(page), "912 34 567") {
		t.Fatalf("the link's page offers no push:\n%s", page)
	}

	resp, b := payLink(t, path, url.Values{"phone": {"400 00 000"}})
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), "could not send the payment to that number") || !strings.Contains(string(b), path) {
		t.Fatalf("a push to a number without the app: %d\n%s", resp.StatusCode, b)
	}

	resp, _ = payLink(t, path, url.Values{"phone": {"912 34 567"}})
	ref := resp.Header.Get("X-Vipps-Reference")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/vipps/return?reference="+ref {
		t.Fatalf("push: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "waiting in your Vipps app") {
		t.Fatalf("the waiting page after a push: %d\n%s", resp.StatusCode, page)
	}
	p := simPaymentOf(t, ref)
	if p.State != "CREATED" {
		t.Fatalf("at vipps: %+v", p)
	}
	// The buyer's phone: the push is in Ada's inbox (4791234567).
	_, inbox := do(t, http.MethodGet, simURL+"/landing?user=4791234567", nil)
	m := regexp.MustCompile(`data-reference="` + ref + `"[^<]*<strong>[^<]*</strong>[^<]*<br><span class="muted">CREATED</span> · <a class="open" href="/landing\?token=([a-z0-9]+)"`).FindSubmatch(inbox)
	if m == nil {
		t.Fatalf("the push is not in the buyer's inbox:\n%s", inbox)
	}
	resp, _ = do(t, http.MethodPost, simURL+"/landing/approve", strings.NewReader("token="+string(m[1])), "Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/landing?user=") {
		t.Fatalf("approving in the app: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	waitFor(t, "the push authorized", func() bool { return storedOrder(t, ref).Status == "authorized" })
	resp, _ = do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/vipps/confirmation") {
		t.Fatalf("the waiting page's next step: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The merchant sees the number the buyer typed, normalised.
	_, b = merchant(t, http.MethodGet, "/vipps/orders/"+ref, "")
	if !strings.Contains(string(b), `"phone": "4791234567"`) {
		t.Fatalf("the merchant's view: %s", b)
	}
	if _, orders := linkDetail(t, l.ID); len(orders) != 2 {
		t.Fatalf("the link's orders: %d, want the failed push and the paid one", len(orders))
	}
}

// TestLinkWithoutPushIgnoresAPhone: without link_push the page has no
// phone field, and a phone sent anyway changes nothing: the buyer goes to
// Vipps.
func TestLinkWithoutPushIgnoresAPhone(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"lines":[{"sku":"mug","qty":1}],"reusable":true}`)
	_, page := do(t, http.MethodGet, shopURL+linkPath(t, l), nil, "Accept", "text/html")
	if strings.Contains(string(page), `id="phone"`) {
		t.Fatal("a phone field without link_push")
	}
	resp, _ := payLink(t, linkPath(t, l), url.Values{"phone": {"912 34 567"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), simURL+"/landing?token=") {
		t.Fatalf("pay: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestKioskAndCounterSale: a link's kiosk starts a QR payment whose code
// (Vipps' image) holds the landing page; approved, the kiosk page shows
// paid. A sale at the counter through the API does the same without a
// link, and is captured on payment when asked.
func TestKioskAndCounterSale(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"lines":[{"sku":"mug","qty":2}],"reusable":true}`)
	resp, b := do(t, http.MethodPost, l.KioskURL, nil, "Accept", "text/html")
	start := resp
	ref := resp.Header.Get("X-Vipps-Reference")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/vipps/kiosk/"+ref {
		t.Fatalf("start the kiosk: %d to %q %s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
	resp, page := do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+ref, nil, "Accept", "text/html")
	src := regexp.MustCompile(`<img class="qr" id="qr" src="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || src == nil || !strings.Contains(resp.Header.Get("Content-Security-Policy"), simURL) {
		t.Fatalf("the kiosk: %d, CSP %q\n%s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), page)
	}
	_, svg := do(t, http.MethodGet, strings.ReplaceAll(string(src[1]), "&amp;", "&"), nil)
	landing, err := qrtest.DecodeSVG(svg)
	if err != nil || !strings.HasPrefix(landing, simURL+"/landing?token=") {
		t.Fatalf("the QR code holds %q (%v)", landing, err)
	}
	resp, _ = do(t, http.MethodPost, simURL+"/landing/approve", strings.NewReader("token="+strings.TrimPrefix(landing, simURL+"/landing?token=")),
		"Content-Type", "application/x-www-form-urlencoded")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	waitFor(t, "the kiosk shows paid", func() bool {
		_, page := do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+ref, nil, "Accept", "text/html")
		return strings.Contains(string(page), `id="paid"`)
	})
	// Only the screen that started the payment (it got the cookie) is
	// offered the link's next payment; anyone else with the reference
	// sees paid, and no token of the link.
	token := l.URL[strings.LastIndex(l.URL, "/")+1:]
	var kioskCookie string
	for _, c := range start.Cookies() {
		if c.Name == "vipps_kiosk" {
			kioskCookie = c.Name + "=" + c.Value
			if c.Path != "/vipps/kiosk/" || !c.HttpOnly {
				t.Fatalf("the kiosk's cookie: %+v", c)
			}
		}
	}
	if kioskCookie == "" {
		t.Fatalf("starting the kiosk set no cookie: %v", start.Header["Set-Cookie"])
	}
	_, page = do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+ref, nil, "Accept", "text/html")
	if !strings.Contains(string(page), `id="paid"`) || strings.Contains(string(page), `id="next"`) || strings.Contains(string(page), token) {
		t.Fatalf("the paid screen without the kiosk's cookie holds the link:\n%s", page)
	}
	_, page = do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+ref, nil, "Accept", "text/html", "Cookie", "vipps_kiosk=notthetoken")
	if strings.Contains(string(page), `id="next"`) || strings.Contains(string(page), token) {
		t.Fatalf("the paid screen with a wrong cookie holds the link:\n%s", page)
	}
	_, page = do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+ref, nil, "Accept", "text/html", "Cookie", kioskCookie)
	if !strings.Contains(string(page), `id="next"`) || !strings.Contains(string(page), "/vipps/pay/"+token+"/kiosk") {
		t.Fatalf("the kiosk's own screen is not offered the next payment:\n%s", page)
	}

	resp, b = do(t, http.MethodPost, shopURL+"/vipps/kiosk", strings.NewReader(`{"amount": 4500, "description": "Coffee and a bun", "vat": 15, "capture": "payment"}`),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", "counter-1")
	var sale struct {
		Reference string `json:"reference"`
		KioskURL  string `json:"kiosk_url"`
	}
	if err := json.Unmarshal(b, &sale); err != nil || resp.StatusCode != http.StatusCreated || sale.KioskURL != shopURL+"/vipps/kiosk/"+sale.Reference {
		t.Fatalf("a sale at the counter: %d %s", resp.StatusCode, b)
	}
	resp, again := do(t, http.MethodPost, shopURL+"/vipps/kiosk", strings.NewReader(`{"amount": 4500, "description": "Coffee and a bun", "vat": 15, "capture": "payment"}`),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", "counter-1")
	if resp.Header.Get("Idempotent-Replayed") != "true" || string(again) != string(b) {
		t.Fatalf("a retried sale: %s", again)
	}
	simPost(t, "/_sim/payments/"+sale.Reference+"/approve", "")
	waitFor(t, "the sale captured on payment", func() bool { return storedOrder(t, sale.Reference).Status == "captured" })
	if resp, _ := do(t, http.MethodPost, shopURL+"/vipps/kiosk", strings.NewReader(`{"amount": 4500}`), "Content-Type", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a sale without the admin token: %d", resp.StatusCode)
	}
	// An order paid by redirect has no kiosk.
	other, _ := checkout(t, url.Values{"sku": {"mug"}})
	if resp, _ := do(t, http.MethodGet, shopURL+"/vipps/kiosk/"+other, nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the kiosk of a web order: %d", resp.StatusCode)
	}
}

// TestAdminPageMakesAndSharesALink: the admin page's form makes a link
// (twice pressed, one link) and shows its address and QR code; the
// link's orders are on the order page; Disable stops it.
func TestAdminPageMakesAndSharesALink(t *testing.T) {
	startShop(t, shopConfig{})
	auth := []string{"Authorization", "Bearer " + adminToken, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}
	resp, page := do(t, http.MethodGet, shopURL+"/vipps/admin/links", nil, auth...)
	nonce := regexp.MustCompile(`name="key" value="([0-9a-f]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || nonce == nil || !strings.Contains(string(page), `id="qty-socks"`) {
		t.Fatalf("the links page: %d\n%s", resp.StatusCode, page)
	}
	form := url.Values{"op": {"create"}, "key": {string(nonce[1])}, "kind": {"lines"}, "qty-socks": {"3"}, "qty-mug": {"0"}, "days": {"7"}, "use": {"single"}, "capture": {"ship"}, "then": {"link"}}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/links", strings.NewReader(form.Encode()), auth...)
	created := resp.Header.Get("Location")
	resp2, _ := do(t, http.MethodPost, shopURL+"/vipps/admin/links", strings.NewReader(form.Encode()), auth...)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(created, "/vipps/admin/links?created=link-") || resp2.Header.Get("Location") != created {
		t.Fatalf("make a link: %d to %q, again to %q", resp.StatusCode, created, resp2.Header.Get("Location"))
	}
	_, b := merchant(t, http.MethodGet, "/vipps/links", "")
	if strings.Count(string(b), `"id"`) != 1 {
		t.Fatalf("two presses made more than one link: %s", b)
	}
	_, page = do(t, http.MethodGet, shopURL+created, nil, auth...)
	share := regexp.MustCompile(`id="created-url" type="text" readonly value="(http://localhost:9080/vipps/pay/[a-z2-7]+)"`).FindSubmatch(page)
	qrImg := regexp.MustCompile(`<section class="created"[^>]*>\s*<img src="(/vipps/pay/[a-z2-7]+/qr.svg)"`).FindSubmatch(page)
	if share == nil || qrImg == nil {
		t.Fatalf("the page does not share the new link:\n%s", page)
	}
	_, svg := do(t, http.MethodGet, shopURL+string(qrImg[1]), nil)
	if got, err := qrtest.DecodeSVG(svg); err != nil || got != string(share[1]) {
		t.Fatalf("the shared QR code holds %q (%v), want %q", got, err, share[1])
	}
	id := strings.TrimPrefix(created, "/vipps/admin/links?created=")
	ref := paidThroughLink(t, strings.TrimPrefix(string(share[1]), shopURL))
	_, page = do(t, http.MethodGet, shopURL+"/vipps/admin?link="+id, nil, auth...)
	if !strings.Contains(string(page), `data-reference="`+ref+`"`) || !strings.Contains(string(page), `id="link-filter"`) {
		t.Fatalf("the link's orders on the admin page:\n%s", page)
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/links", strings.NewReader(url.Values{"op": {"disable"}, "id": {id}}.Encode()), auth...)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if got, _ := linkDetail(t, id); got.Status != "disabled" {
		t.Fatalf("after Disable: %+v", got)
	}
	bad := url.Values{"op": {"create"}, "kind": {"amount"}, "amount": {"12,345"}, "vat": {"25"}, "description": {"x"}, "days": {"7"}}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/links", strings.NewReader(bad.Encode()), auth...)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "problem=amount") {
		t.Fatalf("a bad amount: %d to %q", resp.StatusCode, loc)
	}
}
