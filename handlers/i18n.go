package handlers

import (
	"fmt"
	"net/http"
	"strings"
	"time"
	// The pages show times in the market's zone, also on a machine without
	// a time zone database.
	_ "time/tzdata"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// Lang is one page's language: it translates the page's texts, and writes
// its amounts, dates and counts as that language does.
type Lang struct {
	// Code is the language: en, nb, da, sv or fi.
	Code string
	// Brand is the payment brand named on the page: Vipps or MobilePay.
	Brand string
	// Shop is the shop's name, empty when it has none.
	Shop string

	texts map[string]string
	zone  *time.Location
}

// newLang makes the Lang of a page in language code for a shop selling in
// currency.
func newLang(code, brand, shopName, currency string) *Lang {
	texts, ok := messages[code]
	if !ok {
		code, texts = defaultLanguage, messages[defaultLanguage]
	}
	zone, err := shop.MarketOf(currency).Zone()
	if err != nil {
		zone = time.UTC
	}
	return &Lang{Code: code, Brand: brand, Shop: shopName, texts: texts, zone: zone}
}

// T returns the text of key, with {brand} and {shop} filled in, and the
// other placeholders from args, given as name, value, name, value, ….
// A text missing in the language falls back to English, and an unknown key
// to itself (the tests make sure neither happens).
func (l *Lang) T(key string, args ...any) string {
	s, ok := l.texts[key]
	if !ok {
		if s, ok = messages[defaultLanguage][key]; !ok {
			return key
		}
	}
	pairs := []string{"{brand}", l.Brand, "{shop}", l.Shop}
	for i := 0; i+1 < len(args); i += 2 {
		v := args[i+1]
		if m, ok := v.(moneyArg); ok {
			v = l.Money(m.minor, m.currency)
		}
		pairs = append(pairs, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(v))
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

// Status is the word for an order status, e.g. "reserved" for authorized.
func (l *Lang) Status(status string) string { return l.T("status." + status) }

// Money writes an amount in minor units, e.g. "349,00 kr" in Norwegian.
func (l *Lang) Money(minor int64, currency string) string {
	return FormatMoney(minor, currency, l.Code)
}

// Unit is the currency's main unit as the language writes it ("kr", "€").
func (l *Lang) Unit(currency string) string { return CurrencyUnit(currency, l.Code) }

// Count picks the plural form of key for n (key.one or key.other, by the
// language's CLDR plural rules) and fills in {n}.
func (l *Lang) Count(key string, n int) string {
	form := ".other"
	abs := n
	if abs < 0 {
		abs = -abs
	}
	if plural.Cardinal.MatchPlural(language.MustParse(l.Code), abs, 0, 0, 0, 0) == plural.One {
		form = ".one"
	}
	return l.T(key+form, "n", n)
}

// DateTime writes a moment as the language does, in the market's zone.
func (l *Lang) DateTime(t time.Time) string { return t.In(l.zone).Format(l.T("format.datetime")) }

// Date writes a day as the language does, in the market's zone.
func (l *Lang) Date(t time.Time) string { return t.In(l.zone).Format(l.T("format.date")) }

// Title is a page's title followed by the shop's name, when it has one.
func (l *Lang) Title(page string) string {
	if l.Shop == "" {
		return page
	}
	return l.T("title.join", "page", page)
}

// BrandFor picks the brand shown to buyers: Vipps in Norway and Sweden (NOK,
// SEK), MobilePay in Denmark and Finland (DKK, EUR).
func BrandFor(brand, currency string) string {
	switch strings.ToLower(brand) {
	case "vipps":
		return "Vipps"
	case "mobilepay":
		return "MobilePay"
	}
	if currency == "DKK" || currency == "EUR" {
		return "MobilePay"
	}
	return "Vipps"
}

// buyerLanguage is the language a buyer's request is served in: asked when
// the pages have it (a static page's own choice, sent as "lang"),
// otherwise the browser's language as lang negotiates it.
func (h *Handler) buyerLanguage(r *http.Request, asked string) string {
	if _, ok := messages[asked]; ok {
		return asked
	}
	return negotiateLanguage(r.Header.Get("Accept-Language"), h.cfg.Language)
}

// lang is the Lang of a request: the browser's language if the pages have
// it, otherwise the shop's.
func (h *Handler) lang(r *http.Request) *Lang {
	return newLang(negotiateLanguage(r.Header.Get("Accept-Language"), h.cfg.Language), h.cfg.Brand, h.cfg.ShopName, h.currency)
}
