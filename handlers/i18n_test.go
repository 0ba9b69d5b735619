package handlers

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

var placeholder = regexp.MustCompile(`\{[a-z]+\}`)

// sameInEnglish lists the texts a language writes as English does.
var sameInEnglish = map[string]bool{
	"nb title.join": true, "da title.join": true, "sv title.join": true, "fi title.join": true,
	"nb admin.status": true, "da admin.status": true, "sv admin.status": true,
	"da admin.csv": true, "sv order": true, "sv admin.links.count.one": true, "sv format.date": true, "sv format.datetime": true,
}

// TestMessageFilesAreComplete: one message file per language, each with
// exactly the reference file's keys, no empty text, and the same
// placeholders in every translation of a text.
func TestMessageFilesAreComplete(t *testing.T) {
	if got := LanguageCodes(); !slices.Equal(got, []string{"da", "en", "fi", "nb", "sv"}) {
		t.Fatalf("languages %v, want da, en, fi, nb, sv", got)
	}
	ref := messages[defaultLanguage]
	for _, code := range LanguageCodes() {
		texts := messages[code]
		for key, en := range ref {
			text, ok := texts[key]
			if !ok || strings.TrimSpace(text) == "" {
				t.Errorf("%s.json lacks %q", code, key)
				continue
			}
			want, got := placeholder.FindAllString(en, -1), placeholder.FindAllString(text, -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(slices.Compact(want), slices.Compact(got)) {
				t.Errorf("%s.json %q has placeholders %v, English has %v", code, key, got, want)
			}
		}
		for key := range texts {
			if _, ok := ref[key]; !ok {
				t.Errorf("%s.json has %q, which en.json does not", code, key)
			}
		}
		// A text left in English is an untranslated string, unless the
		// language writes it the same way.
		for key, en := range ref {
			if code != defaultLanguage && texts[key] == en && !sameInEnglish[code+" "+key] {
				t.Errorf("%s.json %q is the English text %q", code, key, en)
			}
		}
		// The date formats are Go layouts: they must write a date.
		at := time.Date(2026, 3, 9, 14, 5, 0, 0, time.UTC)
		for _, key := range []string{"format.date", "format.datetime"} {
			if got := at.Format(texts[key]); !strings.Contains(got, "2026") || !strings.Contains(got, "9") {
				t.Errorf("%s.json %q writes 9 March 2026 as %q", code, key, got)
			}
		}
	}
}

func TestLoadMessagesRefusesABrokenFile(t *testing.T) {
	if _, err := loadMessages(); err != nil {
		t.Fatalf("the embedded message files do not load: %v", err)
	}
}

// TestEveryPageRendersInEveryLanguage renders each built-in page in each
// language and checks that no key or placeholder leaked through, that the
// page names its language and brand, and that every text the page draws
// from is the page language's own.
func TestEveryPageRendersInEveryLanguage(t *testing.T) {
	o := &state.Order{Reference: "demo-abcdefghijklmnopqrst", Currency: "DKK", Amount: 49700, Status: state.StatusAborted,
		Items: []state.Item{{SKU: "socks", Name: "Wool socks", Qty: 2, UnitPrice: 14900}, {SKU: "mug", Name: "Mug", Qty: 1, UnitPrice: 19900}}}
	paid := *o
	paid.Status, paid.Payment = state.StatusPartiallyCaptured, state.Payment{State: "AUTHORIZED", Authorized: 49700, Captured: 14900, Refunded: 4900}
	failed := paid
	failed.Ops = []state.Operation{{ID: "a", Kind: "capture", Status: "failed", ErrorCode: "6090", Amount: 100}, {ID: "b", Kind: "refund", Status: "pending"}}
	styles := regexp.MustCompile(`(?s)<style>.*?</style>`)
	keyLike := regexp.MustCompile(`\b(items|waiting|confirmed|cancelled|error|admin|status|order|format|title|mark|link|kiosk)\.[a-z_.]+\b`)
	h := New(nil, Config{BasePath: "/vipps", ShopName: "Fjord & Fell", LogoURL: "https://cdn.example.com/logo.svg"})
	for _, code := range LanguageCodes() {
		l := newLang(code, BrandFor("auto", "DKK"), "Fjord & Fell", "DKK")
		title, summary := orderSummary(l, &paid)
		confirmation := h.orderPage(l, title, &paid)
		confirmation.Summary = summary
		admin := adminPage{frame: h.frame(l, l.T("admin.title")), Orders: []MerchantOrder{merchantOrder(&failed, &state.Buyer{Name: "Ada Lovelace", Email: "ada@example.com", Address: []string{"Robert Levins gate 5"}, PostCode: "0154", City: "Oslo", Country: "NO"}, time.Now())},
			Notice: l.T("admin.done.ship", "reference", o.Reference, "amount", l.Money(100, "DKK"))}
		admin.Problems, admin.ProblemErrors = []string{l.T("admin.problem.gaveup", "kind", l.T("admin.problem.kind.receipt"), "reference", o.Reference, "n", 25)}, []string{"x"}
		for _, page := range []struct {
			name string
			data any
		}{
			{"waiting", h.orderPage(l, l.T("waiting.title"), o)}, {"confirmation", confirmation}, {"cancelled", h.orderPage(l, l.T("cancelled.title"), o)},
			{"error", errorPage{frame: h.frame(l, l.T("error.phone")), Message: l.T("error.phone.text", "example", "20 12 34 56"), Again: "/cart.html", AgainLabel: l.T("back.cart"), Back: "/", BackLabel: l.T("back")}},
			{"admin", admin}, {"admin_login", adminPage{frame: h.frame(l, l.T("admin.signin"))}},
			{"link", linkPage{frame: h.frame(l, "A custom table"), Order: buyerView(o), Description: "A custom table", ExpiresAt: time.Now(), PayURL: "/vipps/pay/t", Push: true, PhoneExample: "20 12 34 56"}},
			{"link used", linkPage{frame: h.frame(l, "A custom table"), Order: buyerView(o), Description: "A custom table", Closed: l.T("link.used.text")}},
			{"kiosk start", kioskPage{frame: h.frame(l, "A custom table"), Screen: kioskStart, Description: "A custom table", Amount: 100, Currency: "DKK", StartURL: "/s"}},
			{"kiosk qr", kioskPage{frame: h.frame(l, l.T("kiosk.title")), Screen: kioskQR, QR: "https://qr.example/q", Amount: 100, Currency: "DKK", Reference: o.Reference}},
			{"kiosk paid", kioskPage{frame: h.frame(l, l.T("kiosk.title")), Screen: kioskPaid, Amount: 100, Currency: "DKK", StartURL: "/s"}},
			{"kiosk failed", kioskPage{frame: h.frame(l, l.T("kiosk.title")), Screen: kioskFailed, Amount: 100, Currency: "DKK", StartURL: "/s"}},
			{"admin_links", adminLinksPage{frame: h.frame(l, l.T("admin.links")), Currency: "DKK", Lifetime: linkLifetimes,
				Products: []shop.Product{{SKU: "socks", Name: "Wool socks", Price: 14900}}, VAT: []vatChoice{{Value: "25", Label: "25 %", Default: true}},
				Links:   []adminLink{{LinkView: LinkView{ID: "link-a", Status: "busy", Description: "A custom table", Amount: 100, Currency: "DKK", Orders: 3}}},
				Created: &adminLink{LinkView: LinkView{ID: "link-a", URL: "https://shop/pay/t"}}, Notice: l.T("admin.links.disabled", "id", "link-a")}},
			{"admin_confirm", confirmPage{frame: h.frame(l, l.T("admin.confirm.refund.title", "amount", l.Money(100, "DKK"))), Text: l.T("admin.confirm.refund.text", "amount", "1", "reference", "r"), Yes: l.T("admin.confirm.refund.yes", "amount", "1")}},
		} {
			var buf bytes.Buffer
			if err := pages.ExecuteTemplate(&buf, strings.Fields(page.name)[0]+".html", page.data); err != nil {
				t.Fatalf("%s in %s: %v", page.name, code, err)
			}
			html := styles.ReplaceAllString(buf.String(), "")
			if m := keyLike.FindString(html); m != "" {
				t.Errorf("%s in %s shows the key %q", page.name, code, m)
			}
			if !strings.Contains(html, `<html lang="`+code+`" data-brand="mobilepay">`) {
				t.Errorf("%s in %s does not declare its language", page.name, code)
			}
			if m := placeholder.FindString(html); m != "" {
				t.Errorf("%s in %s shows %s", page.name, code, m)
			}
			if !strings.Contains(html, "<title>") || !strings.Contains(html, "Fjord &amp; Fell</title>") {
				t.Errorf("%s in %s: the title does not name the shop", page.name, code)
			}
			if !strings.Contains(html, `id="paymark" data-brand="mobilepay"`) || !strings.Contains(html, `src="https://cdn.example.com/logo.svg"`) {
				t.Errorf("%s in %s lacks the MobilePay mark or the shop's logo", page.name, code)
			}
			if code != defaultLanguage {
				for key, en := range messages[defaultLanguage] {
					text := placeholder.ReplaceAllString(en, "")
					if len(text) > 12 && en != messages[code][key] && strings.Contains(html, text) {
						t.Errorf("%s in %s shows the English text of %q", page.name, code, key)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	l := newLang("da", "MobilePay", "", "DKK")
	_ = pages.ExecuteTemplate(&buf, "waiting.html", h.orderPage(l, l.T("waiting.title"), o))
	if !strings.Contains(buf.String(), "Godkend betalingen i MobilePay-appen") {
		t.Fatalf("the Danish waiting page does not speak of MobilePay:\n%s", buf.String())
	}
}

func TestNegotiateLanguage(t *testing.T) {
	tests := map[string]string{
		"":                        "en",
		"nb-NO,nb;q=0.9,en;q=0.8": "nb",
		"no":                      "nb",
		"nn-NO":                   "nb",
		"da-DK,da;q=0.9":          "da",
		"sv-SE":                   "sv",
		"sv-FI":                   "sv",
		"fi":                      "fi",
		"fi-FI,en;q=0.5":          "fi",
		"de-DE,de;q=0.9":          "en",
		"en;q=0.5,fi;q=0.9":       "fi",
		"xx,sv;q=0.1":             "sv",
		"nb;q=0,en":               "en",
		"en;q=0,nb;q=0.2":         "nb",
		"en-US;q=0,da;q=0.1":      "da",
		"fi;q=0":                  "en",
		"de,*;q=0.5":              "en",
		"en-GB":                   "en",
		"garbage;;;":              "en",
	}
	for accept, want := range tests {
		if got := negotiateLanguage(accept, "en"); got != want {
			t.Errorf("negotiateLanguage(%q) = %s, want %s", accept, got, want)
		}
	}
	if negotiateLanguage("de", "nb") != "nb" || negotiateLanguage("sv;q=0", "da") != "da" {
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

func TestCountsAndDates(t *testing.T) {
	for code, want := range map[string][2]string{
		"en": {"1 day left", "5 days left"}, "nb": {"1 dag igjen", "5 dager igjen"}, "da": {"1 dag tilbage", "5 dage tilbage"},
		"sv": {"1 dag kvar", "5 dagar kvar"}, "fi": {"1 päivä jäljellä", "5 päivää jäljellä"},
	} {
		l := newLang(code, "Vipps", "", "NOK")
		if got := l.Count("admin.daysleft", 1); got != want[0] {
			t.Errorf("%s: one day is %q, want %q", code, got, want[0])
		}
		if got := l.Count("admin.daysleft", 5); got != want[1] {
			t.Errorf("%s: five days are %q, want %q", code, got, want[1])
		}
	}
	// 12:30 UTC on 9 March 2026 is 13:30 in Oslo, Copenhagen and Stockholm
	// and 14:30 in Helsinki.
	at := time.Date(2026, 3, 9, 12, 30, 0, 0, time.UTC)
	for _, tc := range []struct{ code, currency, want string }{
		{"en", "NOK", "2026-03-09 13:30"},
		{"nb", "NOK", "09.03.2026 kl. 13:30"},
		{"da", "DKK", "09.03.2026 kl. 13.30"},
		{"sv", "SEK", "2026-03-09 13:30"},
		{"fi", "EUR", "9.3.2026 klo 14.30"},
	} {
		if got := newLang(tc.code, "Vipps", "", tc.currency).DateTime(at); got != tc.want {
			t.Errorf("%s in a %s shop: %q, want %q", tc.code, tc.currency, got, tc.want)
		}
	}
	if got := newLang("nb", "Vipps", "Fjellbutikken", "NOK").Title("Ordrer"); got != "Ordrer · Fjellbutikken" {
		t.Errorf("title %q", got)
	}
	if got := newLang("nb", "Vipps", "", "NOK").Title("Ordrer"); got != "Ordrer" {
		t.Errorf("title without a shop name %q", got)
	}
}
