package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

// The admin page signs a session cookie with the admin token, so a merchant
// types the token once per browser session.
const (
	adminCookie     = "vipps_admin"
	adminSessionTTL = 12 * time.Hour
)

type adminPage struct {
	L *Lang
	// Nonce starts the keys of the page's forms (see adminAction).
	Nonce    string
	Title    string
	Base     string
	Orders   []MerchantOrder
	Next     string
	Status   string
	Flash    string
	Error    string
	Problems []BackgroundProblem
	LoggedIn bool
	Basic    bool
}

// admin serves GET {base}/admin: a small server-rendered order list with
// ship, cancel, refund and check-now buttons. Without credentials it shows a
// sign-in form that takes the admin token.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	actor, ok := h.isMerchant(r)
	if !ok {
		status := http.StatusOK
		if h.cfg.AdminToken == "" {
			status = http.StatusForbidden
		}
		l := h.lang(r)
		h.render(w, status, "admin_login", adminPage{L: l, Title: l.T("admin.signin"), Base: h.cfg.BasePath, Error: r.URL.Query().Get("error"), Basic: h.cfg.AdminToken == ""})
		return
	}
	f, err := listFilter(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	orders, next, err := h.svc.Store().List(r.URL.Query().Get("cursor"), 50, f)
	if err != nil {
		h.failErr(w, r, &shop.InputError{Field: "cursor", Reason: "the cursor is not valid"})
		return
	}
	now := time.Now()
	l := h.lang(r)
	page := adminPage{L: l, Title: l.T("admin.title"), Base: h.cfg.BasePath, Next: next, Status: r.URL.Query().Get("status"),
		Flash: r.URL.Query().Get("flash"), Error: r.URL.Query().Get("error"), LoggedIn: actor != "", Nonce: newNonce()}
	for _, o := range orders {
		page.Orders = append(page.Orders, h.merchantOrder(o, now))
	}
	page.Problems = h.problems()
	h.render(w, http.StatusOK, "admin", page)
}

// adminLogin serves POST {base}/admin/login with the form field token.
func (h *Handler) adminLogin(w http.ResponseWriter, r *http.Request) {
	if h.cfg.AdminToken == "" {
		h.fail(w, r, http.StatusForbidden, "Forbidden", "No admin token is configured.")
		return
	}
	if err := r.ParseForm(); err != nil || !tokenEqual(r.PostForm.Get("token"), h.cfg.AdminToken) {
		http.Redirect(w, r, h.cfg.BasePath+"/admin?error="+url.QueryEscape("That token is not right."), http.StatusSeeOther)
		return
	}
	expires := time.Now().Add(adminSessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     adminCookie,
		Value:    h.sessionValue(expires),
		Path:     h.cfg.BasePath,
		Expires:  expires,
		HttpOnly: true,
		Secure:   h.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, h.cfg.BasePath+"/admin", http.StatusSeeOther)
}

// adminLogout serves POST {base}/admin/logout.
func (h *Handler) adminLogout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: h.cfg.BasePath, MaxAge: -1, HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, h.cfg.BasePath+"/admin", http.StatusSeeOther)
}

func (h *Handler) sessionValue(expires time.Time) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, []byte(h.cfg.AdminToken))
	m.Write([]byte("vipps-admin-session|" + exp))
	return exp + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validSession checks the admin cookie's signature and expiry.
func (h *Handler) validSession(r *http.Request) bool {
	if h.cfg.AdminToken == "" {
		return false
	}
	c, err := r.Cookie(adminCookie)
	if err != nil {
		return false
	}
	exp, _, ok := strings.Cut(c.Value, ".")
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || time.Now().Unix() > n {
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(h.sessionValue(time.Unix(n, 0))))
}

// sameOrigin is the CSRF check for cookie-authenticated form posts: the
// browser's Origin (or Referer) must be this site.
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

// adminAction serves POST {base}/admin/action from the admin page's buttons
// (fields reference, op, amount) and redirects back with the outcome.
func (h *Handler) adminAction(w http.ResponseWriter, r *http.Request, actor string) {
	if err := r.ParseForm(); err != nil {
		h.failErr(w, r, &shop.InputError{Reason: "the form could not be read"})
		return
	}
	ref := r.PostForm.Get("reference")
	// An empty amount field means all; anything typed must be a whole
	// number above zero.
	var amount int64
	if s := strings.TrimSpace(r.PostForm.Get("amount")); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			h.adminBack(w, r, "", "The amount must be a whole number of øre/cents above zero.")
			return
		}
		amount = n
	}
	// Every form on the page carries a key made when the page was drawn:
	// a second click or a resubmitted form finds the operation the first
	// one started.
	c := shop.Caller{Actor: actor}
	if k := r.PostForm.Get("key"); k != "" && shop.CheckClientKey(k) == nil {
		c.Key = "admin-" + k
	}
	var o *state.Order
	var err error
	switch r.PostForm.Get("op") {
	case "ship":
		o, _, err = h.svc.Ship(r.Context(), ref, shop.ShipRequest{Amount: amount, All: amount == 0, Caller: c})
	case "cancel":
		o, _, err = h.svc.Cancel(r.Context(), ref, c)
	case "refund":
		o, _, err = h.svc.Refund(r.Context(), ref, shop.RefundRequest{Amount: amount, All: amount == 0, Caller: c})
	case "refresh":
		o, err = h.svc.CheckAtVipps(r.Context(), ref)
	default:
		h.adminBack(w, r, "", "Unknown action.")
		return
	}
	if err != nil {
		h.adminBack(w, r, "", actionError(err))
		return
	}
	h.adminBack(w, r, "Order "+o.Reference+" is now "+string(o.Status)+".", "")
}

func actionError(err error) string {
	var st *shop.StateError
	var in *shop.InputError
	switch {
	case asErr(err, &st):
		return st.Error()
	case asErr(err, &in):
		return in.Error()
	case asErr[*shop.UnavailableError](err, nil):
		return "Vipps did not answer; the operation will be finished in the background."
	default:
		return "The operation failed: " + err.Error()
	}
}

func (h *Handler) adminBack(w http.ResponseWriter, r *http.Request, flash, errMsg string) {
	q := url.Values{}
	if flash != "" {
		q.Set("flash", flash)
	}
	if errMsg != "" {
		q.Set("error", errMsg)
	}
	http.Redirect(w, r, h.cfg.BasePath+"/admin?"+q.Encode(), http.StatusSeeOther)
}

// BackgroundProblem is background work that keeps failing: a receipt, a notification,
// a capture whose answer was lost. The admin page lists them so that no
// failure is silent.
type BackgroundProblem struct {
	Kind      string
	Reference string
	Attempts  int
	Error     string
	GaveUp    bool
}

func (h *Handler) problems() []BackgroundProblem {
	var out []BackgroundProblem
	dead, _ := h.svc.Store().DeadJobs()
	for _, j := range dead {
		out = append(out, BackgroundProblem{Kind: j.Kind, Reference: j.Ref, Attempts: j.Attempts, Error: j.LastError, GaveUp: true})
	}
	pending, _ := h.svc.Store().PendingJobs()
	for _, j := range pending {
		if j.LastError != "" {
			out = append(out, BackgroundProblem{Kind: j.Kind, Reference: j.Ref, Attempts: j.Attempts, Error: j.LastError})
		}
	}
	return out
}

// newNonce returns 128 random bits in hex.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
