package handlers

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/caddy-vipps/caddy-vipps/internal/qr"
	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// linkPage is a payment link's page for the buyer: what is paid, and the
// buttons that pay it; or, when the link takes no payment, why.
type linkPage struct {
	frame
	Order       BuyerView
	Description string
	ExpiresAt   time.Time
	// PayURL is where the pay button posts; Push offers to send the
	// payment to a phone, whose local form PhoneExample shows.
	PayURL       string
	Push         bool
	PhoneExample string
	// Closed says why the link takes no payment now; empty when it does.
	Closed string
	// Attempt names this browser's try at paying the link (see
	// shop.LinkPayment.Attempt): pressing Pay twice pays one payment.
	Attempt string
}

// BuyerLink is a payment link as a buyer's script sees it (GET
// {base}/pay/TOKEN with Accept: application/json).
type BuyerLink struct {
	Description string      `json:"description"`
	Items       []BuyerItem `json:"items"`
	Amount      int64       `json:"amount"`
	Currency    string      `json:"currency"`
	ExpiresAt   time.Time   `json:"expires_at"`
	// Push tells whether the link can send the payment to a phone.
	Push bool `json:"push"`
}

// refusalOf is the error of a link status that takes no payment.
func refusalOf(status string) error {
	switch status {
	case shop.LinkUsed:
		return shop.ErrLinkUsed
	case shop.LinkExpired:
		return shop.ErrLinkExpired
	case shop.LinkDisabled:
		return shop.ErrLinkDisabled
	case shop.LinkBusy:
		return shop.ErrLinkBusy
	}
	return nil
}

// closedStatus is the HTTP status of a link page that takes no payment.
func closedStatus(status string) int {
	if status == shop.LinkBusy {
		return http.StatusConflict
	}
	return http.StatusGone
}

