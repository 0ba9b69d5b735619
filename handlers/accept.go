package handlers

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// wantsHTML tells browsers from API callers: an answer is an HTML page only
// when the client asks for text/html (browsers do, on every navigation) at
// least as much as for JSON, and did not send JSON. curl's "*/*", no Accept
// at all, and scripts get JSON (application/problem+json for errors).
func wantsHTML(r *http.Request) bool {
	if sentJSON(r) {
		return false
	}
	html, json := acceptQuality(r.Header.Get("Accept"))
	return html > 0 && html >= json
}

// prefersJSON tells a checkout that wants the JSON answer (201 with the
// reference) from a form that wants to be sent on to Vipps (303): a JSON
// body, or an Accept header that names JSON above HTML.
func prefersJSON(r *http.Request) bool {
	if sentJSON(r) {
		return true
	}
	html, json := acceptQuality(r.Header.Get("Accept"))
	return json > 0 && json > html
}

// sentJSON reports whether the request's body is JSON.
func sentJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// acceptQuality returns the q-values an Accept header gives text/html and
// JSON (application/json, application/problem+json or any +json type).
// Wildcards count for neither: "*/*" asks for nothing in particular.
func acceptQuality(accept string) (html, json float64) {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
				q = f
			}
		}
		switch {
		case mt == "text/html" || mt == "application/xhtml+xml":
			html = max(html, q)
		case mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
			json = max(json, q)
		}
	}
	return html, json
}
