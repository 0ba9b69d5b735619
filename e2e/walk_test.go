package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The simulator's landing page stands in for the Vipps app: it shows the
// amount and an Approve and a Reject button. They are found by their
// visible text (XPath through DOM.performSearch).
const (
	approveButton = `//*[self::button or self::a][contains(normalize-space(.), "Approve")] | //input[@type="submit" and contains(@value, "Approve")]`
	rejectButton  = `//*[self::button or self::a][contains(normalize-space(.), "Reject")] | //input[@type="submit" and contains(@value, "Reject")]`
)

// Conditions for the shop's built-in pages after the return from Vipps.
const (
	onConfirmation = `(() => { const s = document.querySelector("#status");
		return !!s && !!document.querySelector("#items") && !!document.querySelector("#total")
			&& !document.querySelector("#waiting") && !document.querySelector("a#retry"); })()`
	onCancelPage   = `!!document.querySelector("a#retry")`
	onWaitingPage  = `!!document.querySelector("#waiting")`
	onLandingPage  = `!!document.evaluate(` + "`" + approveButton + "`" + `, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue`
	pageTimeout    = 30 * time.Second
	waitingTimeout = 45 * time.Second
)

// product is one of the demo shop's products as its pages show it: its
// English name, and its names in the other languages of the pages.
type product struct {
	sku, name string
	price     int64 // minor units, VAT included
	names     map[string]string
}

var (
	socks = product{"socks", "Wool socks", 14900, map[string]string{"nb": "Ullsokker", "da": "Uldsokker", "sv": "Ullstrumpor", "fi": "Villasukat"}}
	mug   = product{"mug", "Coffee mug", 19900, map[string]string{"nb": "Kaffekopp", "da": "Kaffekop", "sv": "Kaffemugg", "fi": "Kahvimuki"}}
	book  = product{"book", "Cookbook", 34900, map[string]string{"nb": "Kokebok", "da": "Kogebog", "sv": "Kokbok", "fi": "Keittokirja"}}
)

// nameIn is the product's name on pages in lang.
func (p product) nameIn(lang string) string {
	if n, ok := p.names[lang]; ok {
		return n
	}
	return p.name
}

type line struct {
	product
	qty int
}

// cart is what the walks put in the demo cart.
var cart = []line{{socks, 2}, {mug, 1}}

// cartKey is where the demo site keeps its cart in localStorage.
const cartKey = "demo-shop-cart"

