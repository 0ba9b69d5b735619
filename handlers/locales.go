package handlers

import (
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
)

// The texts of the built-in pages, one message file per language
// (locales/<code>.json: a flat object of key → text). A text may name
// placeholders in braces, {brand}, {shop}, {amount}, …, filled in when
// the page is drawn. English is the reference: the tests check that every
// file has exactly its keys, with the same placeholders.
//
//go:embed locales/*.json
var localeFS embed.FS

// defaultLanguage is the language of the reference file.
const defaultLanguage = "en"

// messages holds every language's texts, by language code.
var messages = mustLoadMessages()

func mustLoadMessages() map[string]map[string]string {
	m, err := loadMessages()
	if err != nil {
		panic(err)
	}
	return m
}

func loadMessages() (map[string]map[string]string, error) {
	entries, err := localeFS.ReadDir("locales")
	if err != nil {
		return nil, fmt.Errorf("reading the message files: %w", err)
	}
	out := map[string]map[string]string{}
	for _, e := range entries {
		code := strings.TrimSuffix(e.Name(), ".json")
		raw, err := localeFS.ReadFile(path.Join("locales", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading the message file %s: %w", e.Name(), err)
		}
		var texts map[string]string
		if err := json.Unmarshal(raw, &texts); err != nil {
			return nil, fmt.Errorf("message file %s: %w", e.Name(), err)
		}
		out[code] = texts
	}
	if _, ok := out[defaultLanguage]; !ok {
		return nil, fmt.Errorf("no message file for %s", defaultLanguage)
	}
	return out, nil
}

// LanguageCodes lists the languages of the built-in pages, sorted.
func LanguageCodes() []string {
	out := make([]string, 0, len(messages))
	for c := range messages {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
