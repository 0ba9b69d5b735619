package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestEveryPageAtPhoneAndDesktopWidth opens every built-in page (waiting,
// confirmation, cancelled, error, a payment link, the kiosk's start and QR
// code, admin sign-in, admin, its payment links, the admin's confirmation
// step) and the demo pages (shop, cart) at 390 px and 1280 px,
// in Norwegian and English, and checks each as checkPage does: no
// horizontal overflow, no untranslated text, no serious accessibility
// violation. Every page's screenshot is saved under $E2E_ARTIFACTS.
func TestEveryPageAtPhoneAndDesktopWidth(t *testing.T) {
	axe := axeSource(t)
	c := loadCatalog(t)
	b := startBrowser(t)
	s := startShop(t, `shop_name "Fjellbutikken"`)

	// Orders in every state the pages show.
	waiting := s.checkoutForm(url.Values{"sku": {"mug"}, "qty": {"3"}})
	rejected := s.checkoutForm(url.Values{"sku": {"book"}})
	s.request(http.MethodPost, s.simURL+"/_sim/payments/"+url.PathEscape(rejected)+"/reject", nil, nil)
	s.request(http.MethodGet, s.base+"/vipps/return?reference="+url.QueryEscape(rejected), nil, nil)
	paid := s.approvedOrder(url.Values{"sku": {"socks", "mug", "book"}, "qty": {"2", "1", "1"}})
	shipped := s.approvedOrder(url.Values{"sku": {"book"}})
	s.merchantCall("/vipps/orders/"+shipped+"/ship", "")
	s.merchantCall("/vipps/orders/"+shipped+"/refund", `{"amount": 10050}`)
	cancelled := s.approvedOrder(url.Values{"sku": {"socks"}})
	s.merchantCall("/vipps/orders/"+cancelled+"/cancel", "")
	link := s.paymentLink(`{"lines":[{"sku":"socks","qty":2},{"sku":"book","qty":1}],"reusable":true}`)
	kiosk := s.request(http.MethodPost, link+"/kiosk", nil, nil).header.Get("X-Vipps-Reference")

	p := b.firstTab("pages")
	for _, lang := range []struct{ code, accept string }{{"nb", "nb-NO,nb;q=0.9,en;q=0.5"}, {"en", "en-GB,en;q=0.9"}} {
		for _, width := range []int64{390, 1280} {
			p.viewport(width, lang.accept)
			check := func(name string) { p.checkPage(name, lang.code, width, c, axe) }

			p.do("the demo shop", chromedp.Navigate(s.base+"/"))
			p.waitFor("the shop's script is ready", `document.documentElement.dataset.ready === "true"`, pageTimeout)
			p.do("put two things in the cart", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("`+cartKey+`", JSON.stringify({socks: 2, mug: 1}))`), chromedp.Reload())
			p.waitFor("the shop's script is ready", `document.documentElement.dataset.ready === "true"`, pageTimeout)
			check("shop")
			p.do("the demo cart", chromedp.Navigate(s.base+"/cart.html"), chromedp.WaitVisible(chromedp.CSS("#pay")))
			p.waitFor("the cart is drawn", `document.querySelectorAll("#cart .line").length === 2`, pageTimeout)
			check("cart")

			for _, page := range []struct{ name, path, ready string }{
				{"waiting", "/vipps/return?reference=" + waiting, "#waiting"},
				{"confirmation", "/vipps/confirmation?reference=" + paid, "#summary"},
				{"confirmation after ship and refund", "/vipps/confirmation?reference=" + shipped, "#summary"},
				{"confirmation after cancel", "/vipps/confirmation?reference=" + cancelled, "#summary"},
				{"cancelled", "/vipps/cancelled?reference=" + rejected, "#reason"},
				{"error", "/vipps/confirmation?reference=e2e-nosuchorder0000", "#error-title"},
				{"payment link", strings.TrimPrefix(link, s.base), "#pay"},
				{"kiosk start", strings.TrimPrefix(link, s.base) + "/kiosk", "#show-qr"},
				{"kiosk QR code", "/vipps/kiosk/" + kiosk, "#kiosk-qr"},
			} {
				p.do(page.name, chromedp.Navigate(s.base+page.path), chromedp.WaitVisible(chromedp.CSS(page.ready)))
				check(page.name)
			}

			p.clearCookies()
			p.do("admin sign-in", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
			check("admin sign-in")
			p.do("sign in",
				chromedp.SetValue(chromedp.CSS("#token"), adminToken),
				chromedp.Click(chromedp.CSS("#sign-in")),
				chromedp.WaitVisible(chromedp.CSS("#orders")),
			)
			check("admin")
			// The overview's chart fills its column and stays inside the
			// window; its table opens in place.
			chart := run(p, "measure the sales chart", chromedp.Evaluate[[]float64](`(r => [r.width, r.height, r.right])(document.querySelector("#overview #sales-chart").getBoundingClientRect())`))
			if len(chart) != 3 || chart[0] < 300 || chart[2] > float64(width) || chart[1] < chart[0]/2-1 {
				t.Fatalf("the sales chart at %d px: %v (width, height, right edge)", width, chart)
			}
			p.do("open the sales table", chromedp.Click(chromedp.CSS("#sales-details summary")), chromedp.WaitVisible(chromedp.CSS("#sales-table")))
			check("admin overview with its table")
			p.do("payment links", chromedp.Click(chromedp.CSS("#links-nav")), chromedp.WaitVisible(chromedp.CSS("#new-link")))
			check("admin payment links")
			p.do("back to the orders", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#orders")))
			row := `#orders tr[data-reference="` + paid + `"]`
			p.do("press Cancel", chromedp.Click(chromedp.CSS(row+" button.cancel")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
			check("admin confirmation")
		}
	}
	// The pages told the truth about the orders: nothing above moved money.
	if o := s.order(paid); o.Status != "authorized" {
		t.Fatalf("order %s is %s after the page checks, want authorized", paid, o.Status)
	}
}

// paymentLink makes a payment link through the merchant API and returns
// its address.
func (s *shop) paymentLink(body string) string {
	s.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}, "Accept": {"application/json"}}
	res := s.request(http.MethodPost, s.base+"/vipps/links", h, strings.NewReader(body))
	var l struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal([]byte(res.body), &l); err != nil || res.status != http.StatusCreated || !strings.HasPrefix(l.URL, s.base+"/vipps/pay/") {
		s.t.Fatalf("POST /vipps/links %s: %d %s", body, res.status, clip(res.body))
	}
	return l.URL
}

// checkoutForm posts a cart as the demo's form does and returns the
// order's reference.
func (s *shop) checkoutForm(form url.Values) string {
	s.t.Helper()
	res := s.request(http.MethodPost, s.base+"/vipps/checkout", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader(form.Encode()))
	ref := res.header.Get("X-Vipps-Reference")
	if res.status != http.StatusSeeOther || ref == "" {
		s.t.Fatalf("checkout %v: %d %s", form, res.status, clip(res.body))
	}
	return ref
}

// approvedOrder checks out, approves at the simulator and returns once
// the shop has the order authorized.
func (s *shop) approvedOrder(form url.Values) string {
	s.t.Helper()
	ref := s.checkoutForm(form)
	s.simApprove(ref)
	res := s.request(http.MethodGet, s.base+"/vipps/return?reference="+url.QueryEscape(ref), nil, nil)
	if res.status != http.StatusSeeOther || s.order(ref).Status != "authorized" {
		s.t.Fatalf("order %s: return %d, status %s", ref, res.status, s.order(ref).Status)
	}
	return ref
}

// merchantCall posts to a merchant endpoint with the admin token.
func (s *shop) merchantCall(path, body string) {
	s.t.Helper()
	h := http.Header{"Authorization": {"Bearer " + adminToken}, "Accept": {"application/json"}}
	if body != "" {
		h.Set("Content-Type", "application/json")
	}
	res := s.request(http.MethodPost, s.base+path, h, strings.NewReader(body))
	if res.status != http.StatusOK {
		s.t.Fatalf("POST %s %s: %d %s", path, body, res.status, clip(res.body))
	}
}
