package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-vipps/caddy-vipps/internal/readme"
)

// staffRecipe is the README's basic_auth recipe for the merchant
// endpoints, with the user staff (password staff-password).
func staffRecipe(t *testing.T) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("staff-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	recipe, err := readme.StaffRecipe("../README.md", string(hash))
	if err != nil {
		t.Fatal(err)
	}
	return recipe
}

// basicAuth is the Authorization header of a Basic sign-in.
func basicAuth(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

// TestMerchantActionsProveWhereTheyComeFrom: the README's basic_auth
// recipe, and every request a page on another site could make the staff's
// browser send with its cached Basic credentials: none moves money, makes
// a link or forgets a buyer; the same actions from the shop's own pages
// (Sec-Fetch-Site, Origin or Referer of the shop) and from a script with
// the admin token work. The recipe covers every merchant path, and leaves
// the buyer's view of an order open.
func TestMerchantActionsProveWhereTheyComeFrom(t *testing.T) {
	startShop(t, shopConfig{Site: staffRecipe(t), Extra: "admin_users staff"})
	ref := approved(t, twoItems()) // 49700
	staff := basicAuth("staff", "staff-password")
	const evil = "http://evil.example"
	post := func(path, contentType, body string, headers ...string) (*http.Response, string) {
		t.Helper()
		var r *strings.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		h := append([]string{"Authorization", staff, "Accept", "application/json"}, headers...)
		if contentType != "" {
			h = append(h, "Content-Type", contentType)
		}
		var resp *http.Response
		var b []byte
		if r == nil {
			resp, b = do(t, http.MethodPost, shopURL+path, nil, h...)
		} else {
			resp, b = do(t, http.MethodPost, shopURL+path, r, h...)
		}
		return resp, string(b)
	}
	moved := func(when string, captured, refunded int64) {
		t.Helper()
		p := simPaymentOf(t, ref)
		if p.Aggregate.CapturedAmount.Value != captured || p.Aggregate.RefundedAmount.Value != refunded {
			t.Fatalf("%s: Vipps shows %d captured and %d refunded, want %d and %d", when, p.Aggregate.CapturedAmount.Value, p.Aggregate.RefundedAmount.Value, captured, refunded)
		}
		if o := storedOrder(t, ref); o.Payment.Captured != captured || o.Payment.Refunded != refunded {
			t.Fatalf("%s: the shop shows %d captured and %d refunded, want %d and %d", when, o.Payment.Captured, o.Payment.Refunded, captured, refunded)
		}
	}

	// An empty form-encoded ship: from another site refused, from the
	// shop's own origin not a merchant body.
	for _, tc := range []struct {
		name    string
		status  int
		headers []string
	}{
		{"another site's form", http.StatusForbidden, []string{"Origin", evil, "Sec-Fetch-Site", "cross-site"}},
		{"another site's form, without fetch metadata", http.StatusForbidden, []string{"Origin", evil}},
		{"the shop's origin, but a form", http.StatusUnsupportedMediaType, []string{"Origin", shopURL}},
	} {
		if resp, body := post("/vipps/orders/"+ref+"/ship", "application/x-www-form-urlencoded", "", tc.headers...); resp.StatusCode != tc.status {
			t.Errorf("empty form-encoded ship, %s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
	moved("after the refused ships", 0, 0)
	if resp, body := post("/vipps/orders/"+ref+"/ship", "application/json", "", "Origin", shopURL); resp.StatusCode != http.StatusOK {
		t.Fatalf("staff ship from the shop's origin: %d %s", resp.StatusCode, body)
	}
	moved("after the ship", 49700, 0)

	// A refund with an empty body would refund everything.
	for _, tc := range []struct {
		name        string
		contentType string
		status      int
		headers     []string
	}{
		{"text/plain from another site", "text/plain", http.StatusForbidden, []string{"Origin", evil, "Sec-Fetch-Site", "cross-site"}},
		{"text/plain from another site, without fetch metadata", "text/plain", http.StatusForbidden, []string{"Origin", evil}},
		{"text/plain naming no origin", "text/plain", http.StatusForbidden, nil},
		{"Origin null", "text/plain", http.StatusForbidden, []string{"Origin", "null"}},
		{"a Referer of another site", "text/plain", http.StatusForbidden, []string{"Referer", evil + "/page.html"}},
		{"the shop's host over another scheme", "text/plain", http.StatusForbidden, []string{"Origin", "https://localhost:9080"}},
		{"the shop's host on another port", "text/plain", http.StatusForbidden, []string{"Origin", "http://localhost:9081"}},
		{"same-site, not same-origin", "application/json", http.StatusForbidden, []string{"Origin", shopURL, "Sec-Fetch-Site", "same-site"}},
		{"text/plain from the shop's origin", "text/plain", http.StatusUnsupportedMediaType, []string{"Origin", shopURL}},
		{"no Content-Type without the token", "", http.StatusUnsupportedMediaType, []string{"Origin", shopURL}},
	} {
		resp, body := post("/vipps/orders/"+ref+"/refund", tc.contentType, "", tc.headers...)
		if resp.StatusCode != tc.status {
			t.Errorf("empty refund, %s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.status)
		}
	}
	// The admin page's refund, confirmed, as another site's page would
	// post it.
	confirm := url.Values{"reference": {ref}, "op": {"refund"}, "key": {"evil-key"}, "expect": {"49700"}, "confirm": {"yes"}}
	for _, headers := range [][]string{{"Origin", evil, "Sec-Fetch-Site", "cross-site"}, {"Origin", evil}, {"Referer", evil + "/"}, nil} {
		resp, body := post("/vipps/admin/action", "application/x-www-form-urlencoded", confirm.Encode(), append(headers, "Accept", "text/html")...)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not come from the shop") {
			t.Errorf("the admin page's refund posted with %v: %d\n%s", headers, resp.StatusCode, body)
		}
	}
	if resp, body := post("/vipps/admin/action", "text/plain", confirm.Encode(), "Origin", shopURL); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("the admin page's refund as text/plain: %d %s", resp.StatusCode, body)
	}
	moved("after the refused refunds", 49700, 0)

	// A link made, a buyer forgotten: from another site, neither.
	link := url.Values{"op": {"create"}, "kind": {"amount"}, "amount": {"100"}, "vat": {"25"}, "description": {"Gift card"}, "days": {"7"}}
	if resp, body := post("/vipps/admin/links", "application/x-www-form-urlencoded", link.Encode(), "Origin", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a link from another site's form: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("/vipps/links", "application/json", `{"amount":10000,"description":"Gift card","vat":25}`, "Origin", evil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a link through the API from another site: %d %s", resp.StatusCode, body)
	}
	if _, b := merchant(t, http.MethodGet, "/vipps/links", ""); strings.Contains(string(b), `"id"`) {
		t.Errorf("a link was made: %s", b)
	}
	resp, _ := do(t, http.MethodDelete, shopURL+"/vipps/orders/"+ref+"/buyer", nil, "Accept", "application/json")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("DELETE …/buyer without credentials: %d %q, want basic_auth's 401", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, body := do(t, http.MethodDelete, shopURL+"/vipps/orders/"+ref+"/buyer", nil, "Authorization", staff, "Origin", evil, "Accept", "application/json")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE …/buyer from another site: %d %s", resp.StatusCode, body)
	}

	// The order's view: the buyer's to anyone, the merchant's to staff.
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil, "Accept", "application/json")
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"operations"`) {
		t.Errorf("the buyer's view: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil, "Accept", "application/json", "Authorization", staff)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"operations"`) {
		t.Errorf("the staff's view: %d %s", resp.StatusCode, body)
	}
	if resp, _ := do(t, http.MethodGet, shopURL+"/vipps/orders/"+ref, nil, "Accept", "application/json", "Authorization", basicAuth("staff", "wrong")); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the order's view with a wrong password: %d", resp.StatusCode)
	}

	// From the shop's own pages it works: the browser's fetch metadata,
	// or a Referer of the shop.
	if resp, body := post("/vipps/orders/"+ref+"/refund", "application/json", `{"amount":100}`, "Sec-Fetch-Site", "same-origin"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refund the browser says is same-origin: %d %s", resp.StatusCode, body)
	}
	if resp, body := post("/vipps/orders/"+ref+"/refund", "application/json", `{"amount":100}`, "Referer", shopURL+"/vipps/admin"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refund with the admin page as Referer: %d %s", resp.StatusCode, body)
	}
	moved("after two refunds from the shop's pages", 49700, 200)

	// A script with the admin token is exempt, and may send its empty
	// body without a type; but a type it sends must be JSON.
	resp, body = do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/refund", nil, "Authorization", "Bearer "+adminToken, "Content-Type", "text/plain", "Accept", "application/json")
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("an empty text/plain refund with the token: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/refund", nil, "Authorization", "Bearer "+adminToken, "Origin", evil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("an empty refund with the token: %d %s", resp.StatusCode, body)
	}
	moved("after the token's refund of the rest", 49700, 49700)
}

