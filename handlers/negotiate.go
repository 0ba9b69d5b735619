package handlers

import (
	"sort"
	"strings"

	"golang.org/x/text/language"
)

// languageMatcher matches a browser's languages against the languages of
// the built-in pages. Bokmål is "nb": x/text then also takes "no" and
// Nynorsk ("nn") to it.
var languageMatcher, matcherCodes = newLanguageMatcher()

func newLanguageMatcher() (language.Matcher, []string) {
	codes := LanguageCodes()
	tags := make([]language.Tag, len(codes))
	for i, c := range codes {
		tags[i] = language.MustParse(c)
	}
	return language.NewMatcher(tags), codes
}

// negotiateLanguage picks the page language from an Accept-Language header
// with x/text's matcher: q-values are honoured, a language with q=0 is
// never picked, and a language the pages do not have falls to the next one
// the browser names. When none fits, it is fallback.
func negotiateLanguage(accept, fallback string) string {
	tags := acceptedTags(accept)
	if len(tags) == 0 {
		return fallback
	}
	_, i, conf := languageMatcher.Match(tags...)
	if conf == language.No {
		return fallback
	}
	return matcherCodes[i]
}

// acceptedTags reads an Accept-Language header into tags, best first, q=0
// left out. x/text refuses a whole header for one tag it does not know, so
// a header it refuses is read again part by part, keeping the parts it
// understands.
func acceptedTags(accept string) []language.Tag {
	if tags, _, err := language.ParseAcceptLanguage(accept); err == nil {
		return tags
	}
	type weighted struct {
		tag language.Tag
		q   float32
	}
	var parts []weighted
	for _, part := range strings.Split(accept, ",") {
		tags, qs, err := language.ParseAcceptLanguage(part)
		if err != nil || len(tags) != 1 {
			continue
		}
		parts = append(parts, weighted{tags[0], qs[0]})
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].q > parts[j].q })
	out := make([]language.Tag, len(parts))
	for i, p := range parts {
		out[i] = p.tag
	}
	return out
}