// addToCart puts lines in the demo cart from the shop's page, as a buyer
// does: the quantity, then the product's button.
func addToCart(p *tab, base string, lines []line) {
	p.b.t.Helper()
	p.do("open the shop", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#product-socks")))
	p.waitFor("the shop's script is ready", `document.documentElement.dataset.ready === "true"`, pageTimeout)
	for _, l := range lines {
		before := run(p, "read the cart", chromedp.Evaluate[int](`JSON.parse(localStorage.getItem("`+cartKey+`") || "{}")["`+l.sku+`"] || 0`))
		p.do(fmt.Sprintf("add %d × %s", l.qty, l.name),
			chromedp.SetValue(chromedp.CSS("#qty-"+l.sku), strconv.Itoa(l.qty)),
			chromedp.Click(chromedp.CSS("#product-"+l.sku+" button[type=submit]")),
		)
		p.waitFor(l.name+" is in the cart", fmt.Sprintf(`(JSON.parse(localStorage.getItem(%q) || "{}")[%q] || 0) === %d`, cartKey, l.sku, before+l.qty), pageTimeout)
	}
}

// openCart goes to the cart page and waits for its lines.
func openCart(p *tab, lines int) {
	p.b.t.Helper()
	p.do("open the cart", chromedp.Click(chromedp.CSS("#cart-link")), chromedp.WaitVisible(chromedp.CSS("#pay")))
	p.waitFor(fmt.Sprintf("the cart shows %d lines", lines), fmt.Sprintf(`document.querySelectorAll("#cart .line").length === %d`, lines), pageTimeout)
}

func total(lines []line) int64 {
	var t int64
	for _, l := range lines {
		t += l.price * int64(l.qty)
	}
	return t
}

// referencePattern matches this test's order references (reference_prefix
// e2e), as a fallback when no X-Vipps-Reference header was seen.
var referencePattern = regexp.MustCompile(`\be2e-[A-Za-z0-9]{8,}\b`)

// checkoutReference returns the reference of the checkout the tab just made:
// from the X-Vipps-Reference header of the checkout's answer, or else from
// the landing page's address or text.
func checkoutReference(p *tab, landingText string) string {
	p.b.t.Helper()
	if ref := p.lastRef(); ref != "" {
		return ref
	}
	if ref := referencePattern.FindString(p.location() + " " + landingText); ref != "" {
		return ref
	}
	p.fail("find the order reference", "no X-Vipps-Reference header on the checkout answer and no reference on the landing page")
	return ""
}

// checkForms asserts that every buy form on the page posts to the checkout
// and sends exactly the wanted fields: never a price or an amount.
func checkForms(p *tab, step string, want [][]string) {
	p.b.t.Helper()
	got := run(p, step, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("form"))
		.filter(f => new URL(f.action).pathname.endsWith("/vipps/checkout") && f.method === "post")
		.map(f => Array.from(new FormData(f).keys()))`))
	if fmt.Sprint(got) != fmt.Sprint(want) {
		p.fail(step, "checkout forms send fields %v, want %v", got, want)
	}
}

// openLanding waits for the simulator's landing page, checks the amount it
// shows and returns the page text and the order reference.
func openLanding(p *tab, amount int64) (string, string) {
	p.b.t.Helper()
	p.waitFor("the Vipps landing page opens", onLandingPage, pageTimeout)
	text := run(p, "read the landing page", chromedp.Evaluate[string](`document.body.innerText`))
	if !showsAmount(text, amount) {
		p.fail("the landing page shows the amount", "want %s (%d øre) on the page; amounts shown: %v", kr(amount), amount, amountsIn(text))
	}
	return text, checkoutReference(p, text)
}

// checkConfirmation checks the built-in confirmation page: status, every
// item and the total.
func checkConfirmation(p *tab, lines []line) {
	p.b.t.Helper()
	if st := attr(p, "#status", "data-status"); st != "authorized" {
		p.fail("the confirmation shows the status", "#status is %q, want authorized", st)
	}
	items := p.text("read the items", "#items")
	for _, l := range lines {
		if !strings.Contains(items, l.name) {
			p.fail("the confirmation lists the items", "%q is missing from #items: %q", l.name, items)
		}
		if !showsAmount(items, l.price*int64(l.qty)) {
			p.fail("the confirmation lists the items", "the line amount %s of %q is missing from #items: %q", kr(l.price*int64(l.qty)), l.name, items)
		}
	}
	if t := p.text("read the total", "#total"); !showsAmount(t, total(lines)) {
		p.fail("the confirmation shows the total", "#total is %q, want %s", t, kr(total(lines)))
	}
}

// checkOrder checks the buyer's JSON view of an order.
func checkOrder(t *testing.T, s *shop, ref, status string, lines []line) {
	t.Helper()
	o := s.order(ref)
	if o.Status != status {
		t.Fatalf("order %s: status %q, want %q", ref, o.Status, status)
	}
	if o.Amount != total(lines) || o.Currency != "NOK" {
		t.Fatalf("order %s: amount %d %s, want %d NOK", ref, o.Amount, o.Currency, total(lines))
	}
	var got, want []string
	for _, it := range o.Items {
		got = append(got, fmt.Sprintf("%s×%d", it.SKU, it.Qty))
	}
	for _, l := range lines {
		want = append(want, fmt.Sprintf("%s×%d", l.sku, l.qty))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("order %s: items %v, want %v", ref, got, want)
	}
}

// TestBrowserCartApproveShip: the buyer opens the shop, goes to the cart
// with two items, pays with Vipps, sees the right amount in the simulator,
// approves, and sees the confirmation; then the merchant ships and the
// order is captured.
func TestBrowserCartApproveShip(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t)
	p := b.firstTab("buyer")

	addToCart(p, s.base, []line{{socks, 1}, {mug, 1}, {book, 1}})
	checkForms(p, "the buy buttons send only sku, qty and the page's language", [][]string{{"sku", "qty", "lang"}, {"sku", "qty", "lang"}, {"sku", "qty", "lang"}})
	if got := p.text("read the header", "#cart-link"); got != "Cart (3 items)" {
		p.fail("the header counts the cart", "it says %q, want %q", got, "Cart (3 items)")
	}
	openCart(p, 3)
	p.do("one more pair of socks, and no cookbook",
		chromedp.Click(chromedp.CSS(`#cart .line[data-sku="socks"] .step:last-of-type`)),
		chromedp.WaitVisible(chromedp.CSS(`#cart .line[data-sku="socks"] input[name="qty"][value="2"]`)),
		chromedp.Click(chromedp.CSS(`#cart .line[data-sku="book"] .remove`)),
	)
	p.waitFor("the cart has two lines", `document.querySelectorAll("#cart .line").length === 2`, pageTimeout)
	p.do("the cart is kept across a reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#pay")))
	p.waitFor("the cart still has two lines", `document.querySelectorAll("#cart .line").length === 2`, pageTimeout)
	if got := p.text("read the header", "[data-cart-count]"); got != "Cart (3 items)" {
		p.fail("the header counts units", "it says %q, want %q", got, "Cart (3 items)")
	}
	if got := p.text("read the cart total", "#cart-total"); !showsAmount(got, total(cart)) {
		p.fail("the cart shows the total", "#cart-total is %q, want %s", got, kr(total(cart)))
	}
	checkForms(p, "the cart sends only sku, qty, phone and the page's language", [][]string{{"sku", "qty", "sku", "qty", "phone", "lang"}})
	p.do("type a Norwegian mobile number the Norwegian way", chromedp.SendKeys(chromedp.CSS("#phone"), "912 34 567"))

	p.do("press Pay with Vipps", chromedp.Click(chromedp.CSS("#pay")))
	_, ref := openLanding(p, total(cart))
	t.Logf("order %s", ref)

	p.do("approve in the simulator", chromedp.Click(approveButton, chromedp.NodeVisible))
	p.waitFor("back at the shop, the confirmation page", onConfirmation, waitingTimeout)
	if loc := p.location(); !strings.HasPrefix(loc, s.base+"/") {
		p.fail("the confirmation is the shop's page", "at %s, want a page of %s", loc, s.base)
	}
	checkConfirmation(p, cart)
	checkOrder(t, s, ref, "authorized", cart)

	// The merchant ships. Without the admin token nothing happens.
	if res := s.ship(ref, ""); res.status != http.StatusUnauthorized && res.status != http.StatusForbidden {
		t.Fatalf("ship without the admin token: status %d, want 401 or 403; body: %s", res.status, clip(res.body))
	}
	if res := s.ship(ref, "not-"+adminToken); res.status != http.StatusUnauthorized && res.status != http.StatusForbidden {
		t.Fatalf("ship with a wrong admin token: status %d, want 401 or 403; body: %s", res.status, clip(res.body))
	}
	checkOrder(t, s, ref, "authorized", cart)

	// The merchant opens the admin page in the browser, signs in with the
	// token and presses Ship on the order's row.
	m := b.newTab("merchant")
	row := `#orders tr[data-reference="` + ref + `"]`
	m.do("open the admin page", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("sign in with the admin token",
		chromedp.SetValue(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	if st := attr(m, row+" [data-status]", "data-status"); st != "authorized" {
		m.fail("the admin page shows the order", "status %q, want authorized", st)
	}
	m.do("press Ship", chromedp.Click(chromedp.CSS(row+" button.ship")))
	m.waitFor("the admin page shows the order captured",
		`(() => { const s = document.querySelector('`+row+` [data-status]'); return !!s && s.dataset.status === "captured"; })()`, pageTimeout)
	checkOrder(t, s, ref, "captured", cart)
}

// TestBrowserReject: the buyer presses Reject in the simulator and lands on
// the cancel page, whose link leads back to the shop.
func TestBrowserReject(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t)
	p := b.firstTab("buyer")

	addToCart(p, s.base, []line{{book, 1}})
	openCart(p, 1)
	p.do("press Pay with Vipps", chromedp.Click(chromedp.CSS("#pay")))
	_, ref := openLanding(p, book.price)
	t.Logf("order %s", ref)

	p.do("reject in the simulator", chromedp.Click(rejectButton, chromedp.NodeVisible))
	p.waitFor("back at the shop, the cancel page", onCancelPage, waitingTimeout)
	if loc := p.location(); !strings.HasPrefix(loc, s.base+"/") {
		p.fail("the cancel page is the shop's page", "at %s, want a page of %s", loc, s.base)
	}
	checkOrder(t, s, ref, "aborted", []line{{book, 1}})

	p.do("try again leads back to the shop",
		chromedp.Click(chromedp.CSS("a#retry"), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS("#product-socks")),
	)

	// A cancelled order cannot be shipped.
	if res := s.ship(ref, adminToken); res.status != http.StatusConflict {
		t.Fatalf("ship a cancelled order: status %d, want 409; body: %s", res.status, clip(res.body))
	}
}

// TestBrowserReturnInNewTab: the return address opens in a new tab while
// the payment is still pending. That tab shows the waiting page, and moves
// on to the confirmation by itself once the payment is approved.
func TestBrowserReturnInNewTab(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t)
	p := b.firstTab("buyer")
	lines := []line{{mug, 3}}

	addToCart(p, s.base, lines)
	openCart(p, 1)
	p.do("press Pay with Vipps", chromedp.Click(chromedp.CSS("#pay")))
	_, ref := openLanding(p, total(lines))
	t.Logf("order %s", ref)

	q := b.newTab("new tab")
	q.do("open the return in a new tab", chromedp.Navigate(s.base+"/vipps/return?reference="+ref))
	q.waitFor("the new tab shows the waiting page", onWaitingPage, pageTimeout)

	s.simApprove(ref)
	q.waitFor("the waiting page moves on to the confirmation by itself", onConfirmation, waitingTimeout)
	checkConfirmation(q, lines)
	checkOrder(t, s, ref, "authorized", lines)
}

