package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMobilePayExpress: a Danish shop with delivery options. The
// demo site dresses its buttons as MobilePay (the server picks the brand
// from the currency); at the landing page the buyer sees what is shared
// with the shop, picks a delivery option and approves; the confirmation
// lists the delivery and the total with it, and the merchant sees where to
// send the parcel.
func TestBrowserMobilePayExpress(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t,
		"currency DKK",
		`shipping letter 3900 "Letter to the mailbox"`,
		`shipping parcel 5900 "Parcel to the door" default`,
		`shipping pickup 0 "Pick up in the shop"`,
	)
	p := b.firstTab("buyer")

	addToCart(p, s.base, []line{{socks, 1}})
	p.waitFor("the page speaks MobilePay", `document.documentElement.dataset.brand === "mobilepay"`, pageTimeout)
	openCart(p, 1)
	if label := p.text("read the pay button", "#pay"); label != "Pay with MobilePay" {
		p.fail("the pay button names the brand", "button says %q, want %q", label, "Pay with MobilePay")
	}
	// The colour changes with a short transition.
	p.waitFor("the pay button wears MobilePay's blue",
		`getComputedStyle(document.querySelector("#pay")).backgroundColor === "rgb(90, 120, 255)"`, pageTimeout)
	p.do("press Pay with MobilePay", chromedp.Click(chromedp.CSS("#pay")))
	text, ref := openLanding(p, socks.price)
	t.Logf("order %s", ref)
	for _, want := range []string{"Information you share", "Name", "Email address", "Phone number", "Address", "Letter to the mailbox", "Parcel to the door", "Pick up in the shop"} {
		if !strings.Contains(text, want) {
			p.fail("the landing page asks for consent and delivery", "%q is not on the page", want)
		}
	}
	p.do("choose the letter and approve",
		chromedp.Click(chromedp.CSS(`input[name="shipping_option"][value="letter"]`), chromedp.NodeVisible),
		chromedp.Click(approveButton, chromedp.NodeVisible),
	)
	p.waitFor("back at the shop, the confirmation page", onConfirmation, waitingTimeout)
	if got := p.text("read the delivery line", "#shipping"); !strings.Contains(got, "Letter to the mailbox") || !showsAmount(got, 3900) {
		p.fail("the confirmation lists the delivery", "#shipping is %q", got)
	}
	if got := p.text("read the total", "#total"); !showsAmount(got, 18800) || !strings.Contains(got, "DKK") {
		p.fail("the total includes the delivery", "#total is %q, want DKK 188.00", got)
	}

	o := s.order(ref)
	if o.Status != "authorized" || o.Amount != socks.price+3900 || o.Currency != "DKK" {
		t.Fatalf("order %s: %s %d %s, want authorized %d DKK", ref, o.Status, o.Amount, o.Currency, socks.price+3900)
	}

	// The merchant sees whom to send it to.
	m := b.newTab("merchant")
	row := `#orders tr[data-reference="` + ref + `"]`
	m.do("open the admin page", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("sign in with the admin token",
		chromedp.SetValue(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS(row)),
	)
	buyer := m.text("read the buyer", row+" td.buyer")
	for _, want := range []string{"Karen Blixen", "Strandvejen 111", "2960 Rungsted Kyst", "karen@example.com"} {
		if !strings.Contains(buyer, want) {
			m.fail("the admin page shows the delivery address", "buyer cell %q lacks %q", buyer, want)
		}
	}
}
