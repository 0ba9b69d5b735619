package handlers

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// moneyStyle is how one language writes amounts: its digits and grouping
// (x/text's CLDR data), its decimal separator, and whether the currency
// comes first (English: "NOK 349.00", "€349.00") or last (the Nordic
// languages: "349,00 kr", "349,00 kr.", "349,00 €").
type moneyStyle struct {
	printer     *message.Printer
	decimal     string
	symbolFirst bool
}

var moneyStyles = map[string]moneyStyle{}

func init() {
	for _, code := range LanguageCodes() {
		p := message.NewPrinter(language.MustParse(code))
		// The separator as x/text writes it for this language: 1.5 is
		// exact in binary, so no rounding can change the digits around it.
		dec := strings.Trim(p.Sprint(number.Decimal(1.5, number.Scale(1))), "15")
		moneyStyles[code] = moneyStyle{printer: p, decimal: dec, symbolFirst: code == "en"}
	}
}

// FormatMoney writes an amount in minor units for people reading lang:
// 34900 NOK is "349,00 kr" in Norwegian, "NOK 349.00" in English, 34900 DKK
// "349,00 kr." in Danish and 34900 EUR "349,00 €" in Finnish. The currency's
// symbol is the one CLDR gives for that language (a Norwegian reads a
// Danish price as "349,00 DKK"). The digits are computed from the integer,
// never through a float. The spaces are no-break spaces, so an amount is
// never split across lines.
func FormatMoney(minor int64, cur, lang string) string {
	style, ok := moneyStyles[lang]
	if !ok {
		style = moneyStyles[defaultLanguage]
	}
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	frac := strconv.FormatInt(minor%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	digits := style.printer.Sprint(number.Decimal(minor/100)) + style.decimal + frac
	sym := cur
	if unit, err := currency.ParseISO(cur); err == nil {
		sym = style.printer.Sprint(currency.Symbol(unit))
	}
	const nbsp = "\u00a0"
	if !style.symbolFirst {
		return sign + digits + nbsp + sym
	}
	if r := []rune(sym); len(r) > 0 && unicode.IsLetter(r[len(r)-1]) {
		return sign + sym + nbsp + digits
	}
	return sign + sym + digits
}

// CurrencyUnit is the short name of a currency's main unit as lang writes
// it after a number: "kr" for NOK in Norwegian, "€" for EUR, "NOK" in
// English. The admin page labels its amount fields with it.
func CurrencyUnit(cur, lang string) string {
	style, ok := moneyStyles[lang]
	if !ok {
		style = moneyStyles[defaultLanguage]
	}
	unit, err := currency.ParseISO(cur)
	if err != nil {
		return cur
	}
	return style.printer.Sprint(currency.Symbol(unit))
}

// MoneyFormat is how a language writes amounts of a currency, for a page's
// script that adds up a cart: an amount in minor units is Prefix, the whole
// units in groups of three digits joined by Group, Decimal, the two digits
// of the minor units, and Suffix. It is read off FormatMoney, so a page
// that follows it writes every amount as the built-in pages do.
type MoneyFormat struct {
	Prefix  string `json:"prefix"`
	Suffix  string `json:"suffix"`
	Group   string `json:"group"`
	Decimal string `json:"decimal"`
}

// MoneyFormatOf is the MoneyFormat of currency cur in language lang.
func MoneyFormatOf(cur, lang string) MoneyFormat {
	// 1234567.89: the digits 1 to 9 once each, so every separator and
	// the text around the digits is found by where the digits are.
	s := FormatMoney(123456789, cur, lang)
	first, last := strings.IndexByte(s, '1'), strings.LastIndexByte(s, '9')
	digits := s[first : last+1]
	return MoneyFormat{
		Prefix:  s[:first],
		Suffix:  s[last+1:],
		Group:   digits[strings.IndexByte(digits, '1')+1 : strings.IndexByte(digits, '2')],
		Decimal: digits[strings.IndexByte(digits, '7')+1 : strings.IndexByte(digits, '8')],
	}
}
