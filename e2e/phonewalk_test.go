package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestPhoneWalkInEveryLanguage: at phone width, in each of the five
// languages with its own market, a buyer fills the demo cart, types a
// mobile number the local way, pays and lands on the confirmation in their
// language; the merchant ships, refunds part of it (typed in kroner or
// euro, confirmed), and cancels another order, first pressing Cancel and
// going back, which moves no money at the simulator, then confirming. The
// buyer's confirmation page then tells of the refund.
func TestPhoneWalkInEveryLanguage(t *testing.T) {
	axe := axeSource(t)
	c := loadCatalog(t)
	for _, tc := range []struct {
		lang, accept, currency, phone, refund string
	}{
		{"nb", "nb-NO,nb;q=0.9", "NOK", "912 34 567", "100,50"},
		{"en", "en-GB,en;q=0.9", "NOK", "+47 912 34 567", "100.50"},
		{"da", "da-DK,da;q=0.9", "DKK", "20 12 34 56", "100,50"},
		{"sv", "sv-SE,sv;q=0.9", "SEK", "070-123 45 67", "100,50"},
		{"fi", "fi-FI,fi;q=0.9", "EUR", "040 123 4567", "100,50"},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := startBrowser(t)
			s := startShop(t, "currency "+tc.currency, `shop_name "Nordlys"`)
			p := b.firstTab("buyer " + tc.lang)
			p.viewport(390, tc.accept)
			addToCart(p, s.base, cart)
			openCart(p, len(cart))
			var names []string
			for _, l := range cart {
				names = append(names, l.nameIn(tc.lang))
			}
			if got := run(p, "read the cart's lines", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#cart .line .name")).map(e => e.textContent)`)); !slices.Equal(got, names) {
				p.fail("the cart names the products in the page's language", "it lists %q, want %q", got, names)
			}
			cartTotal := p.text("read the cart total", "#cart-total")
			p.do("type the mobile number the local way", chromedp.SendKeys(chromedp.CSS("#phone"), tc.phone))
			p.do("pay", chromedp.Click(chromedp.CSS("#pay")))
			landing, ref := openLanding(p, total(cart))
			if desc := fmt.Sprintf("%d × %s", cart[0].qty, names[0]); !strings.Contains(landing, desc) {
				p.fail("the app shows the payment in the buyer's language", "no %q in %q", desc, landing)
			}
			p.do("approve in the simulator", chromedp.Click(approveButton, chromedp.NodeVisible))
			p.waitFor("back at the shop, the confirmation page", onConfirmation, waitingTimeout)
			p.checkPage("confirmation", tc.lang, 390, c, axe)
			// One formatter: the demo's cart writes the total exactly as
			// the built-in confirmation does.
			if got := p.text("read the total", "#total"); got != cartTotal {
				p.fail("the cart and the confirmation write the amount alike", "the cart says %q, the confirmation %q", cartTotal, got)
			}
			if tc.lang == "en" && strings.ReplaceAll(cartTotal, "\u00a0", " ") != "NOK 497.00" {
				p.fail("English pages write kroner the English way", "the cart total is %q, want NOK 497.00", cartTotal)
			}
			if items := p.text("read the items", "#items"); !strings.Contains(items, names[0]) || !strings.Contains(items, names[1]) {
				p.fail("the confirmation names the products as the cart did", "#items is %q, want %q", items, names)
			}

			second := s.approvedOrder(url.Values{"sku": {"book"}})

			m := b.newTab("merchant " + tc.lang)
			m.viewport(390, tc.accept)
			row := func(ref string) string { return `#orders tr[data-reference="` + ref + `"]` }
			status := func(ref, want string) string {
				return fmt.Sprintf(`(() => { const s = document.querySelector('%s [data-status]'); return !!s && s.dataset.status === %q; })()`, row(ref), want)
			}
			m.do("open the admin page", chromedp.Navigate(s.base+"/vipps/admin"), chromedp.WaitVisible(chromedp.CSS("#token")))
			m.do("sign in", chromedp.SetValue(chromedp.CSS("#token"), adminToken), chromedp.Click(chromedp.CSS("#sign-in")), chromedp.WaitVisible(chromedp.CSS(row(ref))))

			m.do("press Ship", chromedp.Click(chromedp.CSS(row(ref)+" button.ship")))
			m.waitFor("the order is charged", status(ref, "captured"), pageTimeout)
			if got := m.text("read the notice", "#flash"); !showsAmount(got, total(cart)) {
				m.fail("the notice names what was charged", "#flash says %q", got)
			}

			m.do("type part of the amount to refund and press Refund",
				chromedp.SendKeys(chromedp.CSS(row(ref)+` input[name="amount"]`), tc.refund),
				chromedp.Click(chromedp.CSS(row(ref)+" button.refund")),
				chromedp.WaitVisible(chromedp.CSS("#confirm")),
			)
			if got := m.text("read the question", "#confirm-title"); !showsAmount(got, 10050) {
				m.fail("the confirmation names the amount", "it asks %q, want 100,50", got)
			}
			if a := s.simAggregate(ref); a.refunded != 0 {
				m.fail("nothing is refunded before the confirmation", "the simulator has %d refunded", a.refunded)
			}
			m.do("confirm the refund", chromedp.Click(chromedp.CSS("#confirm")))
			m.waitFor("the order is partly refunded", status(ref, "partially_refunded"), pageTimeout)
			if a := s.simAggregate(ref); a.refunded != 10050 || a.captured != total(cart) {
				m.fail("the simulator has the refund", "captured %d, refunded %d; want %d and 10050", a.captured, a.refunded, total(cart))
			}

			m.do("press Cancel on the second order", chromedp.Click(chromedp.CSS(row(second)+" button.cancel")), chromedp.WaitVisible(chromedp.CSS("#confirm")))
			if got := m.text("read the question", "#confirm-title"); !showsAmount(got, book.price) {
				m.fail("the confirmation names the amount", "it asks %q", got)
			}
			m.do("do not confirm: go back", chromedp.Click(chromedp.CSS("#not-confirm")), chromedp.WaitVisible(chromedp.CSS(row(second))))
			if a := s.simAggregate(second); a.state != "AUTHORIZED" || a.cancelled != 0 {
				m.fail("going back moves no money", "the simulator has the payment %s with %d cancelled", a.state, a.cancelled)
			}
			m.waitFor("the order is still reserved", status(second, "authorized"), pageTimeout)
			m.do("press Cancel and confirm", chromedp.Click(chromedp.CSS(row(second)+" button.cancel")), chromedp.WaitVisible(chromedp.CSS("#confirm")),
				chromedp.Click(chromedp.CSS("#confirm")))
			m.waitFor("the order is cancelled", status(second, "cancelled"), pageTimeout)
			if a := s.simAggregate(second); a.cancelled != book.price {
				m.fail("the simulator released the reservation", "cancelled %d, want %d", a.cancelled, book.price)
			}
			m.checkPage("admin after ship, refund and cancel", tc.lang, 390, c, axe)

			p.do("the buyer looks at the order again", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#summary")))
			if got := p.text("read the summary", "#summary"); !showsAmount(got, 10050) || !showsAmount(got, total(cart)) {
				p.fail("the confirmation tells of the charge and the refund", "#summary says %q", got)
			}
		})
	}
}

