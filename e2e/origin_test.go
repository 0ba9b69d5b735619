package e2e

import (
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-vipps/caddy-vipps/internal/readme"
)

// publicHost is a name chromium is told to resolve to 127.0.0.1. Unlike
// localhost and 127.0.0.1 it is no secure context over http, so chromium
// sends it no Sec-Fetch-* headers, as for a shop on plain http in a
// shop's own network: the admin page's forms must then show their Origin,
// and the shop must know it as its own.
const publicHost = "shop.test"

// resolvePublicHost makes chromium resolve publicHost to 127.0.0.1.
func resolvePublicHost() chromedp.ExecAllocatorOption {
	return chromedp.Flag("host-resolver-rules", "MAP "+publicHost+" 127.0.0.1")
}

// freePort is a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	_, port, err := net.SplitHostPort(freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// staffPassword is the password of the user staff in the README's
// basic_auth recipe, as the tests fill it in.
const staffPassword = "staff-password"

// staffRecipe is the README's basic_auth recipe for the merchant paths,
// with the user staff.
func staffRecipe(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(staffPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	recipe, err := readme.StaffRecipe("../README.md", string(hash))
	if err != nil {
		t.Fatal(err)
	}
	return recipe
}

// autoPost is a page of another site that posts a form to target as soon
// as it is open, as a page that tries to act with the visitor's
// credentials does.
func autoPost(target, enctype string, fields url.Values) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><title>Win a prize</title><form method=\"post\" action=\"%s\" enctype=\"%s\">", html.EscapeString(target), enctype)
	for name, values := range fields {
		for _, v := range values {
			fmt.Fprintf(&b, "<input type=\"hidden\" name=\"%s\" value=\"%s\">", html.EscapeString(name), html.EscapeString(v))
		}
	}
	b.WriteString("</form><script>setTimeout(() => document.forms[0].submit(), 100)</script>")
	return b.String()
}

