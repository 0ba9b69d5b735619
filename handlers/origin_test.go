package handlers

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestOriginOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://Shop.Example.com":          "https://shop.example.com",
		"https://shop.example.com:443/shop": "https://shop.example.com",
		"http://shop.example.com:80":        "http://shop.example.com",
		"http://localhost:8080/vipps/admin": "http://localhost:8080",
		"https://shop.example.com:8443/":    "https://shop.example.com:8443",
		"http://[::1]:8080/x":               "http://[::1]:8080",
		"http://[::1]/x":                    "http://[::1]",
		"null":                              "",
		"":                                  "",
		"ftp://shop.example.com":            "",
		"/vipps/admin":                      "",
		"http://user:pw@shop.example.com":   "",
	} {
		if got := originOf(in); got != want {
			t.Errorf("originOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCheckOrigin: the one rule for merchant requests a browser may send
// by itself, behind a proxy that rewrites Host and strips /shop.
func TestCheckOrigin(t *testing.T) {
	h := New(nil, Config{BasePath: "/vipps", PublicURL: "https://shop.example.com/shop"})
	for _, tc := range []struct {
		name    string
		host    string
		tls     bool
		headers map[string]string
		ok      bool
	}{
		{"the browser says same-origin", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"the browser says same-origin, whatever Origin", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://other.example"}, true},
		{"cross-site", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example.com"}, false},
		{"same-site", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://shop.example.com"}, false},
		{"none goes on to Origin", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "none", "Origin": "https://evil.example"}, false},
		{"none with the public origin", "backend:8080", false, map[string]string{"Sec-Fetch-Site": "none", "Origin": "https://shop.example.com"}, true},
		{"the public origin behind a proxy that rewrote Host", "backend:8080", false, map[string]string{"Origin": "https://shop.example.com"}, true},
		{"the public origin with its default port", "backend:8080", false, map[string]string{"Origin": "https://shop.example.com:443"}, true},
		{"the public host over http", "backend:8080", false, map[string]string{"Origin": "http://shop.example.com"}, false},
		{"the public host on another port", "backend:8080", false, map[string]string{"Origin": "https://shop.example.com:8443"}, false},
		{"another site", "backend:8080", false, map[string]string{"Origin": "https://evil.example"}, false},
		{"Origin null", "backend:8080", false, map[string]string{"Origin": "null", "Referer": "https://shop.example.com/shop/vipps/admin"}, false},
		{"a Referer of the shop", "backend:8080", false, map[string]string{"Referer": "https://shop.example.com/shop/vipps/admin"}, true},
		{"a Referer of another site", "backend:8080", false, map[string]string{"Referer": "https://evil.example/shop.example.com"}, false},
		{"nothing at all", "backend:8080", false, nil, false},
		{"direct access: the request's own origin", "10.0.0.5:8080", false, map[string]string{"Origin": "http://10.0.0.5:8080"}, true},
		{"direct access over TLS", "admin.example.com", true, map[string]string{"Origin": "https://admin.example.com"}, true},
		{"direct access, another scheme than the connection's", "admin.example.com", true, map[string]string{"Origin": "http://admin.example.com"}, false},
		{"the request's host over https on a plain connection", "backend:8080", false, map[string]string{"Origin": "https://backend:8080"}, false},
	} {
		r := httptest.NewRequest("POST", "http://"+tc.host+"/vipps/admin/action", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		if err := h.checkOrigin(r); (err == nil) != tc.ok {
			t.Errorf("%s: checkOrigin = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestBrowserPathsCarryThePublicPrefix: behind a proxy that strips /shop,
// every address written for a browser starts with it.
func TestBrowserPathsCarryThePublicPrefix(t *testing.T) {
	h := New(nil, Config{BasePath: "/vipps", PublicURL: "https://shop.example.com/shop/"})
	if got := h.path("/admin"); got != "/shop/vipps/admin" {
		t.Errorf("path = %q", got)
	}
	if got := h.absolute(h.payPath("abc")); got != "https://shop.example.com/shop/vipps/pay/abc" {
		t.Errorf("a link's address = %q", got)
	}
	if got := h.cfg.ShopURL; got != "/shop/" {
		t.Errorf("the way back to the shop = %q", got)
	}
	if got := h.frame(h.lang(httptest.NewRequest("GET", "/", nil)), "x").Base; got != "/shop/vipps" {
		t.Errorf("the pages' base = %q", got)
	}
	plain := New(nil, Config{BasePath: "/vipps", PublicURL: "http://localhost:8080"})
	if got, shop := plain.path("/admin"), plain.cfg.ShopURL; got != "/vipps/admin" || shop != "/" {
		t.Errorf("without a prefix: path %q, shop %q", got, shop)
	}
}
