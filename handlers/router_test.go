package handlers

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestUnknownPathsAndMethods(t *testing.T) {
	h := New(nil, Config{BasePath: "/vipps"})
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodGet, "/vipps/checkout", 405, "POST"},
		{http.MethodPut, "/vipps/webhook", 405, "POST"},
		{http.MethodPost, "/vipps/return", 405, "GET"},
		{http.MethodGet, "/vipps/nothing-here", 404, ""},
		{http.MethodDelete, "/vipps/orders/abc/ship", 405, "POST"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Accept", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || rec.Header().Get("Allow") != tc.allow || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d allow %q type %q", tc.method, tc.path, rec.Code, rec.Header().Get("Allow"), rec.Header().Get("Content-Type"))
		}
	}
	if !h.Owns("/vipps") || !h.Owns("/vipps/x") || h.Owns("/vippsx") || h.Owns("/") {
		t.Error("Owns is wrong")
	}
}
