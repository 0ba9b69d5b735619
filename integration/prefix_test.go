package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
)

// TestShopUnderAPathPrefix: public_url http://127.0.0.1:9080/shop, and a
// proxy in front (Caddy's handle_path and reverse_proxy) that strips /shop
// and rewrites Host. Every address the shop writes for a browser or a
// merchant carries /shop: the return page's redirect, the status the
// waiting page polls and where it goes next, the way back to the shop,
// the admin cookie's path and the admin page's forms, a link's address,
// QR code and API Location, a sale's kiosk; and the admin page's forms,
// whose Origin is the public one while Host is rewritten, act.
func TestShopUnderAPathPrefix(t *testing.T) {
	loadShops(t, globalHead+`}

http://localhost:9080 {
	vipps {
		simulator_listen 127.0.0.1:9191
		public_url http://127.0.0.1:9080/shop
		product socks 14900 "Wool socks" vat 25
		admin_token `+adminToken+`
		data_dir `+t.TempDir()+`
		poll_interval 1h
	}
	respond "the back end's own page" 200
}

http://127.0.0.1:9080 {
	handle_path /shop/* {
		reverse_proxy localhost:9080 {
			header_up Host localhost
		}
	}
	respond "another application" 404
}
`)
	const public = "http://127.0.0.1:9080"
	const front = public + "/shop"

	ref := checkoutAt(t, front, "socks")
	resp, body := do(t, http.MethodGet, front+"/vipps/return?reference="+ref, nil, "Accept", "text/html")
	if page := string(body); resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="waiting"`) ||
		!strings.Contains(page, `"/shop/vipps/orders/`+ref+`"`) || !strings.Contains(page, `"/shop/vipps/return?reference=`+ref+`"`) {
		t.Fatalf("the waiting page does not poll under /shop: %d\n%s", resp.StatusCode, page)
	}
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	resp, _ = do(t, http.MethodGet, front+"/vipps/return?reference="+ref, nil, "Accept", "text/html")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/shop/vipps/confirmation?reference="+ref {
		t.Fatalf("the return page after paying: %d to %q, want the confirmation under /shop", resp.StatusCode, loc)
	}
	resp, body = do(t, http.MethodGet, public+resp.Header.Get("Location"), nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `href="/shop/" id="back"`) {
		t.Fatalf("the confirmation through the proxy: %d\n%s", resp.StatusCode, body)
	}

	// The admin page: signed in under /shop, its forms post under /shop,
	// and they act although the proxy rewrote Host.
	resp, _ = do(t, http.MethodPost, front+"/vipps/admin/login", strings.NewReader(url.Values{"token": {adminToken}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || cookies[0].Path != "/shop/vipps" || resp.Header.Get("Location") != "/shop/vipps/admin" {
		t.Fatalf("sign in: %d to %q, cookies %+v", resp.StatusCode, resp.Header.Get("Location"), cookies)
	}
	cookie := cookies[0].Name + "=" + cookies[0].Value
	_, body = do(t, http.MethodGet, front+"/vipps/admin", nil, "Cookie", cookie, "Accept", "text/html")
	for _, want := range []string{`action="/shop/vipps/admin/action"`, `action="/shop/vipps/admin/logout"`, `href="/shop/vipps/admin/links"`, `data-reference="` + ref + `"`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("the admin page has no %s:\n%s", want, body)
		}
	}
	resp, _ = do(t, http.MethodPost, front+"/vipps/admin/action", strings.NewReader(url.Values{"reference": {ref}, "op": {"ship"}}.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie, "Origin", public)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/shop/vipps/admin?") || !strings.Contains(loc, "done=capture") {
		t.Fatalf("ship from the admin page behind the proxy: %d to %q", resp.StatusCode, loc)
	}

	// A payment link and a sale at the counter, made through the API.
	resp, body = do(t, http.MethodPost, front+"/vipps/links", strings.NewReader(`{"lines":[{"sku":"socks","qty":1}]}`),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
	var link struct {
		ID       string `json:"id"`
		URL      string `json:"url"`
		QRSVG    string `json:"qr_svg"`
		KioskURL string `json:"kiosk_url"`
	}
	_ = json.Unmarshal(body, &link)
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(link.URL, front+"/vipps/pay/") || link.QRSVG != link.URL+"/qr.svg" ||
		link.KioskURL != link.URL+"/kiosk" || resp.Header.Get("Location") != "/shop/vipps/links/"+link.ID {
		t.Fatalf("a link under /shop: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, svg := do(t, http.MethodGet, link.QRSVG, nil)
	if got, err := qrtest.DecodeSVG(svg); err != nil || got != link.URL {
		t.Fatalf("the link's QR code holds %q (%v), want %q", got, err, link.URL)
	}
	_, body = do(t, http.MethodGet, link.URL, nil, "Accept", "text/html")
	if path := strings.TrimPrefix(link.URL, public); !strings.Contains(string(body), `action="`+path+`"`) {
		t.Fatalf("the link's page does not pay at %s:\n%s", path, body)
	}
	resp, body = do(t, http.MethodPost, front+"/vipps/kiosk", strings.NewReader(`{"lines":[{"sku":"socks","qty":1}]}`),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
	var sale struct {
		Reference string `json:"reference"`
		KioskURL  string `json:"kiosk_url"`
	}
	_ = json.Unmarshal(body, &sale)
	if resp.StatusCode != http.StatusCreated || sale.KioskURL != front+"/vipps/kiosk/"+sale.Reference || resp.Header.Get("Location") != "/shop/vipps/kiosk/"+sale.Reference {
		t.Fatalf("a sale at the counter under /shop: %d, Location %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, body = do(t, http.MethodGet, sale.KioskURL, nil, "Accept", "text/html")
	if !strings.Contains(string(body), `"/shop/vipps/orders/`+sale.Reference+`"`) {
		t.Fatalf("the kiosk does not poll under /shop:\n%s", body)
	}
}
