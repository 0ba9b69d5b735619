package integration

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/qr/qrtest"
)

// linkJSON is a payment link as the merchant API shows it.
type linkJSON struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	URL      string `json:"url"`
	QRSVG    string `json:"qr_svg"`
	QRPNG    string `json:"qr_png"`
	KioskURL string `json:"kiosk_url"`
	Amount   int64  `json:"amount"`
	Reusable bool   `json:"reusable"`
	Capture  string `json:"capture"`
	Orders   int    `json:"orders"`
	Items    []struct {
		SKU string `json:"sku"`
		Qty int    `json:"qty"`
	} `json:"items"`
}

// createLink makes a payment link through the merchant API.
func createLink(t *testing.T, body string, headers ...string) linkJSON {
	t.Helper()
	h := append([]string{"Authorization", "Bearer " + adminToken, "Content-Type", "application/json", "Accept", "application/json"}, headers...)
	resp, b := do(t, http.MethodPost, shopURL+"/vipps/links", strings.NewReader(body), h...)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create link %s: %d %s", body, resp.StatusCode, b)
	}
	var l linkJSON
	if err := json.Unmarshal(b, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// linkPath is the path of a link's page.
func linkPath(t *testing.T, l linkJSON) string {
	t.Helper()
	u, err := url.Parse(l.URL)
	if err != nil || !strings.HasPrefix(l.URL, shopURL+"/vipps/pay/") {
		t.Fatalf("link address %q", l.URL)
	}
	return u.Path
}

// payLink presses the link page's pay button and returns the answer.
func payLink(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, shopURL+path, strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html")
}

// linkDetail reads a link with its orders.
func linkDetail(t *testing.T, id string) (linkJSON, []orderJSON) {
	t.Helper()
	resp, b := merchant(t, http.MethodGet, "/vipps/links/"+id, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link %s: %d %s", id, resp.StatusCode, b)
	}
	var d struct {
		Link   linkJSON    `json:"link"`
		Orders []orderJSON `json:"orders"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Link, d.Orders
}

// paidThroughLink pays a link and has the buyer approve.
func paidThroughLink(t *testing.T, path string) string {
	t.Helper()
	resp, b := payLink(t, path, nil)
	ref := resp.Header.Get("X-Vipps-Reference")
	if resp.StatusCode != http.StatusSeeOther || ref == "" || !strings.HasPrefix(resp.Header.Get("Location"), simURL+"/landing?token=") {
		t.Fatalf("pay link: %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), b)
	}
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	waitFor(t, "the link's order authorized", func() bool { return storedOrder(t, ref).Payment.Authorized > 0 })
	return ref
}

// TestReusableLinkPaidTwiceThenDisabled: a merchant makes a reusable link
// of catalog lines (a retry with the same Idempotency-Key gets the same
// link); two buyers pay it; its orders are listed with it; disabled, it
// refuses the next buyer with a page (browser) or problem+json (API), and
// stores nothing.
func TestReusableLinkPaidTwiceThenDisabled(t *testing.T) {
	startShop(t, shopConfig{})
	body := `{"lines":[{"sku":"socks","qty":2},{"sku":"book","qty":1}],"reusable":true,"expires_in":"7d"}`
	l := createLink(t, body, "Idempotency-Key", "make-link-1")
	again := createLink(t, body, "Idempotency-Key", "make-link-1")
	if l.ID == "" || again.ID != l.ID || l.Amount != 2*14900+34900 || !l.Reusable || l.Capture != "ship" || l.Status != "active" {
		t.Fatalf("link %+v, retried %+v", l, again)
	}
	resp, b := do(t, http.MethodPost, shopURL+"/vipps/links", strings.NewReader(`{"lines":[{"sku":"mug","qty":1}]}`),
		"Authorization", "Bearer "+adminToken, "Content-Type", "application/json", "Idempotency-Key", "make-link-1")
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("the key with another body: %d %s", resp.StatusCode, b)
	}
	path := linkPath(t, l)
	resp, page := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html", "Accept-Language", "nb-NO")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Betal med Vipps") || !strings.Contains(string(page), "Cookbook") || !strings.Contains(string(page), "647,00") {
		t.Fatalf("the link's page: %d\n%s", resp.StatusCode, page)
	}
	first, second := paidThroughLink(t, path), paidThroughLink(t, path)
	if first == second {
		t.Fatal("two payments made one order")
	}
	got, orders := linkDetail(t, l.ID)
	if got.Orders != 2 || len(orders) != 2 || orders[0].Reference != second || orders[1].Reference != first {
		t.Fatalf("the link's orders: %+v %+v", got, orders)
	}
	if o := storedOrder(t, first); o.Status != "authorized" || o.Payment.Amount != 64700 {
		t.Fatalf("an order captured on ship waits for the ship: %+v", o)
	}
	if resp, b := merchant(t, http.MethodPost, "/vipps/orders/"+first+"/ship", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("ship a link's order: %d %s", resp.StatusCode, b)
	}
	if resp, b := merchant(t, http.MethodGet, "/vipps/orders?link="+l.ID, ""); resp.StatusCode != http.StatusOK || strings.Count(string(b), `"reference"`) != 2 {
		t.Fatalf("orders by link: %d %s", resp.StatusCode, b)
	}

	resp, b = merchant(t, http.MethodPost, "/vipps/links/"+l.ID+"/disable", "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"status": "disabled"`) {
		t.Fatalf("disable: %d %s", resp.StatusCode, b)
	}
	before := simPaymentCount(t)
	resp, b = payLink(t, path, nil)
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(b), "closed this payment link") {
		t.Fatalf("paying a disabled link in a browser: %d\n%s", resp.StatusCode, b)
	}
	resp, b = do(t, http.MethodPost, shopURL+path, strings.NewReader(`{}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusGone || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(b), "Payment link disabled") {
		t.Fatalf("paying a disabled link through the API: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	resp, page = do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(page), `id="closed"`) || strings.Contains(string(page), `id="pay"`) {
		t.Fatalf("a disabled link's page: %d\n%s", resp.StatusCode, page)
	}
	if n := simPaymentCount(t); n != before {
		t.Fatalf("a refused payment reached Vipps: %d payments, %d before", n, before)
	}
	if got, orders := linkDetail(t, l.ID); got.Orders != 2 || len(orders) != 2 {
		t.Fatalf("a refused payment stored an order: %+v", got)
	}
}

// TestSingleUseLinkRace: twelve buyers press Pay on one single-use link at
// once: exactly one payment starts, the others are told the link is being
// paid. Rejected, the link takes the next buyer; paid, it says it was used.
func TestSingleUseLinkRace(t *testing.T) {
	startShop(t, shopConfig{})
	singleUseLinkRace(t)
}

// TestSingleUseLinkRaceOnPostgres: the same on PostgreSQL.
func TestSingleUseLinkRaceOnPostgres(t *testing.T) {
	pg := startPostgres(t)
	t.Setenv("VIPPS_TEST_DATABASE_URL", pg.DSN())
	startShop(t, shopConfig{Extra: "store postgres {env.VIPPS_TEST_DATABASE_URL}"})
	singleUseLinkRace(t)
}

func singleUseLinkRace(t *testing.T) {
	t.Helper()
	l := createLink(t, `{"amount": 250000, "description": "Custom table, deposit", "vat": 25}`)
	path := linkPath(t, l)
	before := simPaymentCount(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	var refs []string
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := payLink(t, path, nil)
			mu.Lock()
			defer mu.Unlock()
			statuses[resp.StatusCode]++
			if ref := resp.Header.Get("X-Vipps-Reference"); ref != "" {
				refs = append(refs, ref)
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusSeeOther] != 1 || statuses[http.StatusConflict] != 11 || len(refs) != 1 {
		t.Fatalf("answers %v, orders %v", statuses, refs)
	}
	if n := simPaymentCount(t); n != before+1 {
		t.Fatalf("payments at vipps: %d, want %d", n, before+1)
	}
	if got, orders := linkDetail(t, l.ID); got.Orders != 1 || len(orders) != 1 || got.Status != "busy" {
		t.Fatalf("after the race: %+v, %d orders", got, len(orders))
	}
	simPost(t, "/_sim/payments/"+refs[0]+"/reject", "")
	waitFor(t, "the first order aborted", func() bool { return storedOrder(t, refs[0]).Status == "aborted" })
	ref := paidThroughLink(t, path)
	resp, page := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(page), "can be paid only once") {
		t.Fatalf("a used link's page: %d\n%s", resp.StatusCode, page)
	}
	resp, b := payLink(t, path, nil)
	if resp.StatusCode != http.StatusGone || resp.Header.Get("X-Vipps-Reference") != "" {
		t.Fatalf("paying a used link: %d %s", resp.StatusCode, b)
	}
	if got, _ := linkDetail(t, l.ID); got.Status != "used" || got.Orders != 2 {
		t.Fatalf("the used link: %+v", got)
	}
	if o := storedOrder(t, ref); o.Status != "authorized" {
		t.Fatalf("the paying order: %+v", o)
	}
}

// TestExpiredLinkIsRefused: a link past its expiry has a page that says
// so, and takes no payment.
func TestExpiredLinkIsRefused(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, fmt.Sprintf(`{"lines":[{"sku":"mug","qty":1}],"expires_at":%q}`, time.Now().Add(2*time.Second).UTC().Format(time.RFC3339Nano)))
	path := linkPath(t, l)
	time.Sleep(2500 * time.Millisecond)
	resp, page := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html", "Accept-Language", "sv")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(page), "har gått ut") {
		t.Fatalf("an expired link's page: %d\n%s", resp.StatusCode, page)
	}
	resp, b := do(t, http.MethodPost, shopURL+path, strings.NewReader(`{}`), "Content-Type", "application/json")
	if resp.StatusCode != http.StatusGone || !strings.Contains(string(b), "Payment link expired") {
		t.Fatalf("paying an expired link: %d %s", resp.StatusCode, b)
	}
	for _, img := range []string{"/qr.png", "/qr.svg"} {
		if resp, b := do(t, http.MethodGet, shopURL+path+img, nil); resp.StatusCode != http.StatusGone || strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") {
			t.Fatalf("the QR code of an expired link (%s): %d %s, %d bytes", img, resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}
	if got, orders := linkDetail(t, l.ID); got.Status != "expired" || len(orders) != 0 {
		t.Fatalf("the expired link: %+v, %d orders", got, len(orders))
	}
	for _, bad := range []string{`{"lines":[{"sku":"mug","qty":1}],"expires_in":"-1h"}`, `{"lines":[{"sku":"mug","qty":1}],"expires_at":"tomorrow"}`,
		`{"amount":10000,"description":"A table"}`, `{"amount":10000,"vat":25}`, `{"lines":[{"sku":"mug","qty":1}],"capture":"never"}`, `{"lines":[],"amout":5}`, ``} {
		resp, b := do(t, http.MethodPost, shopURL+"/vipps/links", strings.NewReader(bad), "Authorization", "Bearer "+adminToken, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("link %s: %d %s", bad, resp.StatusCode, b)
		}
	}
	if resp, b := do(t, http.MethodPost, shopURL+"/vipps/links", strings.NewReader(`{"lines":[{"sku":"mug","qty":1}]}`), "Content-Type", "application/json"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a link without the admin token: %d %s", resp.StatusCode, b)
	}
}

// TestLinkBodiesAreStrict: what a careless script sends to make a link or
// a sale at the counter is refused with the field named as the client
// wrote it, and the content type it needs; nothing is made.
func TestLinkBodiesAreStrict(t *testing.T) {
	startShop(t, shopConfig{})
	cases := []struct {
		path, ctype, body string
		status            int
		field, says       string
	}{
		{"links", "application/x-www-form-urlencoded", "amount=10000&description=Deposit&vat=25", 415, "", "Content-Type: application/json"},
		{"kiosk", "text/plain", `{"amount":10000,"description":"Coffee","vat":15}`, 415, "", "Content-Type: application/json"},
		{"links", "application/json", `{"amount":100.5,"description":"Deposit","vat":25}`, 400, "amount", "whole number"},
		{"kiosk", "application/json", `{"amount":"4500","description":"Coffee","vat":15}`, 400, "amount", "whole number"},
		{"links", "application/json", `{"lines":[{"sku":"mug","qty":"1"}]}`, 400, "lines[0].qty", "whole number"},
		{"links", "application/json", `{"amount":100,"description":"Deposit","vat":25,"reusable":"yes"}`, 400, "reusable", "true or false"},
		{"links", "application/json", `{"amount":100,"description":"Deposit","vat":24}`, 400, "vat", "24"},
		{"links", "application/json", `{"lines":[{"sku":"mug","qty":1}],"amount":100}`, 400, "amount", "not both"},
		{"kiosk", "application/json", `{"amount":100,"description":"Coffee","vat":15,"reusable":true}`, 400, "reusable", "unknown field"},
	}
	for _, c := range cases {
		resp, b := do(t, http.MethodPost, shopURL+"/vipps/"+c.path, strings.NewReader(c.body),
			"Authorization", "Bearer "+adminToken, "Content-Type", c.ctype, "Accept", "application/json")
		var p struct{ Field, Detail string }
		_ = json.Unmarshal(b, &p)
		if resp.StatusCode != c.status || p.Field != c.field || !strings.Contains(p.Detail, c.says) {
			t.Errorf("%s %s %s: %d %s", c.path, c.ctype, c.body, resp.StatusCode, b)
		}
	}
	if _, links := do(t, http.MethodGet, shopURL+"/vipps/links", nil, "Authorization", "Bearer "+adminToken); strings.Contains(string(links), `"id"`) {
		t.Fatalf("a refused request made a link: %s", links)
	}
	// A buyer's post of a body that is neither a form nor JSON is not
	// read as an empty one: nothing is paid, the link stays free.
	l := createLink(t, `{"amount":10000,"description":"Deposit","vat":25}`)
	resp, b := do(t, http.MethodPost, shopURL+linkPath(t, l), strings.NewReader("phone 91234567"), "Content-Type", "text/plain")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("paying a link with a text body: %d %s", resp.StatusCode, b)
	}
	if got, orders := linkDetail(t, l.ID); got.Status != "active" || len(orders) != 0 {
		t.Fatalf("after a refused payment the link is %s with %d orders", got.Status, len(orders))
	}
}

// TestFreeAmountLinkReceiptCarriesItsVAT: a free amount at 12 % VAT,
// charged on payment: once approved, the order is captured without the
// merchant, and the receipt at Vipps has the stated rate and the VAT
// taken out of the amount.
func TestFreeAmountLinkReceiptCarriesItsVAT(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"amount": 89900, "description": "Guided tour, two people", "vat": 12, "capture": "payment"}`)
	if l.Capture != "payment" || len(l.Items) != 1 || l.Items[0].SKU != "amount" {
		t.Fatalf("link %+v", l)
	}
	ref := paidThroughLink(t, linkPath(t, l))
	waitFor(t, "the order captured on payment", func() bool { return storedOrder(t, ref).Status == "captured" })
	if p := simPaymentOf(t, ref); p.Aggregate.CapturedAmount.Value != 89900 || countEvents(p, "CAPTURED") != 1 {
		t.Fatalf("at vipps: %+v", p)
	}
	waitFor(t, "the receipt sent", func() bool { return storedOrder(t, ref).Receipt == "sent" })
	_, b := do(t, http.MethodGet, simURL+"/_sim/receipts", nil)
	var receipts []struct {
		OrderID string `json:"order_id"`
		Receipt struct {
			OrderLines []struct {
				Name                    string `json:"name"`
				TotalAmount             int64  `json:"totalAmount"`
				TotalTaxAmount          int64  `json:"totalTaxAmount"`
				TotalAmountExcludingTax int64  `json:"totalAmountExcludingTax"`
				TaxRate                 *int   `json:"taxRate"`
			} `json:"orderLines"`
		} `json:"receipt"`
	}
	if err := json.Unmarshal(b, &receipts); err != nil {
		t.Fatal(err)
	}
	for _, r := range receipts {
		if r.OrderID != ref {
			continue
		}
		lines := r.Receipt.OrderLines
		// 89900 at 12 %: 89900 × 12 / 112 = 9632.14… → 9632.
		if len(lines) != 1 || lines[0].TaxRate == nil || *lines[0].TaxRate != 1200 || lines[0].TotalTaxAmount != 9632 ||
			lines[0].TotalAmountExcludingTax != 80268 || lines[0].Name != "Guided tour, two people" {
			t.Fatalf("receipt lines: %+v", lines)
		}
		return
	}
	t.Fatalf("no receipt for %s: %s", ref, b)
}

var base32Token = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// TestGuessingLinkTokensFindsNothing: tokens of the right shape, near
// misses of a real token (one character changed, cut short, one longer,
// another case) and junk all get the same 404 — the same body, for API
// callers and browsers, with no path repeated back — on the page, its QR
// codes and its kiosk; and paying them starts nothing.
func TestGuessingLinkTokensFindsNothing(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"lines":[{"sku":"mug","qty":1}],"reusable":true}`)
	token := strings.TrimPrefix(linkPath(t, l), "/vipps/pay/")
	if len(token) < 26 || !regexp.MustCompile(`^[a-z2-7]+$`).MatchString(token) {
		t.Fatalf("token %q: want at least 128 bits in base32", token)
	}
	guesses := []string{token[:len(token)-1], token + "a", strings.ToUpper(token), "x" + token[1:], token[:len(token)-1] + string("ab"[0]+(token[len(token)-1]-'a'+1)%2),
		"", "a", "..", "%00", strings.Repeat("a", 300), "link-" + l.ID}
	for range 40 {
		b := make([]byte, 20)
		_, _ = rand.Read(b)
		guesses = append(guesses, base32Token.EncodeToString(b))
	}
	var apiBody, pageBody string
	before := simPaymentCount(t)
	for _, g := range guesses {
		if g == token {
			continue
		}
		p := "/vipps/pay/" + url.PathEscape(g)
		resp, b := do(t, http.MethodGet, shopURL+p, nil, "Accept", "application/json")
		if g != "" && g != ".." && (resp.StatusCode != http.StatusNotFound || (len(g) >= 8 && strings.Contains(string(b), g))) {
			t.Fatalf("guess %q: %d %s", g, resp.StatusCode, b)
		}
		if g == "" || g == ".." || g == "%00" {
			continue
		}
		if apiBody == "" {
			apiBody = string(b)
		} else if string(b) != apiBody {
			t.Fatalf("guess %q is answered differently:\n%s\nvs\n%s", g, b, apiBody)
		}
		resp, b = do(t, http.MethodGet, shopURL+p, nil, "Accept", "text/html")
		if pageBody == "" {
			pageBody = string(b)
		} else if resp.StatusCode != http.StatusNotFound || string(b) != pageBody {
			t.Fatalf("guess %q gets another page: %d", g, resp.StatusCode)
		}
		for _, sub := range []string{"/qr.svg", "/qr.png", "/kiosk"} {
			if resp, _ := do(t, http.MethodGet, shopURL+p+sub, nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("guess %q%s: %d", g, sub, resp.StatusCode)
			}
		}
		if resp, _ := payLink(t, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("paying guess %q: %d", g, resp.StatusCode)
		}
	}
	if !strings.Contains(apiBody, "Payment link not found") || !strings.Contains(pageBody, "There is no payment link at this address") {
		t.Fatalf("the answer to a guess:\n%s\n%s", apiBody, pageBody)
	}
	if n := simPaymentCount(t); n != before {
		t.Fatalf("guesses started %d payments", n-before)
	}
	// The real token still works, and its QR codes hold its address.
	if resp, _ := do(t, http.MethodGet, shopURL+"/vipps/pay/"+token, nil, "Accept", "application/json"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the real link: %d", resp.StatusCode)
	}
	_, svg := do(t, http.MethodGet, l.QRSVG, nil)
	_, png := do(t, http.MethodGet, l.QRPNG+"?size=300", nil)
	if got, err := qrtest.DecodeSVG(svg); err != nil || got != l.URL {
		t.Fatalf("the SVG holds %q (%v), want %q", got, err, l.URL)
	}
	if got, err := qrtest.DecodePNG(png); err != nil || got != l.URL {
		t.Fatalf("the PNG holds %q (%v), want %q", got, err, l.URL)
	}
}

// TestPayingTwiceFromOneBrowserFindsOnePayment: the link's page gives the
// browser its try at the link (a cookie on the link's path); paying twice
// with it (a double click, Back and Pay again) leads to one payment, and
// the page does not call the link busy for that browser. Another browser
// is told the link is busy.
func TestPayingTwiceFromOneBrowserFindsOnePayment(t *testing.T) {
	startShop(t, shopConfig{})
	l := createLink(t, `{"amount":20000,"description":"A deposit","vat":25}`)
	path := linkPath(t, l)
	resp, _ := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html")
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "vipps_attempt" {
			cookie = c
		}
	}
	if cookie == nil || cookie.Path != path || !cookie.HttpOnly || cookie.MaxAge <= 0 {
		t.Fatalf("the link's page gave no try cookie: %+v", resp.Cookies())
	}
	form := []string{"Content-Type", "application/x-www-form-urlencoded", "Cookie", cookie.Name + "=" + cookie.Value}
	var locations []string
	for range 2 {
		resp, b := do(t, http.MethodPost, shopURL+path, strings.NewReader(""), form...)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("paying from the browser: %d %s", resp.StatusCode, b)
		}
		locations = append(locations, resp.Header.Get("Location"))
	}
	if locations[0] != locations[1] {
		t.Fatalf("two payments for one browser: %v", locations)
	}
	if got, orders := linkDetail(t, l.ID); got.Orders != 1 || len(orders) != 1 {
		t.Fatalf("the link has %d orders", got.Orders)
	}
	if resp, page := do(t, http.MethodGet, shopURL+path, nil, "Accept", "text/html", "Cookie", cookie.Name+"="+cookie.Value); resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="pay"`) {
		t.Fatalf("the page for the browser whose payment waits: %d", resp.StatusCode)
	}
	if resp, b := do(t, http.MethodPost, shopURL+path, strings.NewReader(""), "Content-Type", "application/x-www-form-urlencoded"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("another browser: %d %s", resp.StatusCode, b)
	}
}

