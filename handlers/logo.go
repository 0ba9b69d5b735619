package handlers

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// MaxLogoSize is the largest logo file a shop serves itself.
const MaxLogoSize = 512 << 10

// ReadLogo reads a logo file for the shop to serve at {base}/logo and
// returns its content and media type: PNG, JPEG, GIF, WebP or SVG, at most
// MaxLogoSize bytes.
func ReadLogo(path string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("logo: %w", err)
	}
	if len(b) > MaxLogoSize {
		return nil, "", fmt.Errorf("logo %s: %d bytes is too large (at most %d)", path, len(b), MaxLogoSize)
	}
	if strings.EqualFold(filepath.Ext(path), ".svg") {
		if !bytes.Contains(b, []byte("<svg")) {
			return nil, "", fmt.Errorf("logo %s: not an SVG image", path)
		}
		return b, "image/svg+xml", nil
	}
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return b, ct, nil
	default:
		return nil, "", fmt.Errorf("logo %s: %s is not an image the pages can show (use PNG, JPEG, GIF, WebP or SVG)", path, ct)
	}
}

// logoSrc is where the pages find the shop's logo; empty without one.
func (h *Handler) logoSrc() string {
	switch {
	case h.cfg.LogoURL != "":
		return h.cfg.LogoURL
	case len(h.cfg.Logo) > 0:
		return h.path("/logo")
	}
	return ""
}

// logo serves GET {base}/logo: the logo file the shop was given. An SVG
// runs no script and loads nothing, even when opened on its own.
func (h *Handler) logo(w http.ResponseWriter, r *http.Request) {
	if len(h.cfg.Logo) == 0 {
		h.notFound(w, r)
		return
	}
	w.Header().Set("Content-Type", h.cfg.LogoType)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	_, _ = w.Write(h.cfg.Logo)
}
