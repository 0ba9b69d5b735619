package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// merchantView is an order as the merchant endpoint shows it, with what
// the buyer shared.
type merchantView struct {
	Status       string `json:"status"`
	BuyerDetails string `json:"buyer_details"`
	Buyer        *struct {
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		Phone    string   `json:"phone"`
		Address  []string `json:"address"`
		PostCode string   `json:"post_code"`
		City     string   `json:"city"`
	} `json:"buyer"`
	Shipping *struct {
		OptionID string `json:"option_id"`
		Name     string `json:"name"`
		Amount   int64  `json:"amount"`
	} `json:"shipping"`
	Payment struct {
		Amount     int64 `json:"amount"`
		Authorized int64 `json:"authorized"`
		Captured   int64 `json:"captured"`
		Cancelled  int64 `json:"cancelled"`
	} `json:"payment"`
}

func merchantViewOf(t *testing.T, ref string) merchantView {
	t.Helper()
	resp, body := merchant(t, http.MethodGet, "/vipps/orders/"+ref, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("merchant order %s: %d %s", ref, resp.StatusCode, body)
	}
	var v merchantView
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// simSettings changes the embedded simulator's behaviour for one test; call
// it after startShop, which starts the simulator.
func simSettings(t *testing.T, body string) {
	t.Helper()
	simPost(t, "/_sim/settings", body)
	t.Cleanup(func() {
		do(t, http.MethodPost, simURL+"/_sim/settings", strings.NewReader(`{"profile_delay":"0s","sub_only":false,"strict_userinfo":false,"express_disabled":false}`))
	})
}

// TestBuyerSharesDetailsWithConsent: collect name email phone → the buyer
// is asked on the landing page, approves, and the merchant sees the details
// on the order, the admin page, the CSV and the notification, while the
// buyer's pages and the logs never show them.
func TestBuyerSharesDetailsWithConsent(t *testing.T) {
	const secret = "notify-secret-profile"
	var mu sync.Mutex
	var notes []shop.Notification
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var n shop.Notification
		_ = json.Unmarshal(body, &n)
		mu.Lock()
		notes = append(notes, n)
		mu.Unlock()
	}))
	defer srv.Close()
	os.Setenv("VIPPS_TEST_NOTIFY_SECRET", secret)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	startShop(t, shopConfig{
		Global: "log {\n\t\toutput file " + logFile + "\n\t\tlevel DEBUG\n\t}",
		Extra:  "collect name email phone\n\t\tnotify_url " + srv.URL + "\n\t\tnotify_secret {env.VIPPS_TEST_NOTIFY_SECRET}",
	})
	ref, landing := checkout(t, url.Values{"sku": {"socks"}})
	_, page := do(t, http.MethodGet, landing, nil)
	for _, want := range []string{"Information you share", "Name", "Email address", "Phone number"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the landing page does not ask for consent to share %q", want)
		}
	}
	if strings.Contains(string(page), "<li>Address</li>") {
		t.Error("the landing page asks for the address, which the shop does not collect")
	}
	simPost(t, "/_sim/payments/"+ref+"/approve", "")
	do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	waitFor(t, "buyer details", func() bool { return merchantViewOf(t, ref).BuyerDetails == "stored" })
	v := merchantViewOf(t, ref)
	if v.Buyer == nil || v.Buyer.Name != "Ada Lovelace" || v.Buyer.Email != "ada@example.com" || v.Buyer.Phone != "4791234567" || len(v.Buyer.Address) != 0 {
		t.Fatalf("buyer on the order: %+v", v.Buyer)
	}

	cookie := adminSession(t)
	_, admin := do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Cookie", cookie)
	if !strings.Contains(string(admin), "Ada Lovelace") || !strings.Contains(string(admin), "mailto:ada@example.com") {
		t.Errorf("the admin page does not show the buyer")
	}
	_, csvBody := merchant(t, http.MethodGet, "/vipps/orders?format=csv", "")
	if !strings.Contains(string(csvBody), "buyer_name,buyer_email,buyer_phone") || !strings.Contains(string(csvBody), "Ada Lovelace,ada@example.com,4791234567") {
		t.Errorf("the CSV lacks the buyer:\n%s", csvBody)
	}
	waitFor(t, "a notification with the buyer", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range notes {
			if n.Reference == ref && n.Buyer != nil && n.Buyer.Email == "ada@example.com" {
				return true
			}
		}
		return false
	})

	_, conf := do(t, http.MethodGet, shopURL+"/vipps/confirmation?reference="+ref, nil)
	_, status := do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil)
	logs, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs, []byte(ref)) {
		t.Fatal("the debug log does not mention the order; is it the right file?")
	}
	for where, text := range map[string][]byte{"the debug log": logs, "the confirmation page": conf, "the buyer's status view": status} {
		for _, pii := range []string{"Lovelace", "ada@example.com", "4791234567"} {
			if bytes.Contains(text, []byte(pii)) {
				t.Errorf("%s contains %q", where, pii)
			}
		}
	}
}

