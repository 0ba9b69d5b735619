package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// adminLinksPage is the merchant's page of payment links: a form that
// makes one (or charges at the counter at once), and the links with their
// address and QR code to share.
type adminLinksPage struct {
	frame
	Nonce    string
	Currency string
	Products []shop.Product
	VAT      []vatChoice
	Lifetime []int
	Links    []adminLink
	Next     string
	// Created is the link just made, shown first to share.
	Created         *adminLink
	Notice, Problem string
}

// adminLink is a link on the admin page: its view, and the paths of its
// QR code, kiosk and orders on this site.
type adminLink struct {
	LinkView
	QRPath, KioskPath, OrdersPath string
}

type vatChoice struct {
	Value, Label string
	Default      bool
}

// linkLifetimes are the form's choices of how long a link lives, in days.
var linkLifetimes = []int{1, 7, 30, 90, 365}

// adminLinks serves GET {base}/admin/links: the payment links page (the
// sign-in form without credentials).
func (h *Handler) adminLinks(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.isMerchant(r); !ok {
		h.admin(w, r)
		return
	}
	links, next, err := h.svc.Links(r.URL.Query().Get("cursor"), 50)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	l := h.lang(r)
	page := adminLinksPage{frame: h.frame(l, l.T("admin.links")), Nonce: newNonce(), Currency: h.currency,
		Products: h.svc.Catalog().Products(), Lifetime: linkLifetimes, Next: next}
	for _, bp := range shop.VATRates(h.currency) {
		page.VAT = append(page.VAT, vatChoice{Value: shop.FormatPercent(bp), Label: shop.FormatPercent(bp) + " %", Default: bp == shop.StandardVAT(h.currency)})
	}
	q := r.URL.Query()
	for _, link := range links {
		a := h.adminLink(link)
		if a.ID == q.Get("created") {
			page.Created = &a
		}
		page.Links = append(page.Links, a)
	}
	switch {
	case q.Get("done") == "disabled" && referenceLike.MatchString(q.Get("id")):
		page.Notice = l.T("admin.links.disabled", "id", q.Get("id"))
	case q.Get("problem") != "":
		key := "admin.links.err." + q.Get("problem")
		if _, ok := messages[defaultLanguage][key]; !ok {
			key = "admin.links.err.other"
		}
		page.Problem = l.T(key)
	}
	h.render(w, http.StatusOK, "admin_links", page)
}

func (h *Handler) adminLink(l *state.Link) adminLink {
	return adminLink{LinkView: h.linkView(l), QRPath: h.payPath(l.Token) + "/qr.svg", KioskPath: h.payPath(l.Token) + "/kiosk",
		OrdersPath: h.path("/admin?link=" + url.QueryEscape(l.ID))}
}

// adminLinkAction serves POST {base}/admin/links from the links page (its
// form, naming the op: readAdminForm): op=disable with id, or op=create with what is paid (kind=lines with
// qty-<sku> fields, or kind=amount with amount in the main unit,
// description and vat), days, use (single or reusable), capture (ship or
// payment) and then (link, or kiosk: charge at the counter now). The
// form's key makes a second press find the first one's link.
func (h *Handler) adminLinkAction(w http.ResponseWriter, r *http.Request, _ string) {
	back := func(q url.Values) {
		http.Redirect(w, r, h.path("/admin/links?"+q.Encode()), http.StatusSeeOther)
	}
	if err := readAdminForm(r, "op"); err != nil {
		h.failErr(w, r, err)
		return
	}
	f := r.PostForm
	switch f.Get("op") {
	case "create":
	case "disable":
		if _, err := h.svc.DisableLink(f.Get("id")); err != nil {
			back(url.Values{"problem": {"other"}})
			return
		}
		back(url.Values{"done": {"disabled"}, "id": {f.Get("id")}})
		return
	default:
		back(url.Values{"problem": {"other"}})
		return
	}
	key := ""
	if k := f.Get("key"); k != "" && shop.CheckClientKey(k) == nil {
		key = "admin-link-" + k
		rec, fresh, err := h.svc.BeginKeyed(key, shop.Fingerprint("admin link", "", []byte(f.Encode())), "")
		switch {
		case err == nil && !fresh && rec.Answered():
			http.Redirect(w, r, string(rec.Body), http.StatusSeeOther)
			return
		case err != nil:
			back(url.Values{"problem": {"busy"}})
			return
		}
	}
	target, err := h.adminCreate(r, f)
	if err != nil {
		var input *shop.InputError
		field := "other"
		switch {
		case errors.As(err, &input):
			field = input.Field
		case f.Get("kind") == "order" && asErr[*shop.StateError](err, nil):
			field = "again"
		}
		if key != "" {
			_ = h.svc.ForgetKeyed(key)
		}
		back(url.Values{"problem": {field}})
		return
	}
	if key != "" {
		_ = h.svc.AnswerKeyed(key, state.Answer{Status: http.StatusSeeOther, Body: []byte(target)})
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// adminCreate makes the link (or the sale at the counter) the form asks
// for, and returns where to go next.
func (h *Handler) adminCreate(r *http.Request, f url.Values) (string, error) {
	var c shop.Charge
	switch f.Get("kind") {
	case "order":
		// An order that was not paid, from the orders' page: a link its
		// buyer can pay again.
		c = shop.Charge{Order: f.Get("order")}
	case "amount":
		amount, err := ParseAmount(f.Get("amount"), shop.MaxAmount)
		if err != nil {
			return "", &shop.InputError{Field: "amount"}
		}
		rate, err := shop.ParsePercent(f.Get("vat"))
		if err != nil {
			return "", &shop.InputError{Field: "vat"}
		}
		c = shop.Charge{Amount: amount, Description: f.Get("description"), VAT: &rate}
	default:
		for _, p := range h.svc.Catalog().Products() {
			if s := strings.TrimSpace(f.Get("qty-" + p.SKU)); s != "" && s != "0" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					return "", &shop.InputError{Field: "qty"}
				}
				c.Lines = append(c.Lines, shop.CartLine{SKU: p.SKU, Qty: n})
			}
		}
		if len(c.Lines) == 0 {
			return "", &shop.InputError{Field: "lines"}
		}
		c.Description = f.Get("description")
	}
	c.CaptureOnPayment = f.Get("capture") == captureOnPayment
	if f.Get("then") == "kiosk" {
		// The buyer at the counter reads the shop's screen, in its language.
		c.Language = h.buyerLanguage(r, "")
		res, err := h.svc.CounterSale(r.Context(), c)
		if err != nil {
			return "", err
		}
		return h.kioskPath(res.Order.Reference), nil
	}
	days, err := strconv.Atoi(f.Get("days"))
	if err != nil || days < 1 {
		return "", &shop.InputError{Field: "expires_at"}
	}
	l, err := h.svc.CreateLink(shop.LinkRequest{Charge: c, ExpiresIn: time.Duration(days) * 24 * time.Hour, Reusable: f.Get("use") == "reusable"})
	if err != nil {
		return "", err
	}
	return h.path("/admin/links?created=" + url.QueryEscape(l.ID)), nil
}
