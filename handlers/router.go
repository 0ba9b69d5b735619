package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/internal/qr"
	"github.com/caddy-vipps/caddy-vipps/shop"
)

// Config is how the endpoints behave.
type Config struct {
	// RequestID names a request in the log entry of a failure that
	// reaches the handler's boundary (in Caddy: {http.request.uuid}). It
	// is asked only then. Nil: none.
	RequestID func(*http.Request) string
	// BasePath is where the endpoints live, e.g. /vipps: the path the
	// requests arrive with.
	BasePath string
	// PublicURL is the shop's external URL (public_url), e.g.
	// https://example.com/shop. Its path is a prefix that a proxy in front
	// strips: every address the handler writes for a browser (redirects,
	// the pages' links and forms, the status the waiting page polls,
	// cookie paths) starts with it, then BasePath. Its scheme and host are
	// the origin that merchant requests a browser sends must come from
	// (see checkOrigin). Empty: no prefix, and only the request's own
	// origin.
	PublicURL string
	// MaxBodySize caps every request body, in bytes.
	MaxBodySize int64
	// AdminToken authorises merchant endpoints (Authorization: Bearer).
	// Empty: merchant endpoints answer 403 unless the request was
	// authenticated by the web server (see Authenticated).
	AdminToken string
	// SuccessURL and CancelURL replace the built-in confirmation and cancel
	// pages; the reference is appended as ?reference=R.
	SuccessURL string
	CancelURL  string
	// ShopURL is the link back to the shop on built-in pages. Default: the
	// path of PublicURL, with a slash ("/").
	ShopURL string
	// Language of the built-in pages when the browser asks for none we
	// have (en, nb, da, sv, fi). Default: en.
	Language string
	// Brand is the name shown to buyers: "Vipps" or "MobilePay".
	Brand string
	// ShopName is the shop's name at the top of every built-in page and in
	// their titles. Empty: none.
	ShopName string
	// LogoURL is the address of the shop's logo, shown on every built-in
	// page; or Logo (with LogoType) is the image itself, served at
	// {base}/logo (see ReadLogo). Neither: no logo.
	LogoURL  string
	Logo     []byte
	LogoType string
	// SecureCookies marks the admin session cookie Secure: set it when the
	// shop's public URL is https, also when TLS ends at a proxy in front.
	SecureCookies bool
	// LinkPush lets a buyer type a phone number on a payment link's page
	// to get the payment pushed to the app (Vipps' PUSH_MESSAGE, which the
	// sales unit must be approved for).
	LinkPush bool
	// PayOrigin is the origin buyers are sent to pay at (Vipps' landing
	// page) when it is not an https address: the simulator's, or an
	// api_url over http. A page whose form leads there (a payment link's)
	// allows it, beside any https address, in its Content-Security-Policy.
	PayOrigin string
	// WebhookMaxSkew is how far a webhook's x-ms-date may be from now.
	WebhookMaxSkew int64
	Logger         *zap.Logger
	// Observer hears about security-relevant refusals (may be nil).
	Observer Observer
}

// Observer hears about refused webhooks and merchant requests.
type Observer interface {
	WebhookRejected(reason string)
}

// Handler serves the endpoints.
type Handler struct {
	// currency is the shop's: its market decides how phone numbers,
	// amounts and times are written.
	currency string
	svc      *shop.Service
	cfg      Config
	mux      *http.ServeMux
	log      *zap.Logger
	// qr keeps the links' QR images.
	qr *qr.Cache
	// origin is the public URL's scheme and host (see originOf); web is
	// where browsers find the endpoints: the public URL's path, then the
	// base path.
	origin string
	web    string
}