func TestRefusedConsentFailsThePayment(t *testing.T) {
	startShop(t, shopConfig{Extra: "collect name address"})
	ref, _ := checkout(t, url.Values{"sku": {"socks"}})
	simPost(t, "/_sim/payments/"+ref+"/approve", `{"decline_consent": true}`)
	resp, _ := do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "/vipps/cancelled") {
		t.Fatalf("return after refused consent: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	v := merchantViewOf(t, ref)
	if v.Status != "aborted" || v.Buyer != nil || v.Payment.Authorized != 0 {
		t.Fatalf("after refused consent: %+v", v)
	}
}

// TestBuyerDetailsExpireWithRetention: the details go with buyer_retention,
// the order's accounting stays.
func TestBuyerDetailsExpireWithRetention(t *testing.T) {
	startShop(t, shopConfig{Extra: "collect name\n\t\tbuyer_retention 2s"})
	ref := approved(t, url.Values{"sku": {"socks"}})
	waitFor(t, "buyer details", func() bool { v := merchantViewOf(t, ref); return v.Buyer != nil && v.Buyer.Name != "" })
	waitFor(t, "the details to expire", func() bool { return merchantViewOf(t, ref).Buyer == nil })
	if v := merchantViewOf(t, ref); v.Status != "authorized" || v.Payment.Authorized != 14900 || v.BuyerDetails != "stored" {
		t.Fatalf("the order itself changed: %+v", v)
	}
}

// TestBuyerDetailsArriveLate: Vipps writes the profile a moment after the
// authorization, and older API versions show only the sub; the outbox
// fetches the details (from the Userinfo API when needed).
func TestBuyerDetailsArriveLate(t *testing.T) {
	startShop(t, shopConfig{Extra: "collect email address"})
	simSettings(t, `{"profile_delay":"1500ms","sub_only":true,"strict_userinfo":true}`)
	ref := approved(t, url.Values{"sku": {"socks"}})
	if v := merchantViewOf(t, ref); v.BuyerDetails != "queued" {
		t.Fatalf("details right after authorization: %q, want queued", v.BuyerDetails)
	}
	waitFor(t, "buyer details from the Userinfo API", func() bool { return merchantViewOf(t, ref).BuyerDetails == "stored" })
	v := merchantViewOf(t, ref)
	if v.Buyer == nil || v.Buyer.Email != "ada@example.com" || v.Buyer.PostCode != "0154" || v.Buyer.Name != "" {
		t.Fatalf("buyer: %+v", v.Buyer)
	}
	if simReceiptCount(t, ref) != 1 && !receiptSoon(t, ref) {
		t.Fatal("no receipt")
	}
}

func receiptSoon(t *testing.T, ref string) bool {
	t.Helper()
	waitFor(t, "the receipt", func() bool { return simReceiptCount(t, ref) == 1 })
	return true
}

type simReceipt struct {
	OrderID string `json:"order_id"`
	Receipt struct {
		OrderLines []struct {
			Name        string `json:"name"`
			ID          string `json:"id"`
			TotalAmount int64  `json:"totalAmount"`
			TaxAmount   int64  `json:"totalTaxAmount"`
			IsShipping  bool   `json:"isShipping"`
		} `json:"orderLines"`
	} `json:"receipt"`
}

func simReceiptOf(t *testing.T, ref string) simReceipt {
	t.Helper()
	_, b := do(t, http.MethodGet, simURL+"/_sim/receipts", nil)
	var all []simReceipt
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("decoding receipts: %v: %s", err, b)
	}
	for _, r := range all {
		if r.OrderID == ref {
			return r
		}
	}
	t.Fatalf("no receipt for %s", ref)
	return simReceipt{}
}

