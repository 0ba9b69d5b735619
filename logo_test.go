package caddyvipps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// TestLogoFileOrURL: a logo given as a file is read when the config loads
// (and only an image is taken); one given as a URL is used as it is.
func TestLogoFileOrURL(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "logo.svg")
	png := filepath.Join(dir, "logo.png")
	txt := filepath.Join(dir, "logo.txt")
	big := filepath.Join(dir, "big.svg")
	_ = os.WriteFile(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>`), 0o644)
	_ = os.WriteFile(png, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...), 0o644)
	_ = os.WriteFile(txt, []byte("hello"), 0o644)
	_ = os.WriteFile(big, []byte("<svg>"+strings.Repeat(" ", 600<<10)+"</svg>"), 0o644)
	base := ShopConfig{Products: []shop.Product{{SKU: "socks", Name: "Socks", Price: 100}}, DataDir: dir}
	for _, tc := range []struct {
		logo, ctype, url, err string
	}{
		{svg, "image/svg+xml", "", ""},
		{png, "image/png", "", ""},
		{"https://cdn.example.com/logo.png", "", "https://cdn.example.com/logo.png", ""},
		{txt, "", "", "is not an image"},
		{big, "", "", "too large"},
		{filepath.Join(dir, "missing.png"), "", "", "no such file"},
	} {
		c := base
		c.Logo = tc.logo
		spec, err := c.prepare("default")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("logo %s: error %v, want %q", tc.logo, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("logo %s: %v", tc.logo, err)
			continue
		}
		if spec.logoType != tc.ctype || spec.logoURL() != tc.url || (tc.ctype != "") != (len(spec.logo) > 0) {
			t.Errorf("logo %s: type %q, url %q, %d bytes", tc.logo, spec.logoType, spec.logoURL(), len(spec.logo))
		}
	}
}
