package handlers

import (
	"html/template"
	"net/http"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// overview serves GET {base}/overview: the merchant's overview as JSON
// (see shop.Overview): orders to ship with their capture deadlines, what
// needs attention, and the sales of the last 30 days.
func (h *Handler) overview(w http.ResponseWriter, r *http.Request, _ string) {
	if _, err := readQuery(r); err != nil {
		h.failErr(w, r, err)
		return
	}
	ov, err := h.svc.Overview(h.svc.Now())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ov)
}

// adminOverview is the overview at the top of the admin page.
type adminOverview struct {
	*shop.Overview
	// Chart is the sales chart (see salesChart).
	Chart template.HTML
}

// adminOverview reads the overview for the admin page, in its language.
func (h *Handler) adminOverview(l *Lang, now time.Time) (*adminOverview, error) {
	ov, err := h.svc.Overview(now)
	if err != nil {
		return nil, err
	}
	return &adminOverview{Overview: ov, Chart: salesChart(l, ov.Sales, ov.Currency)}, nil
}
