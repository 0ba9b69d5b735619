package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// failure is an error answer: for API callers its status, title, detail
// and field (English, exact); for people a page in their own language,
// whose heading and text are the message key page and page+".text", with
// args for their placeholders. It never names a field or a code.
type failure struct {
	status        int
	title, detail string
	field         string
	page          string
	args          []any
	// hidePath leaves the request's path out of the problem (a link's
	// token is not repeated back).
	hidePath bool
	// again is the primary way on, when the failure knows it better than
	// the Referer does.
	again, againLabel string
}

// fail answers an error whose page follows from its status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, title, detail string) {
	h.answerFailure(w, r, failure{status: status, title: title, detail: detail, page: pageForStatus(status)})
}

// pageForStatus is the page of an error people meet only by accident (a
// merchant address, a wrong method, a stale link).
func pageForStatus(status int) string {
	switch status {
	case http.StatusNotFound:
		return "error.nopage"
	case http.StatusMethodNotAllowed:
		return "error.method"
	case http.StatusUnauthorized, http.StatusForbidden:
		return "error.denied"
	case http.StatusConflict, http.StatusUnprocessableEntity:
		return "error.conflict"
	case http.StatusRequestEntityTooLarge:
		return "error.toolarge"
	case http.StatusUnsupportedMediaType:
		return "error.type"
	case http.StatusBadGateway:
		return "error.refused"
	case http.StatusServiceUnavailable:
		return "error.unavailable"
	}
	if status >= 500 {
		return "error.internal"
	}
	return "error.invalid"
}

// answerFailure writes a failure: problem+json unless the client asks for
// HTML; for a browser, the site's handle_errors when it has any, or the
// built-in error page.
func (h *Handler) answerFailure(w http.ResponseWriter, r *http.Request, f failure) {
	if f.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if !wantsHTML(r) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(f.status)
		p := Problem{
			Type:     "https://httpstatuses.io/" + strconv.Itoa(f.status),
			Title:    f.title,
			Status:   f.status,
			Detail:   f.detail,
			Instance: r.URL.Path,
			Field:    f.field,
		}
		if f.hidePath {
			p.Instance = ""
		}
		_ = json.NewEncoder(w).Encode(p)
		return
	}
	l := h.lang(r)
	heading, text := l.T(f.page, f.args...), l.T(f.page+".text", f.args...)
	if sink := errorSinkFrom(r.Context()); sink != nil {
		sink.Status, sink.Err = f.status, errors.New(heading+": "+text)
		return
	}
	page := errorPage{frame: h.frame(l, heading), Message: text, Back: h.cfg.ShopURL, BackLabel: l.T("back")}
	if cart := h.cameFrom(r); cart != "" {
		page.Again, page.AgainLabel = cart, l.T("back.cart")
		if f.status >= 500 {
			page.AgainLabel = l.T("retry")
		}
	}
	if f.again != "" {
		page.Again, page.AgainLabel = f.again, l.T(f.againLabel)
	}
	h.render(w, f.status, "error", page)
}

