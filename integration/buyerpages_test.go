package integration

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBuyerErrorsSpeakTheBuyersLanguage: a Norwegian buyer who mistypes
// reads what went wrong in Norwegian, without field names or codes, and
// is led back to the cart; a Norwegian number written the Norwegian way is
// no mistake at all.
func TestBuyerErrorsSpeakTheBuyersLanguage(t *testing.T) {
	startShop(t, shopConfig{Extra: "shop_name \"Fjellbutikken\""})
	browser := []string{"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html,*/*;q=0.8",
		"Accept-Language", "nb-NO,nb;q=0.9,en;q=0.5", "Referer", shopURL + "/cart.html"}
	for _, tc := range []struct {
		name, form string
		says       []string
	}{
		{"phone", "sku=socks&qty=1&phone=912+34", []string{"Sjekk mobilnummeret", "912 34 567"}},
		{"unknown product", "sku=nope&qty=1", []string{"En vare selges ikke lenger"}},
		{"quantity", "sku=socks&qty=0", []string{"Sjekk antallet", "fra 1 til 999"}},
		{"empty cart", "", []string{"Handlekurven er tom"}},
	} {
		resp, body := do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader(tc.form), browser...)
		page := string(body)
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%s: %d %s", tc.name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, s := range tc.says {
			if !strings.Contains(page, s) {
				t.Errorf("%s: the page does not say %q:\n%s", tc.name, s, page)
			}
		}
		_, main, _ := strings.Cut(page, "<main>")
		for _, s := range []string{"phone:", "sku:", "qty:", "nope", "Invalid", "unknown product", "must be", "code"} {
			if strings.Contains(main, s) {
				t.Errorf("%s: the page says %q:\n%s", tc.name, s, page)
			}
		}
		if !strings.Contains(page, `href="/cart.html" id="again">Tilbake til handlekurven</a>`) || !strings.Contains(page, "· Fjellbutikken</title>") {
			t.Errorf("%s: no way back to the cart, or no shop name:\n%s", tc.name, page)
		}
	}
	// The same mistakes from a script are problem+json, exact and in English.
	resp, body := do(t, http.MethodPost, shopURL+"/vipps/checkout", strings.NewReader("sku=nope&qty=1"), "Content-Type", "application/x-www-form-urlencoded")
	var p struct{ Detail, Field string }
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(body, &p) != nil || p.Field != "sku" || !strings.Contains(p.Detail, `unknown product "nope"`) {
		t.Fatalf("script: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	// Norwegian numbers as Norwegians write them all reach Vipps as 47….
	for _, phone := range []string{"+47 912 34 567", "0047 912 34 567", "912 34 567", "91234567"} {
		ref, _ := checkout(t, url.Values{"sku": {"socks"}, "phone": {phone}})
		resp, body := merchant(t, http.MethodGet, "/vipps/orders/"+ref, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"phone": "4791234567"`) {
			t.Errorf("phone %q: %s", phone, body)
		}
	}
}

// TestAPIAnswersAreJSONUnlessHTMLIsAsked: the README's curl ship, sent
// twice, answers JSON both times (the second a 409 problem); a browser
// asking for HTML gets the page.
func TestAPIAnswersAreJSONUnlessHTMLIsAsked(t *testing.T) {
	startShop(t, shopConfig{})
	ref := approved(t, url.Values{"sku": {"socks"}})
	for i, want := range []int{http.StatusOK, http.StatusConflict} {
		resp, body := do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", nil, "Authorization", "Bearer "+adminToken, "Accept", "*/*")
		ct := resp.Header.Get("Content-Type")
		if resp.StatusCode != want || !strings.HasPrefix(ct, "application/") || !json.Valid(body) {
			t.Fatalf("ship #%d: %d %s %s", i+1, resp.StatusCode, ct, body)
		}
	}
	resp, body := do(t, http.MethodPost, shopURL+"/vipps/orders/"+ref+"/ship", nil, "Authorization", "Bearer "+adminToken)
	if resp.StatusCode != http.StatusConflict || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("ship without Accept: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, _ = do(t, http.MethodGet, shopURL+"/vipps/nothing", nil, "Accept", "text/html")
	if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("a browser's 404: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
