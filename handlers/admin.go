package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// The admin page signs a session cookie with the admin token, so a merchant
// types the token once per browser session.
const (
	adminCookie     = "vipps_admin"
	adminSessionTTL = 12 * time.Hour
)

type adminPage struct {
	frame
	// Nonce starts the keys of the page's forms (see adminAction).
	Nonce  string
	Orders []MerchantOrder
	Next   string
	Status string
	// Notice says what the last action did; Problem what went wrong, with
	// Detail (a Vipps error code) behind it.
	Notice, Problem, Detail string
	Problems                []string
	ProblemErrors           []string
	// Basic: merchant pages are off (no token, no admin user).
	Basic bool
	// SignOut: the merchant signed in on the page (a session cookie),
	// and can sign out there; a user the web server authenticated cannot.
	SignOut bool
	// Link is set when the page lists the orders of one payment link.
	Link string
	// Overview is the merchant's overview, on the first page of the
	// whole list.
	Overview *adminOverview
}

// admin serves GET {base}/admin: a small server-rendered order list with
// ship, cancel, refund and check buttons. Without credentials it shows a
// sign-in form that takes the admin token.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	l := h.lang(r)
	_, how := h.authenticate(r)
	if how == noCredential {
		status := http.StatusOK
		if h.cfg.AdminToken == "" {
			status = http.StatusForbidden
		}
		page := adminPage{frame: h.frame(l, l.T("admin.signin")), Basic: h.cfg.AdminToken == ""}
		if r.URL.Query().Get("problem") == "token" {
			page.Problem = l.T("admin.signin.wrong")
		}
		h.render(w, status, "admin_login", page)
		return
	}
	f, err := listFilter(r.URL.Query())
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	orders, next, err := h.svc.Orders(r.URL.Query().Get("cursor"), 50, f)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	now := time.Now()
	page := adminPage{frame: h.frame(l, l.T("admin.title")), Next: next, Status: r.URL.Query().Get("status"), Nonce: newNonce(), Link: f.Link,
		SignOut: how == bySession}
	page.Notice, page.Problem, page.Detail = h.adminMessage(l, r.URL.Query())
	for _, o := range orders {
		page.Orders = append(page.Orders, h.merchantOrder(o, now))
	}
	page.Problems, page.ProblemErrors = h.problems(l)
	if r.URL.Query().Get("cursor") == "" && f.Link == "" {
		if page.Overview, err = h.adminOverview(l, h.svc.Now()); err != nil {
			h.failErr(w, r, err)
			return
		}
	}
	h.render(w, http.StatusOK, "admin", page)
}

// adminLogin serves POST {base}/admin/login with the form field token.
func (h *Handler) adminLogin(w http.ResponseWriter, r *http.Request) {
	if h.cfg.AdminToken == "" {
		h.fail(w, r, http.StatusForbidden, "Forbidden", "No admin token is configured.")
		return
	}
	if err := r.ParseForm(); err != nil || !tokenEqual(r.PostForm.Get("token"), h.cfg.AdminToken) {
		http.Redirect(w, r, h.path("/admin?problem=token"), http.StatusSeeOther)
		return
	}
	generation, err := h.sessionGeneration()
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	expires := time.Now().Add(adminSessionTTL)
	http.SetCookie(w, &http.Cookie{
		Name:     adminCookie,
		Value:    h.sessionValue(expires, generation),
		Path:     h.path(""),
		Expires:  expires,
		HttpOnly: true,
		Secure:   h.cfg.SecureCookies,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, h.path("/admin"), http.StatusSeeOther)
}

// adminLogout serves POST {base}/admin/logout: it ends every session of
// the admin page, on every instance of the shop (the sessions' generation
// in the store is replaced, and every cookie signed with the old one is
// refused), and clears this browser's cookie. Like every request that
// changes something, it must come from the shop's own pages.
func (h *Handler) adminLogout(w http.ResponseWriter, r *http.Request) {
	if h.checkOrigin(r) != nil {
		h.refuseOrigin(w, r)
		return
	}
	if h.validSession(r) {
		if err := h.svc.EndAdminSessions(); err != nil {
			h.failErr(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: adminCookie, Value: "", Path: h.path(""), MaxAge: -1, HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, h.path("/admin"), http.StatusSeeOther)
}

// sessionGeneration is the generation the admin sessions are signed with
// now ("" until the first sign-out).
func (h *Handler) sessionGeneration() (string, error) {
	if h.svc == nil {
		return "", nil
	}
	return h.svc.AdminSessionGeneration()
}

// sessionValue is the cookie of a session that expires then, signed with
// the admin token over its expiry and the sessions' generation.
func (h *Handler) sessionValue(expires time.Time, generation string) string {
	exp := strconv.FormatInt(expires.Unix(), 10)
	m := hmac.New(sha256.New, []byte(h.cfg.AdminToken))
	if generation == "" {
		m.Write([]byte("vipps-admin-session|" + exp))
	} else {
		m.Write([]byte("vipps-admin-session|" + generation + "|" + exp))
	}
	return exp + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validSession checks the admin cookie's signature and expiry, and that it
// was signed in the sessions' current generation (no sign-out since). A
// store that cannot be read signs no one in.
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
	generation, err := h.sessionGeneration()
	if err != nil {
		h.log.Warn("reading the admin sessions' generation", zapErr(err))
		return false
	}
	return hmac.Equal([]byte(c.Value), []byte(h.sessionValue(time.Unix(n, 0), generation)))
}

// problems lists the background work that keeps failing, in the page's
// language, each with the error it last met (in Vipps' or the other
// system's words) apart.
func (h *Handler) problems(l *Lang) (lines, errs []string) {
	add := func(j state.Job, gaveUp bool) {
		kind := "admin.problem.kind." + j.Kind
		if _, ok := messages[defaultLanguage][kind]; !ok {
			kind = "admin.problem.kind.other"
		}
		key := "admin.problem.retrying"
		if gaveUp {
			key = "admin.problem.gaveup"
		}
		lines = append(lines, l.T(key, "kind", l.T(kind), "reference", j.Ref, "n", j.Attempts))
		errs = append(errs, j.LastError)
	}
	dead, _ := h.svc.Store().DeadJobs()
	for _, j := range dead {
		add(j, true)
	}
	pending, _ := h.svc.Store().PendingJobs()
	for _, j := range pending {
		if j.LastError != "" {
			add(j, false)
		}
	}
	return lines, errs
}

// newNonce returns 128 random bits in hex.
func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
