package handlers

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Languages of the built-in pages. Each language's texts live in its own
// file (i18n_<code>.go); English is complete by definition and the others
// are checked against it by the tests.
var languages = map[string]map[string]string{
	"en": textsEN,
	"nb": textsNB,
	"da": textsDA,
	"sv": textsSV,
	"fi": textsFI,
}

// LanguageCodes lists the supported languages.
func LanguageCodes() []string {
	out := make([]string, 0, len(languages))
	for c := range languages {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Lang translates the texts of one page.
type Lang struct {
	Code  string
	Brand string
}

// T returns the text for key in the page's language, with {brand} replaced
// by the brand's name. A text missing in a language falls back to English,
// and an unknown key to itself.
func (l *Lang) T(key string) string {
	s, ok := languages[l.Code][key]
	if !ok {
		if s, ok = textsEN[key]; !ok {
			s = key
		}
	}
	return strings.ReplaceAll(s, "{brand}", l.Brand)
}

// Status is the label of an order status.
func (l *Lang) Status(status string) string { return l.T("status." + status) }

// pickLanguage chooses the page language from Accept-Language (q-values
// honoured; Norwegian "no" and "nn" map to bokmål), or the default.
func pickLanguage(accept, fallback string) string {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		switch base {
		case "no", "nn":
			base = "nb"
		}
		if _, ok := languages[base]; ok && q > bestQ {
			best, bestQ = base, q
		}
	}
	if best == "" {
		return fallback
	}
	return best
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

func (h *Handler) lang(r *http.Request) *Lang {
	return &Lang{Code: pickLanguage(r.Header.Get("Accept-Language"), h.cfg.Language), Brand: h.cfg.Brand}
}