// TestAdminSessionEndsAtSignOut: the admin page's session cookie acts
// only from the shop's own origin (scheme included), and Sign out ends it
// (and every other session of the shop), so a copied cookie is worthless
// after it.
func TestAdminSessionEndsAtSignOut(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, twoItems())
	login := func() string {
		t.Helper()
		resp, _ := postForm(t, "/vipps/admin/login", url.Values{"token": {adminToken}})
		c := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(c) != 1 || c[0].Path != "/vipps" {
			t.Fatalf("sign in: %d %+v", resp.StatusCode, c)
		}
		return c[0].Name + "=" + c[0].Value
	}
	signedIn := func(cookie string) bool {
		t.Helper()
		_, body := do(t, http.MethodGet, shopURL+"/vipps/admin", nil, "Cookie", cookie, "Accept", "text/html")
		return strings.Contains(string(body), `data-reference="`+ref+`"`)
	}
	ship := url.Values{"reference": {ref}, "op": {"ship"}}
	first, second := login(), login()
	if !signedIn(first) || !signedIn(second) {
		t.Fatal("the sessions do not show the admin page")
	}
	resp, _ := do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(ship.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", first, "Origin", "https://localhost:9080")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a post with the session from the shop's host over https (the shop is http): %d", resp.StatusCode)
	}
	if o := storedOrder(t, ref); o.Payment.Captured != 0 {
		t.Fatalf("the post from another scheme shipped: %+v", o.Payment)
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/logout", nil, "Cookie", first, "Origin", "http://evil.example")
	if resp.StatusCode != http.StatusForbidden || !signedIn(first) {
		t.Fatalf("sign-out from another site: %d", resp.StatusCode)
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/logout", nil, "Cookie", first, "Origin", shopURL)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("sign out: %d %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	if signedIn(first) || signedIn(second) {
		t.Fatalf("after sign-out the old cookies still show the admin page (first %v, second %v)", signedIn(first), signedIn(second))
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(ship.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", first, "Origin", shopURL)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a post with the signed-out cookie: %d", resp.StatusCode)
	}
	if o := storedOrder(t, ref); o.Payment.Captured != 0 {
		t.Fatalf("the signed-out cookie shipped: %+v", o.Payment)
	}
	third := login()
	if !signedIn(third) {
		t.Fatal("a new sign-in after sign-out does not work")
	}
	resp, _ = do(t, http.MethodPost, shopURL+"/vipps/admin/action", strings.NewReader(ship.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", third, "Origin", shopURL)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=capture") {
		t.Fatalf("ship with the new session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
