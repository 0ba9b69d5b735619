package handlers

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// A browser sends cookies and cached Basic credentials with every request
// to the shop, also with a form that another site's page submits. So a
// request that changes something and is authenticated by such ambient
// credentials (the admin page's session cookie, a user Caddy
// authenticated) must show that it came from the shop's own pages:
// checkOrigin is that one rule, for the merchant API, the admin page and
// payment links alike. The admin token is exempt: a page on another site
// cannot make a browser send an Authorization: Bearer header.

// errForeignOrigin is a request that did not show it came from the shop's
// own pages.
var errForeignOrigin = errors.New("the request did not come from the shop's own pages")

// checkOrigin tells whether an unsafe request came from the shop's own
// pages:
//
//  1. Sec-Fetch-Site, when the browser sends it (current browsers do over
//     https and to localhost), decides: same-origin passes, same-site and
//     cross-site are refused; none (a request the user started) and no
//     header at all go on to the next rule.
//  2. Otherwise Origin, or without it Referer, must have the scheme and
//     host (port included) of public_url, or those of the request itself
//     (https when the connection is TLS, and its Host), for a shop reached
//     without a proxy. "Origin: null" and an address that is not http(s)
//     are refused.
//  3. A request that names neither is refused: every current browser sends
//     Origin with a form post, so only an old browser or a script that
//     does not say where it comes from meets this, and a script has the
//     admin token (or can send Origin).
//
// Comparing with public_url, not with the Host a proxy may have rewritten,
// is what makes the admin page work behind nginx's default
// proxy_set_header Host $proxy_host; comparing the scheme too keeps a
// page served over plain http (which anyone on the way can write) from
// acting on the https shop.
func (h *Handler) checkOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "same-origin":
		return nil
	case "", "none":
	default:
		return errForeignOrigin
	}
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	o := originOf(src)
	if o == "" {
		return errForeignOrigin
	}
	if o == h.origin || o == requestOrigin(r) {
		return nil
	}
	return errForeignOrigin
}

// refuseOrigin answers a request checkOrigin refused: 403, and nothing
// was done. It is logged (without the request's credentials) as a warning:
// either a page of another site tried to act as the merchant, or a proxy
// or public_url is set up wrongly.
func (h *Handler) refuseOrigin(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("merchant request refused: it did not come from the shop's own pages",
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")),
		zap.String("origin", r.Header.Get("Origin")),
		zap.String("referer_origin", originOf(r.Header.Get("Referer"))),
		zap.String("public_origin", h.origin))
	h.answerFailure(w, r, failure{status: http.StatusForbidden, title: "Not from the shop's own pages",
		detail: "This request changes something and was authenticated by a cookie or by the web server, but it does not show that it came " +
			"from the shop's own pages (Sec-Fetch-Site: same-origin, or an Origin or Referer of " + h.originForHumans() + "). Nothing was done. " +
			"Use the admin page, or from a script the admin token (Authorization: Bearer).",
		page: "error.origin"})
}

// originForHumans names the origins a merchant request may come from.
func (h *Handler) originForHumans() string {
	if h.origin == "" {
		return "this site"
	}
	return h.origin
}

// originOf is the origin of an absolute http(s) address as browsers write
// it in the Origin header: scheme://host[:port], in lower case, without
// the scheme's default port. Empty for anything else ("null" included).
func originOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if host == "" {
		return ""
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port)
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host
}

// requestOrigin is the origin the request was sent to, as this server
// sees it: https when the connection is TLS, and the Host header.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return originOf(scheme + "://" + r.Host)
}

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}