// TestBrowserOwnSiteWithoutPublicURL: a shop on a site written ":9081",
// without public_url, as a merchant trying the plugin on their own site
// writes it. The simulator derives http://localhost:9081 from the site, so
// after Approve the buyer comes back to the shop, not to port 80.
func TestBrowserOwnSiteWithoutPublicURL(t *testing.T) {
	b := startBrowser(t)
	s := startSite(t, fmt.Sprintf(":%d", httpPort), "")
	p := b.firstTab("buyer")
	addToCart(p, s.base, []line{{mug, 1}})
	openCart(p, 1)
	p.do("press Pay with Vipps", chromedp.Click(chromedp.CSS("#pay")))
	_, ref := openLanding(p, mug.price)
	p.do("approve in the simulator", chromedp.Click(approveButton, chromedp.NodeVisible))
	p.waitFor("back at the shop, the confirmation page", onConfirmation, waitingTimeout)
	if loc := p.location(); !strings.HasPrefix(loc, "http://localhost:9081/vipps/") {
		p.fail("the buyer came back to the shop's own address", "at %s", loc)
	}
	checkConfirmation(p, []line{{mug, 1}})
	checkOrder(t, s, ref, "authorized", []line{{mug, 1}})
}

// attr reads an attribute of the first element matching the CSS selector.
func attr(p *tab, css, name string) string {
	p.b.t.Helper()
	return run(p, "read "+name+" of "+css, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {getAttribute: () => ""}).getAttribute(%q) || ""`, css, name)))
}
