package handlers

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"money": FormatMoney,
	"deref": func(p *int) int { return *p },
	"statuses": func() []state.Status {
		return []state.Status{state.StatusNew, state.StatusPending, state.StatusAuthorized, state.StatusPartiallyCaptured,
			state.StatusCaptured, state.StatusPartiallyRefunded, state.StatusRefunded, state.StatusCancelled,
			state.StatusAborted, state.StatusExpired, state.StatusFailed}
	},
}).ParseFS(templateFS, "templates/*.html"))

type errorPage struct {
	L       *Lang
	Title   string
	Message string
	Back    string
}

type orderPage struct {
	L       *Lang
	Title   string
	Order   BuyerView
	ShopURL string
	// StatusURL is polled by the waiting page; ReturnURL is where it goes
	// once the order is final.
	StatusURL string
	ReturnURL string
}

// render writes a built-in page. Pages are rendered into a buffer first, so
// a template error never leaves a half-written response.
func (h *Handler) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name+".html", data); err != nil {
		h.log.Error("rendering page", zap.String("page", name), zap.Error(err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// FormatMoney formats minor units for people: 34800, "NOK" → "348.00 NOK".
func FormatMoney(value int64, currency string) string {
	sign := ""
	if value < 0 {
		sign, value = "-", -value
	}
	return fmt.Sprintf("%s%d.%02d %s", sign, value/100, value%100, currency)
}

// BuyerView is what a buyer may see of an order: no personal data, no keys.
type BuyerView struct {
	Reference string      `json:"reference"`
	Status    string      `json:"status"`
	Final     bool        `json:"final"`
	Paid      bool        `json:"paid"`
	Items     []BuyerItem `json:"items"`
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

func buyerView(o *state.Order) BuyerView {
	v := BuyerView{
		Reference: o.Reference,
		Status:    string(o.Status),
		Final:     !o.Status.Pending(),
		Paid:      o.Payment.Authorized > 0,
		Amount:    o.Amount,
		Currency:  o.Currency,
	}
	for _, it := range o.Items {
		v.Items = append(v.Items, BuyerItem{SKU: it.SKU, Name: it.Name, Qty: it.Qty, UnitPrice: it.UnitPrice, Total: it.UnitPrice * int64(it.Qty)})
	}
	if sh := o.Shipping; sh != nil {
		v.Shipping = &Shipping{OptionID: sh.OptionID, Name: sh.Name, Amount: sh.Amount}
	}
	return v
}