const shippingLines = `shipping letter 4900 "Mailbox delivery" vat 25
		shipping home 9900 "Home delivery" default
		shipping pickup 0 "Pick up in the shop"`

// TestExpressShippingChosenInTheApp: with shipping options the buyer picks
// delivery at Vipps; the order, the receipt and the capture all include it.
func TestExpressShippingChosenInTheApp(t *testing.T) {
	startShop(t, shopConfig{Extra: shippingLines})
	ref, landing := checkout(t, twoItems()) // 49700 of goods
	_, page := do(t, http.MethodGet, landing, nil)
	for _, want := range []string{"Mailbox delivery", "Home delivery", "Pick up in the shop", `value="home" checked`, "Information you share"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("landing page lacks %q", want)
		}
	}
	if p := simPaymentOf(t, ref); p.Amount.Value != 49700 {
		t.Fatalf("the create amount must exclude shipping: %d", p.Amount.Value)
	}
	simPost(t, "/_sim/payments/"+ref+"/approve", `{"shipping_option": "letter"}`)
	resp, _ := do(t, http.MethodGet, shopURL+"/vipps/return?reference="+ref, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("return: %d", resp.StatusCode)
	}
	v := merchantViewOf(t, ref)
	if v.Payment.Authorized != 49700+4900 || v.Payment.Amount != 49700+4900 || v.Shipping == nil || v.Shipping.OptionID != "letter" || v.Shipping.Amount != 4900 {
		t.Fatalf("order after approval: %+v shipping %+v", v.Payment, v.Shipping)
	}
	if v.Buyer == nil || v.Buyer.Name != "Ada Lovelace" || len(v.Buyer.Address) == 0 || v.Buyer.City != "Oslo" {
		t.Fatalf("the delivery address is not on the order: %+v", v.Buyer)
	}
	_, conf := do(t, http.MethodGet, shopURL+"/vipps/confirmation?reference="+ref, nil)
	if !strings.Contains(string(conf), `id="shipping"`) || !strings.Contains(string(conf), "Mailbox delivery") || !strings.Contains(string(conf), "NOK\u00a0546.00") {
		t.Errorf("the confirmation page does not show the delivery and the total 546.00")
	}

	waitFor(t, "the receipt", func() bool { return simReceiptCount(t, ref) == 1 })
	rc := simReceiptOf(t, ref)
	var sum int64
	shippingLine := false
	for _, l := range rc.Receipt.OrderLines {
		sum += l.TotalAmount
		if l.IsShipping {
			shippingLine = l.ID == "letter" && l.TotalAmount == 4900 && l.TaxAmount == 980
		}
	}
	if !shippingLine || sum != 49700+4900 {
		t.Fatalf("receipt lines %+v (sum %d)", rc.Receipt.OrderLines, sum)
	}

	// Shipping by lines charges the delivery with the first shipment.
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"lines":[{"sku":"mug","qty":1}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("ship mug: %d %s", resp.StatusCode, body)
	}
	if v := merchantViewOf(t, ref); v.Payment.Captured != 19900+4900 {
		t.Fatalf("first shipment captured %d, want %d", v.Payment.Captured, 19900+4900)
	}
	resp, body = merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", `{"lines":[{"sku":"socks","qty":2}]}`)
	if resp.StatusCode != 200 {
		t.Fatalf("ship socks: %d %s", resp.StatusCode, body)
	}
	v = merchantViewOf(t, ref)
	if v.Status != "captured" || v.Payment.Captured != 49700+4900 || v.Payment.Cancelled != 0 {
		t.Fatalf("after shipping everything: %s %+v", v.Status, v.Payment)
	}
	if got := simPaymentOf(t, ref).Aggregate.CapturedAmount.Value; got != 49700+4900 {
		t.Fatalf("captured at vipps %d", got)
	}
}