// payLinkPage serves GET {base}/pay/TOKEN: the link's page in the buyer's
// language, with a "Pay with Vipps/MobilePay" button and, with link_push,
// a phone number field that sends the payment to the app. A link that
// takes no payment (used, expired, disabled, or busy with another buyer)
// says so. Every token that names no link gets the same 404.
func (h *Handler) payLinkPage(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.LinkByToken(r.PathValue("token"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	status := h.svc.LinkStatusFor(l, attemptCookie(r))
	lang := h.lang(r)
	items, desc := h.svc.LinkIn(l, lang.Code)
	w.Header().Add("Vary", "Accept-Language")
	if !wantsHTML(r) {
		if err := refusalOf(status); err != nil {
			h.failErr(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, BuyerLink{Description: desc, Items: buyerItems(items), Amount: l.Amount,
			Currency: l.Currency, ExpiresAt: l.ExpiresAt, Push: h.cfg.LinkPush})
		return
	}
	attempt := h.payAttempt(w, r, l.Token)
	page := linkPage{
		frame:       h.frame(lang, desc),
		Order:       BuyerView{Items: buyerItems(items), Amount: l.Amount, Currency: l.Currency},
		Description: desc, ExpiresAt: l.ExpiresAt,
		PayURL: h.payPath(l.Token), Push: h.cfg.LinkPush, PhoneExample: shop.MarketOf(h.currency).PhoneExample,
		Attempt: attempt,
	}
	code := http.StatusOK
	if status != shop.LinkActive {
		page.Closed, code = lang.T("link."+status+".text"), closedStatus(status)
	}
	// Pay posts here and is answered with a redirect to Vipps.
	h.renderWith(w, code, "link", page, pagePolicy{toVipps: true})
}

// payLink serves POST {base}/pay/TOKEN: the pay button (an empty form, or
// JSON {}) sends the buyer to Vipps like a checkout (303, or 201 with the
// reference and redirect_url for JSON); with link_push, a phone number
// (form field or JSON "phone", in the market's own forms) sends the
// payment to that phone's app instead, and the buyer waits on the return
// page, which moves on by itself.
func (h *Handler) payLink(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	pay, err := h.readLinkPayment(r)
	if err != nil {
		h.failLink(w, r, token, pay, err)
		return
	}
	pay.Language = h.buyerLanguage(r, "")
	res, err := h.svc.PayLink(r.Context(), token, pay)
	if err != nil {
		h.failLink(w, r, token, pay, err)
		return
	}
	ref := res.Order.Reference
	target := res.RedirectURL
	if pay.Flow == shop.FlowPush {
		target = h.path("/return?reference=" + url.QueryEscape(ref))
	}
	w.Header().Set("X-Vipps-Reference", ref)
	if prefersJSON(r) {
		w.Header().Set("Location", target)
		writeJSON(w, http.StatusCreated, CheckoutResponse{Reference: ref, RedirectURL: target})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// readLinkPayment reads the pay form (or JSON): a phone number asks for a
// push, when the shop offers it.
func (h *Handler) readLinkPayment(r *http.Request) (shop.LinkPayment, error) {
	var phone, attempt string
	if sentJSON(r) {
		var body struct {
			Phone   string `json:"phone,omitempty"`
			Attempt string `json:"attempt,omitempty"`
		}
		if _, err := readStrictJSON(r, &body, "phone", "attempt"); err != nil {
			return shop.LinkPayment{}, err
		}
		phone, attempt = body.Phone, body.Attempt
	} else {
		// A bare POST (no body) pays by redirect.
		if err := readFormOrNothing(r); err != nil {
			return shop.LinkPayment{}, err
		}
		phone, attempt = r.PostForm.Get("phone"), r.PostForm.Get("attempt")
	}
	if attempt == "" {
		attempt = attemptCookie(r)
	}
	if _, asked := r.PostForm["phone"]; h.cfg.LinkPush && (phone != "" || asked) {
		return shop.LinkPayment{Flow: shop.FlowPush, Phone: phone, Attempt: attempt}, nil
	}
	return shop.LinkPayment{Attempt: attempt}, nil
}

// failLink answers a link payment that did not start, with a way back to
// the link's page: a phone number Vipps could not push to is said so.
func (h *Handler) failLink(w http.ResponseWriter, r *http.Request, token string, pay shop.LinkPayment, err error) {
	var rejected *shop.RejectedError
	var input *shop.InputError
	back := h.payPath(token)
	switch {
	case errors.Is(err, shop.ErrLinkNotFound):
		h.failErr(w, r, err)
	case pay.Flow == shop.FlowPush && errors.Is(err, shop.ErrPushLimited):
		w.Header().Set("Retry-After", strconv.Itoa(int(shop.PushWindow/time.Second)))
		h.answerFailure(w, r, failure{status: http.StatusTooManyRequests, title: "Too many payments sent to this phone number",
			detail: err.Error(), page: "link.push.limited", args: []any{"count", shop.PushesPerPhone, "minutes", int(shop.PushWindow / time.Minute)},
			again: back, againLabel: "link.back"})
	case pay.Flow == shop.FlowPush && errors.As(err, &rejected):
		h.answerFailure(w, r, failure{status: http.StatusBadGateway, title: "Vipps refused the payment",
			detail: "The payment could not be sent to this phone number (code " + rejected.Code + "). Nothing was charged.",
			page:   "link.push.failed", again: back, againLabel: "link.back"})
	case errors.As(err, &input):
		page, args := h.inputPage(input)
		h.answerFailure(w, r, failure{status: http.StatusBadRequest, title: "Invalid request", detail: input.Error(), field: input.Field,
			page: page, args: args, again: back, againLabel: "link.back"})
	default:
		h.failErr(w, r, err)
	}
}

// linkQR serves GET {base}/pay/TOKEN/qr.svg and qr.png (?size=100-2000,
// default 512): a QR code of the link's address, to print or show. A link
// that takes no payment any more (used, expired, disabled) has no code: it
// answers as its page does (410). Each image is rendered once and kept
// (see qr.Cache); it carries a strong ETag and is revalidated on every use
// (no-cache), so a browser's copy costs a 304 and a link that closes stops
// showing at once.
func (h *Handler) linkQR(w http.ResponseWriter, r *http.Request) {
	l, err := h.svc.LinkByToken(r.PathValue("token"))
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	if status := h.svc.LinkStatus(l); status != shop.LinkActive && status != shop.LinkBusy {
		h.failErr(w, r, refusalOf(status))
		return
	}
	h.writeQR(w, r, h.absolute(h.payPath(l.Token)), r.PathValue("format"))
}

// qrCacheBytes bounds the QR images kept in memory: some hundred links at
// their largest size.
const qrCacheBytes = 16 << 20

// writeQR answers a QR code of target as SVG or PNG, from the cache.
func (h *Handler) writeQR(w http.ResponseWriter, r *http.Request, target, format string) {
	k := qr.Key{Content: target}
	switch format {
	case "qr.svg":
		k.Format, k.Label = qr.FormatSVG, h.lang(r).T("link.qr.alt")
	case "qr.png":
		k.Format, k.Size = qr.FormatPNG, 512
		if s := r.URL.Query().Get("size"); s != "" {
			size, err := strconv.Atoi(s)
			if err != nil || size < 100 || size > qr.MaxPNGSize {
				h.failErr(w, r, &shop.InputError{Field: "size", Reason: "must be a whole number of pixels from 100 to 2000"})
				return
			}
			k.Size = size
		}
	default:
		h.notFound(w, r)
		return
	}
	img, err := h.qr.Get(r.Context(), k)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left
		}
		h.failErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", img.Type)
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("ETag", img.ETag)
	if k.Format == qr.FormatSVG {
		w.Header().Add("Vary", "Accept-Language")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img.Body))
}

// linkOf returns the link an order was made from, if any.
func (h *Handler) linkOf(o *state.Order) *state.Link {
	if o.Link == "" {
		return nil
	}
	l, err := h.svc.Link(o.Link)
	if err != nil {
		return nil
	}
	return l
}

// attemptCookieName holds a browser's try at paying a link, on the link's
// own path.
const attemptCookieName = "vipps_attempt"

// attemptLife is how long a browser's try at a link is remembered: longer
// than a payment waits for its buyer.
const attemptLife = 30 * time.Minute

// payAttempt is this browser's try at paying the link: the one it has, or
// a new one it is given to keep.
func (h *Handler) payAttempt(w http.ResponseWriter, r *http.Request, token string) string {
	if a := attemptCookie(r); a != "" {
		return a
	}
	a := newNonce()
	http.SetCookie(w, &http.Cookie{Name: attemptCookieName, Value: a, Path: h.payPath(token), MaxAge: int(attemptLife / time.Second),
		HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	return a
}

// attemptCookie is the try the browser sent, if it is one.
func attemptCookie(r *http.Request) string {
	if c, err := r.Cookie(attemptCookieName); err == nil && shop.ValidAttempt(c.Value) {
		return c.Value
	}
	return ""
}