// TestBrowserAnotherSiteCannotActAsTheStaff: the staff sign in with the
// README's basic_auth recipe, and chromium keeps their credentials. A page
// on another site then posts, in that browser, the admin page's confirmed
// refund, an empty text/plain refund to the API (an empty body would mean
// everything), an empty form to ship, and a new payment link: the shop
// refuses each, and no money moves at Vipps. From the shop's own admin
// page the same refund, and an API call it makes, work.
func TestBrowserAnotherSiteCannotActAsTheStaff(t *testing.T) {
	b := startBrowser(t)
	pages := t.TempDir()
	other := freeAddr(t)
	s := startConfig(t, site{addr: shopURL, publicURL: shopURL, directives: staffRecipe(t), settings: []string{"admin_users staff"},
		sites: fmt.Sprintf("\nhttp://%s {\n\troot * %s\n\tfile_server\n}\n", other, filepath.ToSlash(pages))})

	shipped := s.approvedOrder(url.Values{"sku": {"socks", "mug"}, "qty": {"2", "1"}}) // 49700
	s.merchantCall("/vipps/orders/"+shipped+"/ship", "")
	reserved := s.approvedOrder(url.Values{"sku": {"book"}}) // 34900
	for name, page := range map[string]string{
		"refund-admin.html": autoPost(s.base+"/vipps/admin/action", "application/x-www-form-urlencoded",
			url.Values{"reference": {shipped}, "op": {"refund"}, "key": {"prize"}, "expect": {"49700"}, "confirm": {"yes"}}),
		"refund-api.html": autoPost(s.base+"/vipps/orders/"+shipped+"/refund", "text/plain", nil),
		"ship-api.html":   autoPost(s.base+"/vipps/orders/"+reserved+"/ship", "application/x-www-form-urlencoded", nil),
		"link.html": autoPost(s.base+"/vipps/admin/links", "application/x-www-form-urlencoded",
			url.Values{"op": {"create"}, "kind": {"amount"}, "amount": {"5000"}, "vat": {"25"}, "description": {"Prize"}, "days": {"365"}}),
	} {
		if err := os.WriteFile(filepath.Join(pages, name), []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	untouched := func(step string) {
		t.Helper()
		if a := s.simAggregate(shipped); a.captured != 49700 || a.refunded != 0 {
			t.Fatalf("%s: Vipps shows %d captured and %d refunded of %s, want 49700 and 0", step, a.captured, a.refunded, shipped)
		}
		if a := s.simAggregate(reserved); a.captured != 0 {
			t.Fatalf("%s: Vipps shows %d captured of %s, want 0", step, a.captured, reserved)
		}
		res := s.request(http.MethodGet, s.base+"/vipps/links", http.Header{"Authorization": {"Bearer " + adminToken}, "Accept": {"application/json"}}, nil)
		if res.status != http.StatusOK || strings.Contains(res.body, `"id"`) {
			t.Fatalf("%s: the shop's links: %d %s", step, res.status, clip(res.body))
		}
	}

	m := b.firstTab("staff")
	row := `#orders tr[data-reference="` + shipped + `"]`
	u, _ := url.Parse(s.base + "/vipps/admin")
	u.User = url.UserPassword("staff", staffPassword)
	m.do("sign in with basic_auth", chromedp.Navigate(u.String()), chromedp.WaitVisible(chromedp.CSS(row)))
	m.do("chromium keeps the credentials", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS(row)))

	for _, name := range []string{"refund-admin.html", "refund-api.html", "ship-api.html", "link.html"} {
		m.do("open another site's page "+name, chromedp.Navigate("http://"+other+"/"+name))
		m.waitFor("its form reached the shop", `location.origin === "`+s.base+`"`, pageTimeout)
		m.waitFor("the shop says it did not come from its own page", `document.body.innerText.includes("did not come from the shop")`, pageTimeout)
		untouched("after " + name)
	}

	// From the admin page itself: a refund of 100,00 kr, asked and
	// confirmed, and a refund through the API from a script of the page.
	m.do("open the admin page", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS(row)))
	m.do("refund 100,00 kr",
		chromedp.SetValue(chromedp.CSS(row+` input[name="amount"]`), "100,00"),
		chromedp.Click(chromedp.CSS(row+" button.refund")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")),
	)
	m.do("confirm the refund", chromedp.Click(chromedp.CSS("#confirm")))
	m.waitFor("the admin page shows the order partly refunded",
		`(() => { const s = document.querySelector('`+row+` [data-status]'); return !!s && s.dataset.status === "partially_refunded"; })()`, pageTimeout)
	status := run(m, "refund 1,00 kr through the API from the admin page", chromedp.Evaluate[int](`fetch("/vipps/orders/`+shipped+`/refund", {method: "POST",
		headers: {"Content-Type": "application/json", "Accept": "application/json"}, body: JSON.stringify({amount: 100})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if status != http.StatusOK {
		m.fail("the API refund from the shop's own page", "status %d", status)
	}
	if a := s.simAggregate(shipped); a.refunded != 10100 {
		t.Fatalf("after the refunds from the admin page: Vipps shows %d refunded, want 10100", a.refunded)
	}
}

// TestBrowserAdminBehindAProxyThatRewritesHost: the shop behind Caddy's
// reverse_proxy with header_up Host (nginx's default: the upstream's
// address), public_url the proxy's address. The merchant signs in, ships
// and signs out from the admin page, in a browser that sends no fetch
// metadata there: the forms' Origin is the public one, not the Host the
// shop sees.
func TestBrowserAdminBehindAProxyThatRewritesHost(t *testing.T) {
	b := startBrowser(t, resolvePublicHost())
	public := "http://" + publicHost + ":" + freePort(t)
	s := startConfig(t, site{addr: shopURL, publicURL: public,
		sites: fmt.Sprintf("\n%s {\n\treverse_proxy localhost:%d {\n\t\theader_up Host localhost:%d\n\t}\n}\n", public, httpPort, httpPort)})
	ref := s.approvedOrder(url.Values{"sku": {"mug"}})

	m := b.firstTab("merchant")
	row := `#orders tr[data-reference="` + ref + `"]`
	m.do("open the admin page through the proxy", chromedp.Navigate(public+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("sign in with the admin token",
		chromedp.SetValue(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	m.do("press Ship", chromedp.Click(chromedp.CSS(row+" button.ship")))
	m.waitFor("the admin page shows the order captured",
		`(() => { const s = document.querySelector('`+row+` [data-status]'); return !!s && s.dataset.status === "captured"; })()`, pageTimeout)
	if loc := m.location(); !strings.HasPrefix(loc, public+"/vipps/admin?") {
		m.fail("the admin page stays behind the proxy", "at %s", loc)
	}
	if a := s.simAggregate(ref); a.captured != mug.price {
		t.Fatalf("Vipps shows %d captured, want %d", a.captured, mug.price)
	}
	m.do("sign out", chromedp.Click(chromedp.CSS("#sign-out")), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("signed out, the admin page asks for the token again", chromedp.Navigate(public+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
}

// TestBrowserShopUnderAPathPrefix: the demo shop under /shop of another
// site (public_url http://shop.test:PORT/shop), behind Caddy's handle_path
// /shop/* and reverse_proxy, which strips the prefix and rewrites Host. A
// buyer fills the cart, pays, approves and lands on the confirmation
// under /shop, while a second tab on the return address waits and moves
// on by itself; the way back leads to the shop. The merchant signs in,
// ships, and makes a payment link whose address and QR code are under
// /shop.
func TestBrowserShopUnderAPathPrefix(t *testing.T) {
	b := startBrowser(t, resolvePublicHost())
	origin := "http://" + publicHost + ":" + freePort(t)
	public := origin + "/shop"
	s := startConfig(t, site{addr: shopURL, publicURL: public,
		sites: fmt.Sprintf("\n%s {\n\thandle_path /shop/* {\n\t\treverse_proxy localhost:%d {\n\t\t\theader_up Host localhost:%d\n\t\t}\n\t}\n\trespond \"another application\" 404\n}\n",
			origin, httpPort, httpPort)})
	p := b.firstTab("buyer")
	lines := []line{{socks, 1}, {book, 1}}

	addToCart(p, public, lines)
	openCart(p, 2)
	p.do("press Pay with Vipps", chromedp.Click(chromedp.CSS("#pay")))
	_, ref := openLanding(p, total(lines))
	t.Logf("order %s", ref)

	q := b.newTab("return in a new tab")
	q.do("open the return address in a new tab", chromedp.Navigate(public+"/vipps/return?reference="+ref))
	q.waitFor("the new tab waits", onWaitingPage, pageTimeout)

	p.do("approve in the simulator", chromedp.Click(approveButton, chromedp.NodeVisible))
	p.waitFor("back at the shop, the confirmation page", onConfirmation, waitingTimeout)
	if loc := p.location(); !strings.HasPrefix(loc, public+"/vipps/confirmation?") {
		p.fail("the confirmation is under /shop", "at %s", loc)
	}
	checkConfirmation(p, lines)
	q.waitFor("the waiting tab moves on to the confirmation by itself", onConfirmation, waitingTimeout)
	if loc := q.location(); !strings.HasPrefix(loc, public+"/vipps/confirmation?") {
		q.fail("the waiting page moved on under /shop", "at %s", loc)
	}
	p.do("the way back leads to the shop", chromedp.Click(chromedp.CSS("a#back"), chromedp.NodeVisible), chromedp.WaitVisible(chromedp.CSS("#product-socks")))
	if loc := p.location(); loc != public+"/" {
		p.fail("back at the shop under /shop", "at %s", loc)
	}

	m := b.newTab("merchant")
	row := `#orders tr[data-reference="` + ref + `"]`
	m.do("open the admin page under /shop", chromedp.Navigate(public+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("sign in with the admin token",
		chromedp.SetValue(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	m.do("press Ship", chromedp.Click(chromedp.CSS(row+" button.ship")))
	m.waitFor("the admin page shows the order captured",
		`(() => { const s = document.querySelector('`+row+` [data-status]'); return !!s && s.dataset.status === "captured"; })()`, pageTimeout)
	if a := s.simAggregate(ref); a.captured != total(lines) {
		t.Fatalf("Vipps shows %d captured, want %d", a.captured, total(lines))
	}
	m.do("go to the payment links", chromedp.Click(chromedp.CSS("#links-nav")), chromedp.WaitVisible(chromedp.CSS("#new-link")))
	m.do("make a link of 150 kroner",
		chromedp.Click(chromedp.CSS("#kind-amount")),
		chromedp.SetValue(chromedp.CSS("#amount"), "150"),
		chromedp.SetValue(chromedp.CSS("#description"), "Deposit"),
		chromedp.Click(chromedp.CSS("#create-link")),
		chromedp.WaitVisible(chromedp.CSS("#created")),
	)
	address := run(m, "read the link's address", chromedp.Evaluate[string](`document.querySelector("#created-url").value`))
	if !strings.HasPrefix(address, public+"/vipps/pay/") {
		m.fail("the link's address is under /shop", "it is %q", address)
	}
	m.waitFor("the link's QR code shows", `(() => { const i = document.querySelector("#created img"); return !!i && i.complete && i.naturalWidth > 0; })()`, pageTimeout)
	m.do("open the link", chromedp.Navigate(address), chromedp.WaitVisible(chromedp.CSS("#pay-form")))
}
