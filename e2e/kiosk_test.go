package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
)

// TestBrowserKioskQR: at the counter the merchant makes a payment link on
// the admin page (a free amount), which shows its address and QR code,
// opens the link's kiosk and shows the payment's QR code. The buyer's
// phone scans it (the test reads the code Vipps gave) and approves in the
// app; the kiosk moves on to "paid" by itself, and offers the next
// customer.
func TestBrowserKioskQR(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t)
	m := b.firstTab("counter")

	m.do("open the payment links page", chromedp.Navigate(s.base+"/vipps/admin/links"), chromedp.WaitVisible(chromedp.CSS("#token")))
	m.do("sign in with the admin token",
		chromedp.SetValue(chromedp.CSS("#token"), adminToken),
		chromedp.Click(chromedp.CSS("#sign-in")),
		chromedp.WaitVisible(chromedp.CSS("#orders")),
	)
	m.do("go to the payment links", chromedp.Click(chromedp.CSS("#links-nav")), chromedp.WaitVisible(chromedp.CSS("#new-link")))
	m.do("make a reusable link of 250 kroner for a haircut",
		chromedp.Click(chromedp.CSS("#kind-amount")),
		chromedp.Click(chromedp.CSS("#use-reusable")),
		chromedp.SetValue(chromedp.CSS("#amount"), "250"),
		chromedp.SetValue(chromedp.CSS("#description"), "Haircut"),
		chromedp.Click(chromedp.CSS("#create-link")),
		chromedp.WaitVisible(chromedp.CSS("#created")),
	)
	address := run(m, "read the link's address", chromedp.Evaluate[string](`document.querySelector("#created-url").value`))
	if !strings.HasPrefix(address, s.base+"/vipps/pay/") {
		m.fail("the admin page shows the link's address", "it shows %q", address)
	}
	m.waitFor("the admin page shows the link's QR code", `(() => { const i = document.querySelector("#created img"); return !!i && i.complete && i.naturalWidth > 0; })()`, pageTimeout)
	svg := s.request(http.MethodGet, address+"/qr.svg", nil, nil)
	if got, err := qrtest.DecodeSVG([]byte(svg.body)); err != nil || got != address {
		t.Fatalf("the link's QR code holds %q (%v), want %q", got, err, address)
	}

	m.do("open the link at the counter", chromedp.Click(chromedp.CSS(`#created a[href$="/kiosk"]`)), chromedp.WaitVisible(chromedp.CSS("#show-qr")))
	if got := m.text("read the amount", "#amount"); !showsAmount(got, 25000) {
		m.fail("the kiosk shows the amount", "it shows %q", got)
	}
	m.do("show the QR code", chromedp.Click(chromedp.CSS("#show-qr")), chromedp.WaitVisible(chromedp.CSS("#kiosk-qr")))
	m.waitFor("Vipps' QR code is on the screen", `(() => { const i = document.querySelector("#qr"); return !!i && i.complete && i.naturalWidth > 0; })()`, pageTimeout)
	ref := m.text("read the reference", "#reference")
	src := run(m, "read the QR code's address", chromedp.Evaluate[string](`document.querySelector("#qr").src`))
	img := s.request(http.MethodGet, src, nil, nil)
	landing, err := qrtest.DecodeSVG([]byte(img.body))
	if err != nil || !strings.HasPrefix(landing, s.simURL+"/landing?token=") {
		t.Fatalf("the kiosk's QR code (%s) holds %q (%v), want the simulator's landing page", src, landing, err)
	}

	phone := b.newTab("buyer's phone")
	phone.do("scan the code", chromedp.Navigate(landing))
	phone.waitFor("the app shows the payment", onLandingPage, pageTimeout)
	if text := run(phone, "read the app", chromedp.Evaluate[string](`document.body.innerText`)); !showsAmount(text, 25000) || !strings.Contains(text, "Haircut") {
		phone.fail("the app shows what is paid", "it shows %q", text)
	}
	phone.do("approve in the app", chromedp.Click(approveButton, chromedp.NodeVisible))
	phone.waitFor("the phone shows the shop's confirmation", onConfirmation, waitingTimeout)

	// The kiosk is a screen of its own: its tab is in front again, as a
	// screen that is on (a hidden tab's timers may not run).
	m.do("the kiosk's screen is on", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
		return err
	}))
	m.waitFor("the kiosk moves on to paid by itself", `!!document.querySelector("#paid")`, waitingTimeout)
	if o := s.order(ref); o.Status != "authorized" || o.Amount != 25000 {
		t.Fatalf("order %s: %+v", ref, o)
	}
	m.do("next customer", chromedp.Click(chromedp.CSS("#next")), chromedp.WaitVisible(chromedp.CSS("#show-qr")))
}