// simAmounts is what the simulator holds of a payment.
type simAmounts struct {
	state                                     string
	authorized, captured, cancelled, refunded int64
}

// simAggregate reads a payment's state and amounts at the simulator.
func (s *shop) simAggregate(ref string) simAmounts {
	s.t.Helper()
	res := s.request(http.MethodGet, s.simURL+"/_sim/payments/"+url.PathEscape(ref), nil, nil)
	var p struct {
		State     string `json:"state"`
		Aggregate struct {
			AuthorizedAmount struct{ Value int64 } `json:"authorizedAmount"`
			CapturedAmount   struct{ Value int64 } `json:"capturedAmount"`
			CancelledAmount  struct{ Value int64 } `json:"cancelledAmount"`
			RefundedAmount   struct{ Value int64 } `json:"refundedAmount"`
		} `json:"aggregate"`
	}
	if res.status != http.StatusOK || json.Unmarshal([]byte(res.body), &p) != nil {
		s.t.Fatalf("simulator payment %s: %d %s", ref, res.status, clip(res.body))
	}
	a := p.Aggregate
	return simAmounts{state: strings.ToUpper(p.State), authorized: a.AuthorizedAmount.Value, captured: a.CapturedAmount.Value,
		cancelled: a.CancelledAmount.Value, refunded: a.RefundedAmount.Value}
}
