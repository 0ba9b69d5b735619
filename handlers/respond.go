package handlers

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// Problem is an RFC 9457 problem detail, the body of every JSON error.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Field names the offending input field, when there is one.
	Field string `json:"field,omitempty"`
}

// wantsJSON tells API callers from browsers: a JSON body, or an Accept header
// that asks for JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "json") && !strings.Contains(accept, "text/html")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers an error: problem+json for API callers, a readable page for
// browsers. The detail must be safe to show (no secrets, no personal data).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	h.failField(w, r, status, title, detail, "")
}

func (h *Handler) failField(w http.ResponseWriter, r *http.Request, status int, title, detail, field string) {
	if !wantsJSON(r) {
		if sink := errorSinkFrom(r.Context()); sink != nil {
			sink.Status, sink.Err = status, errors.New(title+": "+detail)
			return
		}
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if wantsJSON(r) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(Problem{
			Type:     "https://httpstatuses.io/" + strconv.Itoa(status),
			Title:    title,
			Status:   status,
			Detail:   detail,
			Instance: r.URL.Path,
			Field:    field,
		})
		return
	}
	l := h.lang(r)
	if key, ok := errorKeys[title]; ok {
		title = l.T(key)
		if _, ok := textsEN[key+".text"]; ok {
			detail = l.T(key + ".text")
		}
	}
	h.render(w, status, "error", errorPage{L: l, Title: title, Message: detail, Back: h.cfg.ShopURL})
}

// errorKeys translates the titles of the errors buyers meet in a browser.
var errorKeys = map[string]string{
	"Order not found":           "error.notfound",
	"Invalid request":           "error.invalid",
	"Vipps is not reachable":    "error.unavailable",
	"Vipps refused the request": "error.refused",
	"Internal error":            "error.internal",
	"Request too large":         "error.toolarge",
	"Unsupported content type":  "error.type",
}

// failErr maps an error from package shop to a status and answers it.
func (h *Handler) failErr(w http.ResponseWriter, r *http.Request, err error) {
	var input *shop.InputError
	var st *shop.StateError
	var unavailable *shop.UnavailableError
	var rejected *shop.RejectedError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.fail(w, r, http.StatusRequestEntityTooLarge, "Request too large", "The request body is larger than this endpoint accepts.")
	case errors.Is(err, errUnsupportedType):
		h.fail(w, r, http.StatusUnsupportedMediaType, "Unsupported content type", "Send an HTML form (application/x-www-form-urlencoded) or JSON (application/json).")
	case errors.As(err, &input):
		h.failField(w, r, http.StatusBadRequest, "Invalid request", input.Error(), input.Field)
	case errors.Is(err, shop.ErrNotFound):
		h.fail(w, r, http.StatusNotFound, "Order not found", "There is no order with this reference.")
	case errors.Is(err, shop.ErrInProgress):
		h.fail(w, r, http.StatusConflict, "Operation in progress", "Another operation on this order is still running. Look at the order again in a moment.")
	case errors.As(err, &st):
		h.fail(w, r, http.StatusConflict, "Not possible in this state", st.Error())
	case errors.Is(err, state.ErrUnavailable):
		h.log.Error("order database unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		h.fail(w, r, http.StatusServiceUnavailable, "Try again", "The shop cannot take this request right now. Nothing was charged; please try again in a moment.")
	case errors.As(err, &unavailable):
		h.fail(w, r, http.StatusServiceUnavailable, "Vipps is not reachable", "The payment service did not answer. Nothing was charged; please try again in a moment.")
	case errors.As(err, &rejected):
		h.log.Warn("vipps refused a request", zap.String("operation", rejected.Op), zap.Int("status", rejected.Status), zap.String("code", rejected.Code), zap.String("trace_id", rejected.TraceID))
		h.fail(w, r, http.StatusBadGateway, "Vipps refused the request", "The payment service refused this payment. Nothing was charged.")
	default:
		h.log.Error("internal error", zap.String("path", r.URL.Path), zap.Error(err))
		h.fail(w, r, http.StatusInternalServerError, "Internal error", "Something went wrong on our side. Nothing was charged.")
	}
}

func zapErr(err error) zap.Field { return zap.Error(err) }

// asErr is errors.As with an optional target.
func asErr[T error](err error, target *T) bool {
	if target == nil {
		target = new(T)
	}
	return errors.As(err, target)
}