// cameFrom is the page of this site the buyer came from (the cart, as a
// rule), for the error page's way back: the Referer, if it is this site
// (the public URL's origin, or the request's own) and not one of the
// shop's own endpoints.
func (h *Handler) cameFrom(r *http.Request) string {
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil {
		return ""
	}
	if o := originOf(ref.String()); o == "" || (o != h.origin && o != requestOrigin(r)) || ref.Path == h.web || strings.HasPrefix(ref.Path, h.web+"/") {
		return ""
	}
	return ref.RequestURI()
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
	case errors.Is(err, errJSONOnly):
		h.fail(w, r, http.StatusUnsupportedMediaType, "Unsupported content type", "Send the body as JSON, with Content-Type: application/json (curl: -H 'Content-Type: application/json'). "+
			"An empty body (which means everything) is taken without it only with the admin token.")
	case errors.Is(err, errFormOnly):
		h.answerFailure(w, r, failure{status: http.StatusUnsupportedMediaType, title: "Unsupported content type",
			detail: "Send the admin page's form (application/x-www-form-urlencoded).", page: "error.origin"})
	case errors.Is(err, errUnsupportedType):
		h.fail(w, r, http.StatusUnsupportedMediaType, "Unsupported content type", "Send an HTML form (application/x-www-form-urlencoded) or JSON (application/json).")
	case errors.As(err, &input):
		page, args := h.inputPage(input)
		h.answerFailure(w, r, failure{status: http.StatusBadRequest, title: "Invalid request", detail: input.Error(), field: input.Field, page: page, args: args})
	case errors.Is(err, shop.ErrLinkNotFound):
		h.answerFailure(w, r, failure{status: http.StatusNotFound, title: "Payment link not found", detail: "There is no payment link here.", page: "link.notfound", hidePath: true})
	case errors.Is(err, shop.ErrLinkExpired):
		h.answerFailure(w, r, failure{status: http.StatusGone, title: "Payment link expired", detail: "This payment link has expired and takes no payments.", page: "link.expired"})
	case errors.Is(err, shop.ErrLinkDisabled):
		h.answerFailure(w, r, failure{status: http.StatusGone, title: "Payment link disabled", detail: "This payment link was disabled and takes no payments.", page: "link.disabled"})
	case errors.Is(err, shop.ErrLinkUsed):
		h.answerFailure(w, r, failure{status: http.StatusGone, title: "Payment link used", detail: "This payment link was paid; it takes one payment.", page: "link.used"})
	case errors.Is(err, shop.ErrLinkBusy):
		h.answerFailure(w, r, failure{status: http.StatusConflict, title: "Payment link in use", detail: "A payment through this single-use link is waiting for its buyer. Try again in a few minutes.", page: "link.busy"})
	case errors.Is(err, shop.ErrNotFound):
		h.answerFailure(w, r, failure{status: http.StatusNotFound, title: "Order not found", detail: "There is no order with this reference.", page: "error.notfound"})
	case errors.Is(err, shop.ErrKeyReused):
		h.fail(w, r, http.StatusUnprocessableEntity, "Idempotency-Key reused",
			"This Idempotency-Key was already used for a different request (another operation, order or body). Use a new key for a new request.")
	case errors.Is(err, shop.ErrInProgress):
		h.fail(w, r, http.StatusConflict, "Operation in progress", "Another operation on this order is still running; its outcome will be recorded. Look at the order again in a moment before you ask for anything new.")
	case asErr[*shop.OutcomeUnknownError](err, nil), errors.Is(err, state.ErrOutcomeUnknown):
		h.log.Error("outcome not known", zap.String("path", r.URL.Path), zap.Error(err))
		h.answerFailure(w, r, failure{status: http.StatusServiceUnavailable, title: "Outcome not known yet",
			detail: "The shop could not confirm whether this request was carried out; it is finding out. Retry with the same Idempotency-Key to get its outcome. Without one, look at the order before you send the request again.",
			page:   "error.undecided"})
	case errors.As(err, &st):
		h.fail(w, r, http.StatusConflict, "Not possible in this state", st.Error())
	case errors.Is(err, state.ErrUnavailable), errors.Is(err, state.ErrClosed):
		h.log.Error("order database unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		h.fail(w, r, http.StatusServiceUnavailable, "Try again", "The shop cannot take this request right now. Nothing was done and nothing was charged; please try again in a moment.")
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

// inputPage is the page that explains a buyer's mistake, by its code.
func (h *Handler) inputPage(e *shop.InputError) (string, []any) {
	switch e.Code {
	case shop.CodePhone:
		return "error.phone", []any{"example", shop.MarketOf(h.currency).PhoneExample}
	case shop.CodeUnknownProduct:
		return "error.product", nil
	case shop.CodeQuantity:
		return "error.qty", []any{"max", shop.MaxQty}
	case shop.CodeEmptyCart:
		return "error.empty", nil
	case shop.CodeTooManyLines:
		return "error.lines", []any{"max", shop.MaxCartLines}
	case shop.CodeTotalTooLarge:
		return "error.total", []any{"max", moneyArg{shop.MaxAmount, h.currency}}
	}
	return "error.invalid", nil
}

// moneyArg is an amount given to a text as a placeholder: Lang.T writes
// it in the page's language.
type moneyArg struct {
	minor    int64
	currency string
}

func zapErr(err error) zap.Field { return zap.Error(err) }

// asErr is errors.As with an optional target.
func asErr[T error](err error, target *T) bool {
	if target == nil {
		target = new(T)
	}
	return errors.As(err, target)
}
