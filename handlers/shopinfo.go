package handlers

import (
	"net/http"
)

// ShopInfo is the public description of the shop a static page can use:
// the brand to show on buy buttons, and the catalog's prices and delivery
// options, so the page never shows a price the server would not charge.
type ShopInfo struct {
	// Brand is "Vipps" or "MobilePay".
	Brand    string         `json:"brand"`
	Currency string         `json:"currency"`
	Products []ShopProduct  `json:"products"`
	Shipping []ShopShipping `json:"shipping,omitempty"`
}

// ShopProduct is one product of ShopInfo; Price in minor units, VAT
// included.
type ShopProduct struct {
	SKU   string `json:"sku"`
	Name  string `json:"name"`
	Price int64  `json:"price"`
}

// ShopShipping is one delivery option of ShopInfo.
type ShopShipping struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Price   int64  `json:"price"`
	Default bool   `json:"default,omitempty"`
}

// shopInfo serves GET {base}/shop.json.
func (h *Handler) shopInfo(w http.ResponseWriter, r *http.Request) {
	c := h.svc.Catalog()
	info := ShopInfo{Brand: h.cfg.Brand, Currency: c.Currency(), Products: []ShopProduct{}}
	for _, p := range c.Products() {
		info.Products = append(info.Products, ShopProduct{SKU: p.SKU, Name: p.Name, Price: p.Price})
	}
	for _, o := range c.Shipping() {
		info.Shipping = append(info.Shipping, ShopShipping{ID: o.ID, Name: o.Name, Price: o.Price, Default: o.Default})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	writeJSON(w, http.StatusOK, info)
}
