package handlers

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// buyerRequest sends a buyer's request in a browser's language.
func (x *shopHarness) buyerRequest(method, path, contentType, body, acceptLanguage string) (*http.Response, []byte) {
	x.t.Helper()
	req, err := http.NewRequest(method, x.url+path, strings.NewReader(body))
	if err != nil {
		x.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Language", acceptLanguage)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		x.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		x.t.Fatal(err)
	}
	return resp, raw
}

// TestShopInfoSpeaksThePagesLanguage: shop.json names the products and
// writes their prices in the language asked for (lang, else the browser's),
// as the built-in pages do, with the pattern for the totals a page adds up.
func TestShopInfoSpeaksThePagesLanguage(t *testing.T) {
	x := newShopHarness(t)
	for _, tc := range []struct {
		query, accept, lang, name, price string
		money                            MoneyFormat
	}{
		{"?lang=nb", "en", "nb", "Ullsokker", "149,00\u00a0kr", MoneyFormat{Suffix: "\u00a0kr", Group: "\u00a0", Decimal: ","}},
		{"", "nb-NO,en;q=0.5", "nb", "Ullsokker", "149,00\u00a0kr", MoneyFormat{Suffix: "\u00a0kr", Group: "\u00a0", Decimal: ","}},
		{"?lang=en", "nb", "en", "Wool socks", "NOK\u00a0149.00", MoneyFormat{Prefix: "NOK\u00a0", Group: ",", Decimal: "."}},
		{"?lang=de", "sv", "sv", "Wool socks", "149,00\u00a0Nkr", MoneyFormat{Suffix: "\u00a0Nkr", Group: "\u00a0", Decimal: ","}},
	} {
		resp, body := x.buyerRequest(http.MethodGet, "/vipps/shop.json"+tc.query, "", "", tc.accept)
		var info ShopInfo
		if err := json.Unmarshal(body, &info); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", tc.query, resp.StatusCode, body)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("shop.json does not vary by Accept-Language: %q", resp.Header.Get("Vary"))
		}
		socks := info.Products[0]
		if info.Language != tc.lang || socks.Name != tc.name || socks.PriceText != tc.price || socks.Price != 14900 || info.Money != tc.money {
			t.Errorf("%s (Accept-Language %s): %+v", tc.query, tc.accept, info)
		}
		if info.Products[1].Name != "Coffee mug" {
			t.Errorf("a product without a name in %s is named %q", tc.lang, info.Products[1].Name)
		}
	}
}

// TestCheckoutNamesLinesInTheBuyersLanguage: the order keeps the buyer's
// language, names its lines in it, and so does the payment's description
// at Vipps; a page's own lang wins over the browser's.
func TestCheckoutNamesLinesInTheBuyersLanguage(t *testing.T) {
	x := newShopHarness(t)
	for _, tc := range []struct {
		name, contentType, body, accept, lang, line, desc string
	}{
		{"json in Norwegian", "application/json", `{"items":[{"sku":"socks","qty":2},{"sku":"mug","qty":1}]}`, "nb", "nb", "Ullsokker", "2 × Ullsokker, 1 × Coffee mug"},
		{"json in English", "application/json", `{"items":[{"sku":"socks","qty":2}]}`, "en-GB", "en", "Wool socks", "2 × Wool socks"},
		{"form with the page's lang", "application/x-www-form-urlencoded", "sku=socks&qty=1&lang=nb", "en", "nb", "Ullsokker", "1 × Ullsokker"},
		{"json lang the pages lack", "application/json", `{"items":[{"sku":"socks","qty":1}],"lang":"de"}`, "nb", "nb", "Ullsokker", "1 × Ullsokker"},
		{"a language without the name", "application/json", `{"items":[{"sku":"socks","qty":1}],"lang":"sv"}`, "nb", "sv", "Wool socks", "1 × Wool socks"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := x.buyerRequest(http.MethodPost, "/vipps/checkout", tc.contentType, tc.body, tc.accept)
			ref := resp.Header.Get("X-Vipps-Reference")
			if ref == "" {
				t.Fatalf("checkout: %d %s", resp.StatusCode, body)
			}
			o := x.order(ref)
			if o.Language != tc.lang || o.Items[0].Name != tc.line || o.Description != tc.desc {
				t.Errorf("order: language %q, line %q, description %q", o.Language, o.Items[0].Name, o.Description)
			}
			if got := x.atVipps(ref).Description; got != tc.desc {
				t.Errorf("payment description at Vipps %q, want %q", got, tc.desc)
			}
		})
	}
}

// TestLinkSpeaksTheBuyersLanguage: a link made of catalog lines shows them,
// and its summary, in the language of the buyer's page, and the order paid
// through it keeps them; a description the merchant wrote stays as written.
func TestLinkSpeaksTheBuyersLanguage(t *testing.T) {
	x := newShopHarness(t)
	pathOf := func(body []byte) string {
		var v LinkView
		if err := json.Unmarshal(body, &v); err != nil || v.URL == "" {
			t.Fatalf("link: %s", body)
		}
		u, err := url.Parse(v.URL)
		if err != nil {
			t.Fatal(err)
		}
		return u.Path
	}
	_, made := x.merchant(http.MethodPost, "/vipps/links", `{"lines":[{"sku":"socks","qty":2}],"reusable":true}`, "")
	link := pathOf(made)
	for _, tc := range []struct{ accept, desc, line string }{
		{"nb", "2 × Ullsokker", "Ullsokker"},
		{"en", "2 × Wool socks", "Wool socks"},
	} {
		resp, body := x.buyerRequest(http.MethodGet, link, "", "", tc.accept)
		var bl BuyerLink
		if err := json.Unmarshal(body, &bl); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("link page: %d %s", resp.StatusCode, body)
		}
		if bl.Description != tc.desc || bl.Items[0].Name != tc.line {
			t.Errorf("link in %s: %+v", tc.accept, bl)
		}
		resp, body = x.buyerRequest(http.MethodPost, link, "application/json", `{}`, tc.accept)
		ref := resp.Header.Get("X-Vipps-Reference")
		if ref == "" {
			t.Fatalf("pay: %d %s", resp.StatusCode, body)
		}
		if o := x.order(ref); o.Language != tc.accept || o.Description != tc.desc || o.Items[0].Name != tc.line || x.atVipps(ref).Description != tc.desc {
			t.Errorf("order paid in %s: %+v", tc.accept, o)
		}
	}
	_, made = x.merchant(http.MethodPost, "/vipps/links", `{"lines":[{"sku":"socks","qty":1}],"description":"Julegave til Kari"}`, "")
	_, body := x.buyerRequest(http.MethodGet, pathOf(made), "", "", "en")
	var bl BuyerLink
	if err := json.Unmarshal(body, &bl); err != nil || bl.Description != "Julegave til Kari" || bl.Items[0].Name != "Wool socks" {
		t.Errorf("a written description: %s", body)
	}
}
