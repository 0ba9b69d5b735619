package handlers

import (
	"net/http"
)

// ShopInfo is the public description of the shop a static page can use:
// the brand to show on buy buttons, and the catalog's names and prices and
// delivery options in the page's language, so the page never shows a price
// the server would not charge, nor writes one differently from the
// built-in pages.
type ShopInfo struct {
	// Brand is "Vipps" or "MobilePay".
	Brand    string `json:"brand"`
	Currency string `json:"currency"`
	// Language is the language of the names and price texts: the query's
	// lang when the built-in pages have it, otherwise the browser's
	// language (Accept-Language), otherwise the shop's.
	Language string `json:"language"`
	// Money is how Language writes amounts, for totals the page adds up.
	Money    MoneyFormat    `json:"money"`
	Products []ShopProduct  `json:"products"`
	Shipping []ShopShipping `json:"shipping,omitempty"`
}

// ShopProduct is one product of ShopInfo; Price in minor units, VAT
// included.
type ShopProduct struct {
	SKU string `json:"sku"`
	// Name is the product's name in the info's Language.
	Name  string `json:"name"`
	Price int64  `json:"price"`
	// PriceText is Price as the built-in pages write it in Language, e.g.
	// "149,00 kr" in Norwegian and "NOK 149.00" in English.
	PriceText string `json:"price_text"`
}

// ShopShipping is one delivery option of ShopInfo.
type ShopShipping struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Price     int64  `json:"price"`
	PriceText string `json:"price_text"`
	Default   bool   `json:"default,omitempty"`
}

// shopInfo serves GET {base}/shop.json[?lang=nb].
func (h *Handler) shopInfo(w http.ResponseWriter, r *http.Request) {
	c := h.svc.Catalog()
	lang := h.buyerLanguage(r, r.URL.Query().Get("lang"))
	info := ShopInfo{Brand: h.cfg.Brand, Currency: c.Currency(), Language: lang, Money: MoneyFormatOf(c.Currency(), lang), Products: []ShopProduct{}}
	for _, p := range c.Products() {
		info.Products = append(info.Products, ShopProduct{SKU: p.SKU, Name: p.NameIn(lang), Price: p.Price, PriceText: FormatMoney(p.Price, c.Currency(), lang)})
	}
	for _, o := range c.Shipping() {
		info.Shipping = append(info.Shipping, ShopShipping{ID: o.ID, Name: o.Name, Price: o.Price, PriceText: FormatMoney(o.Price, c.Currency(), lang), Default: o.Default})
	}
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Add("Vary", "Accept-Language")
	writeJSON(w, http.StatusOK, info)
}
