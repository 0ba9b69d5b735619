package handlers

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

func TestEveryLanguageHasEveryText(t *testing.T) {
	if len(languages) != 5 {
		t.Fatalf("%d languages, want en, nb, da, sv, fi", len(languages))
	}
	for code, texts := range languages {
		for key := range textsEN {
			if strings.TrimSpace(texts[key]) == "" {
				t.Errorf("%s lacks %q", code, key)
			}
		}
		for key := range texts {
			if _, ok := textsEN[key]; !ok {
				t.Errorf("%s has %q, which English does not", code, key)
			}
		}
	}
}

// TestEveryPageRendersInEveryLanguage renders each built-in page in each
// language and checks that no key leaked through untranslated (a missing
// text would show its key) and that the page names its language.
func TestEveryPageRendersInEveryLanguage(t *testing.T) {
	o := &state.Order{Reference: "demo-abcdefghijklmnopqrst", Currency: "DKK", Amount: 49700, Status: state.StatusAborted,
		Items: []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900}, {SKU: "mug", Name: "Mug", Qty: 1, UnitPrice: 19900}}}
	styles := regexp.MustCompile(`(?s)<style>.*?</style>`)
	keyLike := regexp.MustCompile(`\b(items|waiting|confirmed|cancelled|error|admin|status)\.[a-z_.]+\b`)
	for _, code := range LanguageCodes() {
		l := &Lang{Code: code, Brand: BrandFor("auto", "DKK")}
		op := orderPage{L: l, Title: l.T("waiting.title"), Order: buyerView(o), ShopURL: "/", StatusURL: "/s", ReturnURL: "/r"}
		admin := adminPage{L: l, Title: l.T("admin.title"), Base: "/vipps", Orders: []MerchantOrder{merchantOrder(o, &state.Buyer{Name: "Ada Lovelace", Email: "ada@example.com", Address: []string{"Robert Levins gate 5"}, PostCode: "0154", City: "Oslo", Country: "NO"}, time.Now())},
			Problems: []BackgroundProblem{{Kind: "receipt", Reference: o.Reference, Error: "x"}}}
		for _, page := range []struct {
			name string
			data any
		}{
			{"waiting", op}, {"confirmation", op}, {"cancelled", op},
			{"error", errorPage{L: l, Title: l.T("error.notfound"), Message: l.T("error.notfound.text"), Back: "/"}},
			{"admin", admin}, {"admin_login", adminPage{L: l, Title: l.T("admin.signin"), Base: "/vipps"}},
		} {
			var buf bytes.Buffer
			if err := pages.ExecuteTemplate(&buf, page.name+".html", page.data); err != nil {
				t.Fatalf("%s in %s: %v", page.name, code, err)
			}
			html := styles.ReplaceAllString(buf.String(), "")
			if m := keyLike.FindString(html); m != "" {
				t.Errorf("%s in %s shows the key %q", page.name, code, m)
			}
			if !strings.Contains(html, `<html lang="`+code+`" data-brand="mobilepay">`) {
				t.Errorf("%s in %s does not declare its language", page.name, code)
			}
			if strings.Contains(html, "{brand}") {
				t.Errorf("%s in %s shows {brand}", page.name, code)
			}
		}
	}
	var buf bytes.Buffer
	l := &Lang{Code: "da", Brand: BrandFor("auto", "DKK")}
	_ = pages.ExecuteTemplate(&buf, "waiting.html", orderPage{L: l, Order: buyerView(o)})
	if !strings.Contains(buf.String(), "Godkend betalingen i MobilePay-appen") {
		t.Fatalf("the Danish waiting page does not speak of MobilePay:\n%s", buf.String())
	}
}

func TestPickLanguage(t *testing.T) {
	tests := map[string]string{
		"":                        "en",
		"nb-NO,nb;q=0.9,en;q=0.8": "nb",
		"no":                      "nb",
		"nn-NO":                   "nb",
		"da-DK,da;q=0.9":          "da",
		"sv-SE":                   "sv",
		"fi":                      "fi",
		"de-DE,de;q=0.9":          "en",
		"en;q=0.5,fi;q=0.9":       "fi",
		"xx,sv;q=0.1":             "sv",
	}
	for accept, want := range tests {
		if got := pickLanguage(accept, "en"); got != want {
			t.Errorf("pickLanguage(%q) = %s, want %s", accept, got, want)
		}
	}
	if pickLanguage("de", "nb") != "nb" {
		t.Error("the configured default is not used")
	}
	for cur, want := range map[string]string{"NOK": "Vipps", "SEK": "Vipps", "DKK": "MobilePay", "EUR": "MobilePay"} {
		if got := BrandFor("auto", cur); got != want {
			t.Errorf("BrandFor(auto, %s) = %s", cur, got)
		}
	}
	if BrandFor("vipps", "DKK") != "Vipps" || BrandFor("mobilepay", "NOK") != "MobilePay" {
		t.Error("an explicit brand is not honoured")
	}
}
