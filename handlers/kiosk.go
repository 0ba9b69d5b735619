package handlers

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// Screens of the kiosk page.
const (
	kioskStart  = "start"
	kioskQR     = "qr"
	kioskPaid   = "paid"
	kioskFailed = "failed"
)

// kioskPage is the screen a shop turns to the buyer at the counter: a
// link's "show the code" button, Vipps' QR code full-screen, then paid (or
// not).
type kioskPage struct {
	frame
	Screen      string
	Description string
	Amount      int64
	Currency    string
	// QR is Vipps' image of the payment's QR code.
	QR string
	// StartURL starts a new payment (the link's kiosk), empty without one.
	StartURL string
	// StatusURL is polled while the code shows; ReturnURL (this page) is
	// loaded again once the payment is decided.
	StatusURL, ReturnURL string
	Reference            string
	Closed               string
	// Attempt names this screen's try at paying the link (see
	// shop.LinkPayment.Attempt).
	Attempt string
}

// linkKiosk serves GET {base}/pay/TOKEN/kiosk: the link at the counter,
// with a button that shows a QR code to pay it.
func (h *Handler) linkKiosk(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.LinkByToken(r.PathValue("token"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	lang := h.lang(r)
	_, desc := h.svc.LinkIn(l, lang.Code)
	attempt := h.payAttempt(w, r, l.Token)
	page := kioskPage{frame: h.frame(lang, desc), Screen: kioskStart, Description: desc,
		Amount: l.Amount, Currency: l.Currency, StartURL: h.payPath(l.Token) + "/kiosk", Attempt: attempt}
	code := http.StatusOK
	if status := h.svc.LinkStatusFor(l, attempt); status != shop.LinkActive {
		page.Closed, code = lang.T("link."+status+".text"), closedStatus(status)
	}
	h.render(w, code, "kiosk", page)
}

// startLinkKiosk serves POST {base}/pay/TOKEN/kiosk: a payment of the link
// with Vipps' userFlow QR, shown on the kiosk page (303).
func (h *Handler) startLinkKiosk(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pay := shop.LinkPayment{Flow: shop.FlowQR, Language: h.buyerLanguage(r, "")}
	if err := r.ParseForm(); err == nil {
		pay.Attempt = r.PostForm.Get("attempt")
	}
	if pay.Attempt == "" {
		pay.Attempt = attemptCookie(r)
	}
	res, err := h.svc.PayLink(r.Context(), token, pay)
	if err != nil {
		h.failLink(w, r, token, pay, err)
		return
	}
	// The kiosk's screen keeps the link, to offer the next payment; a
	// kiosk page opened anywhere else shows none (its reference is no key
	// to the link).
	http.SetCookie(w, &http.Cookie{Name: kioskCookie, Value: token, Path: h.path("/kiosk/"), MaxAge: int(kioskLife / time.Second),
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	h.toKiosk(w, r, res.Order.Reference)
}

// kioskCookie holds, on the screen that started a link's kiosk payment,
// the link's token; kioskLife is how long the screen remembers it.
const (
	kioskCookie = "vipps_kiosk"
	kioskLife   = 12 * time.Hour
)

// kioskLinkFor is the link behind a kiosk page when the request comes from
// the screen that started its payment (it holds the link's token), else
// nil: the page then offers no next payment and shows no token.
func (h *Handler) kioskLinkFor(r *http.Request, o *state.Order) *state.Link {
	c, err := r.Cookie(kioskCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	l := h.linkOf(o)
	if l == nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(l.Token)) != 1 {
		return nil
	}
	return l
}

// counterSale serves POST {base}/kiosk (merchant): a sale at the counter,
// of catalog lines or an amount with its description and VAT rate (the
// body of POST {base}/links without expiry and reuse), paid by Vipps' QR
// code on the kiosk page: 201 with the reference and kiosk_url.
func (h *Handler) counterSale(w http.ResponseWriter, r *http.Request, _ string) {
	var body chargeBody
	err := readCharge(r, &body, chargeFields)
	var c shop.Charge
	if err == nil {
		c, err = body.charge()
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	c.Language = h.buyerLanguage(r, "")
	h.keyed(w, r, "counter sale", "", body, func(w http.ResponseWriter, r *http.Request, _ shop.Caller) (outcome, string) {
		res, err := h.svc.CounterSale(r.Context(), c)
		if err != nil {
			h.failErr(w, r, err)
			return failedOutcome(err), ""
		}
		ref := res.Order.Reference
		kiosk := h.kioskPath(ref)
		w.Header().Set("X-Vipps-Reference", ref)
		w.Header().Set("Location", kiosk)
		writeJSON(w, http.StatusCreated, CounterSaleResponse{Reference: ref, KioskURL: h.absolute(kiosk)})
		return decided, ""
	})
}

// CounterSaleResponse is the answer to a sale at the counter.
type CounterSaleResponse struct {
	Reference string `json:"reference"`
	// KioskURL shows the payment's QR code to the buyer.
	KioskURL string `json:"kiosk_url"`
}

func (h *Handler) kioskPath(ref string) string {
	return h.path("/kiosk/" + url.PathEscape(ref))
}

func (h *Handler) toKiosk(w http.ResponseWriter, r *http.Request, ref string) {
	w.Header().Set("X-Vipps-Reference", ref)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.kioskPath(ref), http.StatusSeeOther)
}

// kiosk serves GET {base}/kiosk/R: while the QR payment R waits for its
// buyer, Vipps' QR code full-screen, with the waiting page's mechanism
// (the order's status is polled, and checked at Vipps when it is stale);
// then, by itself, the paid screen, or a not-paid one, each with a way to
// the next payment of its link on the screen that started it (see
// kioskLinkFor): the page holds no link token for anyone else.
func (h *Handler) kiosk(w http.ResponseWriter, r *http.Request) {
	o, err := h.svc.Order(r.PathValue("ref"))
	if err != nil || o.Flow != shop.FlowQR {
		h.failErr(w, r, shop.ErrNotFound)
		return
	}
	lang := h.lang(r)
	page := kioskPage{frame: h.frame(lang, lang.T("kiosk.title")), Description: o.Description, Amount: o.Amount, Currency: o.Currency,
		Reference: o.Reference, StatusURL: h.path("/orders/" + url.PathEscape(o.Reference)), ReturnURL: h.kioskPath(o.Reference)}
	l := h.kioskLinkFor(r, o)
	if l != nil {
		page.StartURL = h.payPath(l.Token) + "/kiosk"
	}
	switch {
	case o.Payment.Authorized > 0:
		page.Screen = kioskPaid
		if l != nil && !l.Reusable {
			page.StartURL = "" // a single-use link has no next customer
		}
	case o.Status.Pending() && o.RedirectURL != "":
		page.Screen, page.QR = kioskQR, o.RedirectURL
	case o.Status.Pending():
		// The payment is not created at Vipps yet (or its answer was
		// lost): the poller finds out.
		page.Screen = kioskQR
	default:
		page.Screen = kioskFailed
	}
	h.renderWith(w, http.StatusOK, "kiosk", page, pagePolicy{img: imageOrigin(page.QR)})
}

// imageOrigin is the origin of an image served elsewhere (Vipps' QR
// image), for a page's Content-Security-Policy.
func imageOrigin(src string) string {
	u, err := url.Parse(src)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