// TestBrowserPayLink: a buyer opens a single-use payment link on the
// phone, presses Pay, comes back from Vipps and presses Pay again, lands
// at the same payment at Vipps (the page's form posts to the
// shop, which redirects to another origin: the page's
// Content-Security-Policy must let that form go there) rather than on "the
// link is in use", approves and ends on the shop's confirmation.
func TestBrowserPayLink(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t)
	address := s.paymentLink(`{"amount":150000,"description":"Deposit for a table","vat":25}`)
	phone := b.firstTab("buyer's phone")
	phone.do("open the link", chromedp.Navigate(address), chromedp.WaitVisible(chromedp.CSS("#pay")))
	phone.do("pay", chromedp.Click(chromedp.CSS("#pay")))
	phone.waitFor("Vipps shows the payment", onLandingPage, pageTimeout)
	first := run(phone, "read Vipps' address", chromedp.Evaluate[string](`location.href`))
	// The buyer comes back to the link's page (Back, or the link in the
	// message again) and presses Pay again: the link is busy with this
	// buyer's own payment, which they are sent to.
	phone.do("open the link again", chromedp.Navigate(address), chromedp.WaitVisible(chromedp.CSS("#pay")))
	phone.do("pay again", chromedp.Click(chromedp.CSS("#pay")))
	phone.waitFor("Vipps shows the payment again", onLandingPage, pageTimeout)
	if again := run(phone, "read Vipps' address", chromedp.Evaluate[string](`location.href`)); again != first {
		phone.fail("the second Pay leads to the first payment", "first %s, then %s", first, again)
	}
	links := s.request(http.MethodGet, s.base+"/vipps/links", http.Header{"Authorization": {"Bearer " + adminToken}}, nil)
	var list struct {
		Links []struct {
			Orders int `json:"orders"`
		} `json:"links"`
	}
	if err := json.Unmarshal([]byte(links.body), &list); err != nil || len(list.Links) != 1 || list.Links[0].Orders != 1 {
		t.Fatalf("two presses of Pay: %s", clip(links.body))
	}
	if text := run(phone, "read the app", chromedp.Evaluate[string](`document.body.innerText`)); !showsAmount(text, 150000) {
		phone.fail("Vipps shows what the link charges", "it shows %q", text)
	}
	phone.do("approve", chromedp.Click(approveButton, chromedp.NodeVisible))
	phone.waitFor("the phone shows the shop's confirmation", onConfirmation, waitingTimeout)
}

// TestBrowserPushFromLink: a buyer types a local mobile number on a link's
// page (the shop offers push); the payment goes to that phone's app, the
// page waits, and once the buyer approves in the app (the simulator's
// inbox for that number) it moves on to the confirmation by itself.
func TestBrowserPushFromLink(t *testing.T) {
	b := startBrowser(t)
	s := startShop(t, "link_push")
	address := s.paymentLink(`{"amount":45000,"description":"Deposit for a table","vat":25}`)
	counter := b.firstTab("the buyer's computer")
	counter.do("open the link", chromedp.Navigate(address), chromedp.WaitVisible(chromedp.CSS("#push")))
	counter.do("send it to the phone",
		chromedp.SetValue(chromedp.CSS("#phone"), "912 34 567"),
		chromedp.Click(chromedp.CSS("#push")),
	)
	counter.waitFor("the page waits for the app", onWaitingPage, pageTimeout)

	phone := b.newTab("buyer's phone")
	phone.do("open the app's inbox", chromedp.Navigate(s.simURL+"/landing?user=4791234567"), chromedp.WaitVisible(chromedp.CSS("#inbox a.open")))
	phone.do("open the payment", chromedp.Click(chromedp.CSS("#inbox a.open")))
	phone.waitFor("the app shows the payment", onLandingPage, pageTimeout)
	if text := run(phone, "read the app", chromedp.Evaluate[string](`document.body.innerText`)); !showsAmount(text, 45000) {
		phone.fail("the app shows what the link charges", "it shows %q", text)
	}
	phone.do("approve", chromedp.Click(approveButton, chromedp.NodeVisible))

	counter.do("the buyer's screen is in front", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, page.BringToFront, cdp.Empty{})
		return err
	}))
	counter.waitFor("the waiting page moves on to the confirmation by itself", onConfirmation, waitingTimeout)
}
