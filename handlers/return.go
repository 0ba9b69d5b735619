package handlers

import (
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// returnPage serves GET {base}/return?reference=R, where Vipps sends the
// buyer back. The redirect proves nothing, so the payment is checked at Vipps
// first. Paid orders go to the confirmation, failed ones to the cancel page,
// and undecided ones get a waiting page that moves on by itself (it works in
// a new tab too: everything it needs is in the URL).
func (h *Handler) returnPage(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("reference")
	o, err := h.svc.Returned(r.Context(), ref)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	switch {
	case o.Payment.Authorized > 0:
		h.redirect(w, r, h.cfg.SuccessURL, "/confirmation", ref)
	case o.Status.Pending():
		l := h.lang(r)
		h.render(w, http.StatusOK, "waiting", h.orderPage(l, l.T("waiting.title"), o))
	default:
		h.redirect(w, r, h.cfg.CancelURL, "/cancelled", ref)
	}
}

// redirect sends the buyer to a configured page or to a built-in one.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, configured, builtin, ref string) {
	target := h.path(builtin)
	if configured != "" {
		target = configured
	}
	u, err := url.Parse(target)
	if err != nil {
		u = &url.URL{Path: h.path(builtin)}
	}
	q := u.Query()
	q.Set("reference", ref)
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

func (h *Handler) orderPage(l *Lang, title string, o *state.Order) orderPage {
	return orderPage{
		frame:     h.frame(l, title),
		Order:     buyerView(o),
		StatusURL: h.path("/orders/" + url.PathEscape(o.Reference)),
		ReturnURL: h.path("/return?reference=" + url.QueryEscape(o.Reference)),
		Push:      o.Flow == shop.FlowPush,
	}
}

// confirmation serves the built-in confirmation page. It shows the order as
// stored, and says what has become of its money since (shipped, cancelled,
// refunded, in part or in full); an order that is not paid is sent to the
// return page instead.
func (h *Handler) confirmation(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("reference")
	o, err := h.svc.Order(ref)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if o.Payment.Authorized == 0 {
		h.redirect(w, r, "", "/return", ref)
		return
	}
	l := h.lang(r)
	title, summary := orderSummary(l, o)
	page := h.orderPage(l, title, o)
	page.Summary = summary
	h.render(w, http.StatusOK, "confirmation", page)
}

// cancelled serves the built-in page for payments that did not go through,
// with a way back to the shop to try again.
func (h *Handler) cancelled(w http.ResponseWriter, r *http.Request) {
	ref := r.URL.Query().Get("reference")
	o, err := h.svc.Order(ref)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if o.Payment.Authorized > 0 || o.Status.Pending() {
		h.redirect(w, r, "", "/return", ref)
		return
	}
	l := h.lang(r)
	h.render(w, http.StatusOK, "cancelled", h.orderPage(l, l.T("cancelled.title"), o))
}

// orderStatus serves GET {base}/orders/R: the buyer's view as JSON. A pending
// order is checked at Vipps at most every two seconds, so a waiting page
// moves on even when webhooks are lost.
func (h *Handler) orderStatus(w http.ResponseWriter, r *http.Request) {
	o, err := h.svc.RefreshIfStale(r.Context(), r.PathValue("ref"), state.SourceReturn, 2*time.Second)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if _, ok := h.isMerchant(r); ok {
		h.merchantOrderDetail(w, r, o)
		return
	}
	writeJSON(w, http.StatusOK, buyerView(o))
}