// TestLinkForAnOrderNotPaid: the merchant sends a buyer whose payment was
// rejected a link for that order; it charges the order's lines and names
// the order. An order still waiting for its buyer gets none.
func TestLinkForAnOrderNotPaid(t *testing.T) {
	startShop(t, shopConfig{})
	ref, _ := checkout(t, twoItems())
	if resp, b := merchant(t, http.MethodPost, "/vipps/links", fmt.Sprintf(`{"order":%q}`, ref)); resp.StatusCode != http.StatusConflict {
		t.Fatalf("a link for an order waiting for its buyer: %d %s", resp.StatusCode, b)
	}
	simPost(t, "/_sim/payments/"+ref+"/reject", "")
	waitFor(t, "the order rejected", func() bool { return storedOrder(t, ref).Status == "aborted" })
	l := createLink(t, fmt.Sprintf(`{"order":%q}`, ref))
	var view struct {
		Link struct {
			ForOrder string `json:"for_order"`
			Amount   int64  `json:"amount"`
		} `json:"link"`
	}
	_, b := merchant(t, http.MethodGet, "/vipps/links/"+l.ID, "")
	if err := json.Unmarshal(b, &view); err != nil || view.Link.ForOrder != ref || view.Link.Amount != 49700 {
		t.Fatalf("the link for %s: %s", ref, b)
	}
	if resp, b := merchant(t, http.MethodPost, "/vipps/links", fmt.Sprintf(`{"order":%q,"amount":100,"vat":25}`, ref)); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("an order and an amount: %d %s", resp.StatusCode, b)
	}
}

