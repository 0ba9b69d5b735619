package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// TestFormatMoneyInEveryLanguageAndCurrency: each of the 20 pairs, as a
// reader of that language expects; the spaces are no-break spaces.
func TestFormatMoneyInEveryLanguageAndCurrency(t *testing.T) {
	want := map[string]map[string]string{
		"en": {"NOK": "NOK 1,349.50", "DKK": "DKK 1,349.50", "SEK": "SEK 1,349.50", "EUR": "€1,349.50"},
		"nb": {"NOK": "1 349,50 kr", "DKK": "1 349,50 DKK", "SEK": "1 349,50 SEK", "EUR": "1 349,50 €"},
		"da": {"NOK": "1.349,50 NOK", "DKK": "1.349,50 kr.", "SEK": "1.349,50 SEK", "EUR": "1.349,50 €"},
		"sv": {"NOK": "1 349,50 Nkr", "DKK": "1 349,50 Dkr", "SEK": "1 349,50 kr", "EUR": "1 349,50 €"},
		"fi": {"NOK": "1 349,50 NOK", "DKK": "1 349,50 DKK", "SEK": "1 349,50 SEK", "EUR": "1 349,50 €"},
	}
	for lang, byCurrency := range want {
		for cur, w := range byCurrency {
			got := strings.ReplaceAll(FormatMoney(134950, cur, lang), "\u00a0", " ")
			if got != w {
				t.Errorf("FormatMoney(134950, %s, %s) = %q, want %q", cur, lang, got, w)
			}
			if raw := FormatMoney(134950, cur, lang); strings.Contains(raw, " ") {
				t.Errorf("FormatMoney(134950, %s, %s) = %q has a breaking space", cur, lang, raw)
			}
		}
	}
	for _, tc := range []struct {
		minor     int64
		cur, lang string
		want      string
	}{
		{34900, "NOK", "nb", "349,00 kr"},
		{34900, "DKK", "da", "349,00 kr."},
		{34900, "EUR", "fi", "349,00 €"},
		{34900, "SEK", "sv", "349,00 kr"},
		{34900, "NOK", "en", "NOK 349.00"},
		{0, "NOK", "nb", "0,00 kr"},
		{5, "EUR", "en", "€0.05"},
		{-4900, "NOK", "nb", "-49,00 kr"},
		{65000000, "NOK", "nb", "650 000,00 kr"},
		{123456789012, "DKK", "da", "1.234.567.890,12 kr."},
		{34900, "XYZ", "nb", "349,00 XYZ"},
		{34900, "NOK", "de", "NOK 349.00"},
	} {
		if got := strings.ReplaceAll(FormatMoney(tc.minor, tc.cur, tc.lang), "\u00a0", " "); got != tc.want {
			t.Errorf("FormatMoney(%d, %s, %s) = %q, want %q", tc.minor, tc.cur, tc.lang, got, tc.want)
		}
	}
	if got := CurrencyUnit("NOK", "nb"); got != "kr" {
		t.Errorf("the krone in Norwegian is %q", got)
	}
}

// TestMoneyFormatWritesWhatFormatMoneyWrites: a page that writes amounts
// by the MoneyFormat it is given (as the demo's shop.js does, written out
// here the same way) writes exactly FormatMoney's text, in every language
// and currency, for amounts with and without groups of thousands.
func TestMoneyFormatWritesWhatFormatMoneyWrites(t *testing.T) {
	byPattern := func(f MoneyFormat, minor int64) string {
		whole := strconv.FormatInt(minor/100, 10)
		var groups []string
		for len(whole) > 3 {
			groups = append([]string{whole[len(whole)-3:]}, groups...)
			whole = whole[:len(whole)-3]
		}
		groups = append([]string{whole}, groups...)
		return f.Prefix + strings.Join(groups, f.Group) + f.Decimal + fmt.Sprintf("%02d", minor%100) + f.Suffix
	}
	for _, lang := range LanguageCodes() {
		for _, cur := range shop.Currencies {
			f := MoneyFormatOf(cur, lang)
			for _, minor := range []int64{0, 5, 14900, 99999, 100000, 134950, 3455100, 65000000, 123456789012} {
				if got, want := byPattern(f, minor), FormatMoney(minor, cur, lang); got != want {
					t.Errorf("%s %s %d: the pattern %+v writes %q, FormatMoney %q", lang, cur, minor, f, got, want)
				}
			}
		}
	}
	if f := MoneyFormatOf("NOK", "en"); f != (MoneyFormat{Prefix: "NOK\u00a0", Group: ",", Decimal: "."}) {
		t.Errorf("English NOK: %+v", f)
	}
	if f := MoneyFormatOf("NOK", "nb"); f != (MoneyFormat{Suffix: "\u00a0kr", Group: "\u00a0", Decimal: ","}) {
		t.Errorf("Norwegian NOK: %+v", f)
	}
}

func TestParseAmount(t *testing.T) {
	good := map[string]int64{
		"100": 10000, "100,50": 10050, "100.50": 10050, "1 000,50": 100050, "1\u00a0000,50": 100050, "1\u202f000.5": 100050,
		"0,5": 50, ",5": 50, "0.01": 1, " 349 ": 34900, "349,00": 34900, "007": 700,
	}
	for in, want := range good {
		if got, err := ParseAmount(in, 65000000); err != nil || got != want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "0", "0,00", "100,505", "1.000,50", "1,000.50", "100.", "100,", "-5", "+5", "1e3", "abc", "10kr", "kr 10",
		"100,5,0", "1,2.3", "1 00,50", "10 0", "1000 000", " , 50", "NaN", "650001", "99999999999999999999"} {
		if got, err := ParseAmount(in, 65000000); err == nil {
			t.Errorf("ParseAmount(%q) = %d, want an error", in, got)
		}
	}
}
