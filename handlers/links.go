package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// LinkView is a payment link as the merchant API shows it.
type LinkView struct {
	ID string `json:"id"`
	// Status is active, busy (a single-use link's payment waits for its
	// buyer), used, expired or disabled.
	Status string `json:"status"`
	// URL is the link's address, to share; QRSVG and QRPNG are QR codes
	// of it; KioskURL shows the link at a counter.
	URL         string      `json:"url"`
	QRSVG       string      `json:"qr_svg"`
	QRPNG       string      `json:"qr_png"`
	KioskURL    string      `json:"kiosk_url"`
	Description string      `json:"description"`
	Items       []BuyerItem `json:"items"`
	Amount      int64       `json:"amount"`
	Currency    string      `json:"currency"`
	Reusable    bool        `json:"reusable"`
	// Capture is when an order of the link is charged: "ship" (when the
	// merchant ships) or "payment" (at once, for services).
	Capture    string     `json:"capture"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	// Orders counts the orders made from the link.
	Orders int `json:"orders"`
	// ForOrder is the unpaid order the link lets its buyer pay again.
	ForOrder string `json:"for_order,omitempty"`
}

// LinkList is one page of the merchant's payment links.
type LinkList struct {
	Links []LinkView `json:"links"`
	Next  string     `json:"next,omitempty"`
}

// LinkDetail is a link with (a page of) its orders.
type LinkDetail struct {
	Link   LinkView        `json:"link"`
	Orders []MerchantOrder `json:"orders"`
	Next   string          `json:"next,omitempty"`
}

// Capture rules of a link or a sale at the counter.
const (
	captureOnShip    = "ship"
	captureOnPayment = "payment"
)

// chargeBody is what a payment link and a sale at the counter charge:
// lines, an amount with description and vat, or an unpaid order again;
// and when to capture.
type chargeBody struct {
	Order       string          `json:"order,omitempty"`
	Lines       []shop.CartLine `json:"lines,omitempty"`
	Amount      *int64          `json:"amount,omitempty"`
	Description string          `json:"description,omitempty"`
	VAT         *float64        `json:"vat,omitempty"`
	Capture     string          `json:"capture,omitempty"`
}

var chargeFields = []string{"order", "lines", "amount", "description", "vat", "capture"}

// charge checks the capture rule and makes the domain's Charge.
func (b chargeBody) charge() (shop.Charge, error) {
	c := shop.Charge{Order: b.Order, Lines: b.Lines, Description: b.Description, VAT: b.VAT}
	if b.Amount != nil {
		if *b.Amount <= 0 {
			return c, &shop.InputError{Field: "amount", Reason: "must be more than zero (in minor units: 10000 is 100.00)"}
		}
		c.Amount = *b.Amount
	}
	switch b.Capture {
	case "", captureOnShip:
	case captureOnPayment:
		c.CaptureOnPayment = true
	default:
		return c, &shop.InputError{Field: "capture", Reason: `must be "ship" (when you ship) or "payment" (at once, for services)`}
	}
	return c, nil
}

// linkBody is the JSON body of POST {base}/links.
type linkBody struct {
	chargeBody
	ExpiresAt string `json:"expires_at,omitempty"`
	ExpiresIn string `json:"expires_in,omitempty"`
	Reusable  bool   `json:"reusable,omitempty"`
}

var linkFields = append([]string{"expires_at", "expires_in", "reusable"}, chargeFields...)

// request makes the domain's LinkRequest.
func (b linkBody) request() (shop.LinkRequest, error) {
	c, err := b.charge()
	req := shop.LinkRequest{Charge: c, Reusable: b.Reusable}
	if err != nil {
		return req, err
	}
	if b.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, b.ExpiresAt)
		if err != nil {
			return req, &shop.InputError{Field: "expires_at", Reason: "must be an RFC 3339 time such as 2026-12-31T23:00:00Z"}
		}
		req.ExpiresAt = t
	}
	if b.ExpiresIn != "" {
		d, err := parseLifetime(b.ExpiresIn)
		if err != nil {
			return req, &shop.InputError{Field: "expires_in", Reason: "must be a duration such as 90m, 48h or 30d"}
		}
		req.ExpiresIn = d
	}
	return req, nil
}

// readCharge reads the strict JSON body of a link or a sale at the
// counter: it must say what is paid.
func readCharge(r *http.Request, v any, fields []string) error {
	empty, err := readMerchantBody(r, v, fields...)
	if err == nil && empty {
		err = &shop.InputError{Field: "lines", Reason: "say what is paid: catalog lines, or an amount with a description and its vat"}
	}
	return err
}

// parseLifetime reads a duration that may also count days: "30d", "48h".
func parseLifetime(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n <= 0 {
			return 0, errAmount
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// createLink serves POST {base}/links: a payment link of catalog lines or
// of an amount with its description and VAT rate, with an expiry, single
// use unless reusable, captured on ship unless "capture": "payment".
// 201 with the link (its address and QR codes). An Idempotency-Key makes
// a retry get the same link.
func (h *Handler) createLink(w http.ResponseWriter, r *http.Request, actor string) {
	var body linkBody
	err := readCharge(r, &body, linkFields)
	var req shop.LinkRequest
	if err == nil {
		req, err = body.request()
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.keyed(w, r, "link", "", body, func(w http.ResponseWriter, r *http.Request, c shop.Caller) (outcome, string) {
		req.Caller = c
		l, err := h.svc.CreateLink(req)
		if err != nil {
			h.failErr(w, r, err)
			return failedOutcome(err), ""
		}
		w.Header().Set("Location", h.path("/links/"+url.PathEscape(l.ID)))
		writeJSON(w, http.StatusCreated, h.linkView(l))
		return decided, ""
	})
}

// listLinks serves GET {base}/links: the payment links, newest first
// (?limit=, ?cursor=).
func (h *Handler) listLinks(w http.ResponseWriter, r *http.Request, _ string) {
	cursor, limit, err := readPage(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	links, next, err := h.svc.Links(cursor, limit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	out := LinkList{Links: []LinkView{}, Next: next}
	for _, l := range links {
		out.Links = append(out.Links, h.linkView(l))
	}
	writeJSON(w, http.StatusOK, out)
}

// linkDetail serves GET {base}/links/ID: the link and its orders, newest
// first (?limit=, ?cursor= page the orders).
func (h *Handler) linkDetail(w http.ResponseWriter, r *http.Request, _ string) {
	l, err := h.svc.Link(r.PathValue("id"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	cursor, limit, err := readPage(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	orders, next, err := h.svc.LinkOrders(l.ID, cursor, limit)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	out := LinkDetail{Link: h.linkView(l), Orders: []MerchantOrder{}, Next: next}
	now := time.Now()
	for _, o := range orders {
		out.Orders = append(out.Orders, h.merchantOrder(o, now))
	}
	writeJSON(w, http.StatusOK, out)
}

// disableLink serves POST {base}/links/ID/disable (empty body or {}): the
// link takes no more payments. Disabling again answers the same.
func (h *Handler) disableLink(w http.ResponseWriter, r *http.Request, _ string) {
	var body struct{}
	if _, err := readMerchantBody(r, &body); err != nil {
		h.failErr(w, r, err)
		return
	}
	id := r.PathValue("id")
	h.keyed(w, r, "disable link", id, body, func(w http.ResponseWriter, r *http.Request, _ shop.Caller) (outcome, string) {
		l, err := h.svc.DisableLink(id)
		if err != nil {
			h.failErr(w, r, err)
			return failedOutcome(err), ""
		}
		writeJSON(w, http.StatusOK, h.linkView(l))
		return decided, ""
	})
}

// readPage reads the query of a list that takes only ?limit= and ?cursor=.
func readPage(r *http.Request) (cursor string, limit int, err error) {
	q, err := readQuery(r, "limit", "cursor")
	if err != nil {
		return "", 0, err
	}
	limit, err = pageLimit(q)
	return q.Get("cursor"), limit, err
}

// pageLimit reads ?limit= (1-500, default 50).
func pageLimit(q url.Values) (int, error) {
	s := q.Get("limit")
	if s == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 500 {
		return 0, &shop.InputError{Field: "limit", Reason: "must be a whole number from 1 to 500"}
	}
	return n, nil
}

// payPath is the path of a link's page.
func (h *Handler) payPath(token string) string {
	return h.path("/pay/" + url.PathEscape(token))
}

func (h *Handler) linkView(l *state.Link) LinkView {
	abs := h.absolute(h.payPath(l.Token))
	v := LinkView{
		ID: l.ID, Status: h.svc.LinkStatus(l), URL: abs, QRSVG: abs + "/qr.svg", QRPNG: abs + "/qr.png", KioskURL: abs + "/kiosk",
		Description: l.Description, Items: buyerItems(l.Items), Amount: l.Amount, Currency: l.Currency, Reusable: l.Reusable,
		Capture: captureOnShip, CreatedAt: l.CreatedAt, ExpiresAt: l.ExpiresAt, Orders: l.Orders, ForOrder: l.ForOrder,
	}
	if l.CaptureOnPayment {
		v.Capture = captureOnPayment
	}
	if !l.DisabledAt.IsZero() {
		d := l.DisabledAt
		v.DisabledAt = &d
	}
	return v
}