// New builds the endpoint handler. Paths outside the base path are not
// served (the caller checks Owns first).
func New(svc *shop.Service, cfg Config) *Handler {
	cfg.BasePath = "/" + strings.Trim(cfg.BasePath, "/")
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = 64 << 10
	}
	origin, prefix := publicOriginAndPath(cfg.PublicURL)
	if cfg.ShopURL == "" {
		cfg.ShopURL = prefix + "/"
	}
	if _, ok := messages[cfg.Language]; !ok {
		cfg.Language = defaultLanguage
	}
	if cfg.Brand == "" {
		cfg.Brand = "Vipps"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	h := &Handler{svc: svc, cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger, currency: "NOK", qr: qr.NewCache(qrCacheBytes), origin: origin, web: prefix + cfg.BasePath}
	if svc != nil {
		h.currency = svc.Catalog().Currency()
	}
	p := cfg.BasePath
	h.mux.HandleFunc("POST "+p+"/checkout", h.checkout)
	h.mux.HandleFunc("GET "+p+"/return", h.returnPage)
	h.mux.HandleFunc("GET "+p+"/confirmation", h.confirmation)
	h.mux.HandleFunc("GET "+p+"/cancelled", h.cancelled)
	h.mux.HandleFunc("GET "+p+"/orders/{ref}", h.orderStatus)
	h.mux.HandleFunc("GET "+p+"/shop.json", h.shopInfo)
	h.mux.HandleFunc("GET "+p+"/logo", h.logo)
	h.mux.HandleFunc("POST "+p+"/webhook", h.webhook)
	h.mux.HandleFunc("GET "+p+"/orders", h.merchant(h.listOrders))
	h.mux.HandleFunc("GET "+p+"/overview", h.merchant(h.overview))
	h.mux.HandleFunc("POST "+p+"/orders/{ref}/ship", h.merchant(h.ship))
	h.mux.HandleFunc("POST "+p+"/orders/{ref}/cancel", h.merchant(h.cancel))
	h.mux.HandleFunc("POST "+p+"/orders/{ref}/refund", h.merchant(h.refund))
	h.mux.HandleFunc("DELETE "+p+"/orders/{ref}/buyer", h.merchant(h.eraseBuyer))
	h.mux.HandleFunc("GET "+p+"/admin", h.admin)
	h.mux.HandleFunc("POST "+p+"/admin/login", h.adminLogin)
	h.mux.HandleFunc("POST "+p+"/admin/logout", h.adminLogout)
	h.mux.HandleFunc("POST "+p+"/admin/action", h.merchant(h.adminAction))
	h.mux.HandleFunc("GET "+p+"/pay/{token}", h.payLinkPage)
	h.mux.HandleFunc("POST "+p+"/pay/{token}", h.payLink)
	h.mux.HandleFunc("GET "+p+"/pay/{token}/{format}", h.linkQR)
	h.mux.HandleFunc("GET "+p+"/pay/{token}/kiosk", h.linkKiosk)
	h.mux.HandleFunc("POST "+p+"/pay/{token}/kiosk", h.startLinkKiosk)
	h.mux.HandleFunc("GET "+p+"/kiosk/{ref}", h.kiosk)
	h.mux.HandleFunc("POST "+p+"/kiosk", h.merchant(h.counterSale))
	h.mux.HandleFunc("POST "+p+"/links", h.merchant(h.createLink))
	h.mux.HandleFunc("GET "+p+"/links", h.merchant(h.listLinks))
	h.mux.HandleFunc("GET "+p+"/links/{id}", h.merchant(h.linkDetail))
	h.mux.HandleFunc("POST "+p+"/links/{id}/disable", h.merchant(h.disableLink))
	h.mux.HandleFunc("GET "+p+"/admin/links", h.adminLinks)
	h.mux.HandleFunc("POST "+p+"/admin/links", h.merchant(h.adminLinkAction))
	h.mux.HandleFunc(p+"/", h.notFound)
	return h
}

// publicOriginAndPath splits the public URL into its origin and its path
// (without a trailing slash).
func publicOriginAndPath(publicURL string) (origin, path string) {
	if publicURL == "" {
		return "", ""
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return "", ""
	}
	return originOf(publicURL), strings.TrimRight(u.EscapedPath(), "/")
}

// path is the address a browser uses for p under the base path (p starts
// with a slash, or is empty for the base path itself): with the public
// URL's path in front, e.g. /shop/vipps/admin.
func (h *Handler) path(p string) string {
	return h.web + p
}

// absolute is the full public address of a path made by path.
func (h *Handler) absolute(path string) string {
	return h.origin + path
}

// Owns reports whether a path is under the base path.
func (h *Handler) Owns(path string) bool {
	return path == h.cfg.BasePath || strings.HasPrefix(path, h.cfg.BasePath+"/")
}

// ServeHTTP serves one request under the base path. A panic below is
// answered and logged here (see recovered).
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &trackingWriter{ResponseWriter: rw}
	defer h.recovered(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodySize)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

// notFound answers paths under the base path that no endpoint serves, and
// known paths asked with the wrong method (405 with Allow).
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); strings.HasPrefix(pattern, m+" ") {
			w.Header().Set("Allow", m)
			h.fail(w, r, http.StatusMethodNotAllowed, "Method not allowed", "Use "+m+" for this address.")
			return
		}
	}
	h.fail(w, r, http.StatusNotFound, "Not found", "There is nothing here.")
}
