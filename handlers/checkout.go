package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/shop"
)

// checkoutJSON is the JSON body of a checkout. Any price or amount field a
// client adds is ignored: prices come from the catalog.
type checkoutJSON struct {
	Items []shop.CartLine `json:"items"`
	Phone string          `json:"phone"`
	// Lang is the language the buyer's page was in (en, nb, da, sv, fi).
	Lang string `json:"lang"`
}

// CheckoutResponse is the answer to a JSON checkout.
type CheckoutResponse struct {
	Reference   string `json:"reference"`
	RedirectURL string `json:"redirect_url"`
}

// checkout serves POST {base}/checkout: an HTML form (fields sku and qty,
// repeated per item; optional phone and lang) or JSON. A form gets 303 to
// Vipps, JSON gets 201 with the reference and redirect URL. The order names
// its products in the buyer's language: lang when the page sends one the
// built-in pages have, otherwise the browser's Accept-Language.
func (h *Handler) checkout(w http.ResponseWriter, r *http.Request) {
	req, err := readCheckout(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	req.Language = h.buyerLanguage(r, req.Language)
	res, err := h.svc.Checkout(r.Context(), req)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("X-Vipps-Reference", res.Order.Reference)
	if prefersJSON(r) {
		w.Header().Set("Location", res.RedirectURL)
		writeJSON(w, http.StatusCreated, CheckoutResponse{Reference: res.Order.Reference, RedirectURL: res.RedirectURL})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, res.RedirectURL, http.StatusSeeOther)
}

// errUnsupportedType is answered with 415.
var errUnsupportedType = errors.New("unsupported content type")

func readCheckout(r *http.Request) (shop.CheckoutRequest, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return shop.CheckoutRequest{}, errUnsupportedType
	}
	switch {
	case mt == "application/json":
		var body checkoutJSON
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return shop.CheckoutRequest{}, err
			}
			return shop.CheckoutRequest{}, &shop.InputError{Reason: "the body is not valid JSON of the form {\"items\":[{\"sku\":\"...\",\"qty\":1}]}"}
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return shop.CheckoutRequest{}, &shop.InputError{Reason: "unexpected data after the JSON object"}
		}
		return shop.CheckoutRequest{Lines: body.Items, Phone: body.Phone, Language: body.Lang}, nil
	case mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data":
		if err := parseForm(r, mt); err != nil {
			return shop.CheckoutRequest{}, err
		}
		return formCart(r)
	default:
		return shop.CheckoutRequest{}, errUnsupportedType
	}
}

// readFormOrNothing reads a form body (urlencoded or multipart), or a
// request without a Content-Type as an empty form; any other body is
// errUnsupportedType, not read as if it were empty.
func readFormOrNothing(r *http.Request) error {
	mt := "application/x-www-form-urlencoded"
	if ct := r.Header.Get("Content-Type"); ct != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
			return errUnsupportedType
		}
	}
	return parseForm(r, mt)
}

func parseForm(r *http.Request, mt string) error {
	var err error
	if mt == "multipart/form-data" {
		err = r.ParseMultipartForm(32 << 10)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return &shop.InputError{Reason: "the form could not be read"}
	}
	return nil
}

// formCart pairs the repeated sku and qty fields. A missing qty means 1.
func formCart(r *http.Request) (shop.CheckoutRequest, error) {
	skus := r.PostForm["sku"]
	qtys := r.PostForm["qty"]
	if len(qtys) > len(skus) {
		return shop.CheckoutRequest{}, &shop.InputError{Field: "qty", Reason: "there are more quantities than products"}
	}
	lines := make([]shop.CartLine, 0, len(skus))
	for i, sku := range skus {
		qty := 1
		if i < len(qtys) && strings.TrimSpace(qtys[i]) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(qtys[i]))
			if err != nil {
				return shop.CheckoutRequest{}, &shop.InputError{Field: "qty", Reason: "quantity must be a whole number"}
			}
			qty = n
		}
		lines = append(lines, shop.CartLine{SKU: strings.TrimSpace(sku), Qty: qty})
	}
	return shop.CheckoutRequest{Lines: lines, Phone: r.PostForm.Get("phone"), Language: r.PostForm.Get("lang")}, nil
}
