package handlers

import (
	"net/http/httptest"
	"testing"
)

func TestHTMLOnlyForClientsThatAskForIt(t *testing.T) {
	browser := "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	for _, tc := range []struct {
		accept, contentType string
		html, json          bool
	}{
		{"", "", false, false},
		{"*/*", "", false, false},
		{"*/*", "application/x-www-form-urlencoded", false, false},
		{browser, "", true, false},
		{browser, "application/x-www-form-urlencoded", true, false},
		{"text/html", "application/json", false, true},
		{"application/json", "", false, true},
		{"application/problem+json", "", false, true},
		{"application/json, text/html;q=0.5", "", false, true},
		{"text/html, application/json;q=0.5", "", true, false},
		{"text/html;q=0", "", false, false},
		{"text/*", "", false, false},
	} {
		r := httptest.NewRequest("POST", "/vipps/orders/r/ship", nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		if tc.contentType != "" {
			r.Header.Set("Content-Type", tc.contentType)
		}
		if got := wantsHTML(r); got != tc.html {
			t.Errorf("Accept %q, Content-Type %q: wantsHTML %v, want %v", tc.accept, tc.contentType, got, tc.html)
		}
		if got := prefersJSON(r); got != tc.json {
			t.Errorf("Accept %q, Content-Type %q: prefersJSON %v, want %v", tc.accept, tc.contentType, got, tc.json)
		}
	}
}