// TestAdminPageLinkForAnOrderNotPaid: on the orders' page an order whose
// buyer rejected the payment has a button that makes a link for it (the
// button's form, as the page drew it) and shows the link to share.
func TestAdminPageLinkForAnOrderNotPaid(t *testing.T) {
	startShop(t, shopConfig{})
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	simPost(t, "/_sim/payments/"+ref+"/reject", "")
	waitFor(t, "the order rejected", func() bool { return storedOrder(t, ref).Status == "aborted" })
	auth := []string{"Authorization", "Bearer " + adminToken, "Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html"}
	_, page := do(t, http.MethodGet, shopURL+"/vipps/admin", nil, auth...)
	form := regexp.MustCompile(`<form method="post" action="/vipps/admin/links">(.*?)</form>`).FindSubmatch(page)
	if form == nil || !strings.Contains(string(form[1]), `value="`+ref+`"`) || !strings.Contains(string(form[1]), `class="secondary pay-again"`) {
		t.Fatalf("no pay-again button for %s on the orders' page", ref)
	}
	fields := url.Values{}
	for _, m := range regexp.MustCompile(`name="([a-z]+)" value="([^"]*)"`).FindAllSubmatch(form[1], -1) {
		fields.Set(string(m[1]), string(m[2]))
	}
	resp, _ := do(t, http.MethodPost, shopURL+"/vipps/admin/links", strings.NewReader(fields.Encode()), auth...)
	created := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(created, "/vipps/admin/links?created=link-") {
		t.Fatalf("the pay-again button: %d to %q", resp.StatusCode, created)
	}
	id := strings.TrimPrefix(created, "/vipps/admin/links?created=")
	_, b := merchant(t, http.MethodGet, "/vipps/links/"+id, "")
	if !strings.Contains(string(b), `"for_order": "`+ref+`"`) || !strings.Contains(string(b), `"amount": 14900`) {
		t.Fatalf("the link made from the orders' page: %s", b)
	}
	if _, page := do(t, http.MethodGet, shopURL+created, nil, auth...); !strings.Contains(string(page), "/vipps/pay/") || !strings.Contains(string(page), "to pay order "+ref+" again") {
		t.Fatalf("the links page does not show the new link's address and its order:\n%s", page)
	}
}
