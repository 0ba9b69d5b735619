package handlers

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"tone":        statusTone,
	"vippsReason": vippsReason,
	"deref":       func(p *int) int { return *p },
	"day":         func(l *Lang, day string) string { return l.dayLabel(day) },
	"sub":         func(a, b int) int { return a - b },
	"statuses": func() []state.Status {
		return []state.Status{state.StatusNew, state.StatusPending, state.StatusAuthorized, state.StatusPartiallyCaptured,
			state.StatusCaptured, state.StatusPartiallyRefunded, state.StatusRefunded, state.StatusCancelled,
			state.StatusAborted, state.StatusExpired, state.StatusFailed}
	},
}).ParseFS(templateFS, "templates/*.html"))

// frame is what every built-in page shows around its content: the shop's
// name and logo linking back to the shop, the payment brand's mark, and the
// title (with the shop's name).
type frame struct {
	L *Lang
	// Title is the page's own title: its heading, and the document title
	// before the shop's name.
	Title   string
	ShopURL string
	// Logo is the src of the shop's logo; empty without one.
	Logo string
	Base string
}

func (h *Handler) frame(l *Lang, title string) frame {
	return frame{L: l, Title: title, ShopURL: h.cfg.ShopURL, Logo: h.logoSrc(), Base: h.path("")}
}

type errorPage struct {
	frame
	Message string
	// Again is the primary way on (back to the cart, or try again), when
	// there is one; Back leads to the shop.
	Again, AgainLabel string
	Back, BackLabel   string
}

type orderPage struct {
	frame
	Order BuyerView
	// Summary is what the page says about the order's money, from its
	// amounts; Tone colours its status.
	Summary []string
	// StatusURL is polled by the waiting page; ReturnURL is where it goes
	// once the order is final.
	StatusURL string
	ReturnURL string
	// Push is set while the payment waits in the buyer's app, where it
	// was pushed.
	Push bool
}

// render writes a built-in page. Pages are rendered into a buffer first, so
// a template error never leaves a half-written response.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	h.renderWith(w, status, name, data, pagePolicy{})
}

// pagePolicy widens a page's Content-Security-Policy for what the page
// itself needs.
type pagePolicy struct {
	// img is the origin of an image served elsewhere (Vipps' QR code on
	// the kiosk page).
	img string
	// toVipps: the page's form is answered with a redirect to Vipps'
	// landing page, which browsers check against form-action.
	toVipps bool
}

// renderWith is render with the page's own policy.
func (h *Handler) renderWith(w http.ResponseWriter, status int, name string, data any, policy pagePolicy) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name+".html", data); err != nil {
		h.log.Error("rendering page", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	formAction := "'self'"
	if policy.toVipps {
		formAction += " https:" + strings.TrimRight(" "+h.cfg.PayOrigin, " ")
	}
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:"+
		h.logoOrigin()+strings.TrimRight(" "+policy.img, " ")+"; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// logoOrigin is the origin of a logo served elsewhere, for the pages'
// Content-Security-Policy.
func (h *Handler) logoOrigin() string {
	if h.cfg.LogoURL == "" {
		return ""
	}
	u, err := url.Parse(h.cfg.LogoURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return " " + u.Scheme + "://" + u.Host
}

// statusTone is the colour of a status badge, by what the status means for
// the money: waiting, reserved, charged, refunded, ended, failed.
func statusTone(status string) string {
	switch state.Status(status) {
	case state.StatusNew, state.StatusPending:
		return "wait"
	case state.StatusAuthorized, state.StatusPartiallyCaptured:
		return "info"
	case state.StatusCaptured:
		return "ok"
	case state.StatusPartiallyRefunded, state.StatusRefunded:
		return "refund"
	case state.StatusFailed:
		return "bad"
	}
	return "off"
}

// BuyerView is what a buyer may see of an order: no personal data, no keys.
type BuyerView struct {
	Reference string `json:"reference"`
	Status    string `json:"status"`
	// Decided is set once the payment's outcome at Vipps is decided: no
	// longer new or pending (a reserved order is decided; so is a rejected
	// or expired one). Paid is set when the buyer paid.
	Decided bool        `json:"decided"`
	Paid    bool        `json:"paid"`
	Items   []BuyerItem `json:"items"`
	// Shipping is the delivery chosen in the app, part of Amount.
	Shipping *Shipping `json:"shipping,omitempty"`
	Amount   int64     `json:"amount"`
	Currency string    `json:"currency"`
}

// BuyerItem is one line of a BuyerView.
type BuyerItem struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Qty       int    `json:"qty"`
	UnitPrice int64  `json:"unit_price"`
	Total     int64  `json:"total"`
}

func buyerItems(items []state.Item) []BuyerItem {
	var out []BuyerItem
	for _, it := range items {
		out = append(out, BuyerItem{SKU: it.SKU, Name: it.Name, Qty: it.Qty, UnitPrice: it.UnitPrice, Total: it.UnitPrice * int64(it.Qty)})
	}
	return out
}

func buyerView(o *state.Order) BuyerView {
	v := BuyerView{
		Reference: o.Reference,
		Status:    string(o.Status),
		Decided:   !o.Status.Pending(),
		Paid:      o.Payment.Authorized > 0,
		Amount:    o.Amount,
		Currency:  o.Currency,
	}
	v.Items = buyerItems(o.Items)
	if sh := o.Shipping; sh != nil {
		v.Shipping = &Shipping{OptionID: sh.OptionID, Name: sh.Name, Amount: sh.Amount}
	}
	return v
}