// TestExpressShipAllCapturesGoodsAndDelivery: a plain ship takes
// everything reserved, delivery included; the default option applies when
// the buyer does not choose.
func TestExpressShipAllCapturesGoodsAndDelivery(t *testing.T) {
	startShop(t, shopConfig{Extra: shippingLines})
	ref := approved(t, url.Values{"sku": {"book"}})
	v := merchantViewOf(t, ref)
	if v.Shipping == nil || v.Shipping.OptionID != "home" || v.Payment.Authorized != 34900+9900 {
		t.Fatalf("default option: %+v %+v", v.Shipping, v.Payment)
	}
	resp, body := merchant(t, http.MethodPost, "/vipps/orders/"+ref+"/ship", "")
	if resp.StatusCode != 200 {
		t.Fatalf("ship: %d %s", resp.StatusCode, body)
	}
	if got := simPaymentOf(t, ref).Aggregate.CapturedAmount.Value; got != 34900+9900 {
		t.Fatalf("captured %d, want goods and delivery %d", got, 34900+9900)
	}
	waitFor(t, "the receipt", func() bool { return simReceiptCount(t, ref) == 1 })
	for _, l := range simReceiptOf(t, ref).Receipt.OrderLines {
		if l.IsShipping && l.TaxAmount != 0 && l.TotalAmount == 9900 {
			return // the book is 0 % VAT, delivery the standard 25 %
		}
	}
	t.Fatal("the receipt has no taxed shipping line")
}

// TestExpressRefusedBySalesUnit: a sales unit without Express refuses the
// payment (5020); the buyer gets a clear page and the order is failed.
func TestExpressRefusedBySalesUnit(t *testing.T) {
	startShop(t, shopConfig{Extra: shippingLines})
	simSettings(t, `{"express_disabled":true}`)
	resp, body := postForm(t, "/vipps/checkout", url.Values{"sku": {"socks"}})
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "refused") {
		t.Fatalf("checkout with express disabled: %d %s", resp.StatusCode, body)
	}
	orders := listOrders(t, "&status=failed")
	if len(orders) != 1 {
		t.Fatalf("failed orders: %+v", orders)
	}
}

// adminSession signs in to the admin page and returns the session cookie.
func adminSession(t *testing.T) string {
	t.Helper()
	resp, _ := postForm(t, "/vipps/admin/login", url.Values{"token": {adminToken}})
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("login: %d, cookies %+v", resp.StatusCode, cookies)
	}
	return cookies[0].Name + "=" + cookies[0].Value
}

// TestShopInfo: the public description a static page dresses itself from.
func TestShopInfo(t *testing.T) {
	startShop(t, shopConfig{Extra: "currency DKK\n\t\t" + shippingLines})
	resp, body := do(t, http.MethodGet, shopURL+"/vipps/shop.json", nil)
	var info struct {
		Brand    string `json:"brand"`
		Currency string `json:"currency"`
		Products []struct {
			SKU   string `json:"sku"`
			Price int64  `json:"price"`
		} `json:"products"`
		Shipping []struct {
			ID      string `json:"id"`
			Default bool   `json:"default"`
		} `json:"shipping"`
	}
	if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != 200 {
		t.Fatalf("shop.json: %d %s", resp.StatusCode, body)
	}
	if info.Brand != "MobilePay" || info.Currency != "DKK" || len(info.Products) != 3 || info.Products[0].SKU != "socks" ||
		info.Products[0].Price != 14900 || len(info.Shipping) != 3 || !info.Shipping[1].Default {
		t.Fatalf("shop.json: %s", body)
	}
	if strings.Contains(string(body), adminToken) {
		t.Fatal("shop.json leaks the admin token")
	}
}
