package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

type merchantKey struct{}

// WithMerchant marks a request as authenticated by the web server itself
// (e.g. Caddy's basic_auth), naming the user. Merchant endpoints accept such
// requests without the admin token.
func WithMerchant(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, merchantKey{}, user)
}

func merchantFrom(ctx context.Context) string {
	u, _ := ctx.Value(merchantKey{}).(string)
	return u
}

// credential is how a merchant request was authenticated.
type credential int

const (
	noCredential credential = iota
	// byToken: Authorization: Bearer with the admin token, which no page
	// of another site can make a browser send.
	byToken
	// byServer: a user in admin_users whom the web server authenticated
	// (basic_auth, forward_auth): a browser sends cached Basic
	// credentials by itself.
	byServer
	// bySession: the admin page's session cookie, which a browser sends by
	// itself.
	bySession
)

type credentialKey struct{}

// credentialOf is how the merchant request was authenticated (set by
// merchant).
func credentialOf(r *http.Request) credential {
	c, _ := r.Context().Value(credentialKey{}).(credential)
	return c
}

// merchant guards an endpoint: the admin token as a Bearer token (compared
// in constant time), a user the web server authenticated, or the admin
// page's session. The token is never accepted in the query string. A
// request that changes something (any method but GET and HEAD) made with
// a session or a server's user must also come from the shop's own pages
// (checkOrigin): browsers send those credentials by themselves.
func (h *Handler) merchant(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, how := h.authenticate(r)
		if how == noCredential {
			if h.cfg.AdminToken == "" {
				h.fail(w, r, http.StatusForbidden, "Forbidden", "Merchant endpoints are disabled: no admin token is configured.")
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="vipps"`)
			h.fail(w, r, http.StatusUnauthorized, "Unauthorized", "A valid admin token is required.")
			return
		}
		if how != byToken && !safeMethod(r.Method) && h.checkOrigin(r) != nil {
			h.refuseOrigin(w, r)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), credentialKey{}, how)), actor)
	}
}

// isMerchant reports whether the request carries merchant credentials, and
// names the actor for the order history. Pages that only show use it; what
// changes something goes through merchant.
func (h *Handler) isMerchant(r *http.Request) (string, bool) {
	actor, how := h.authenticate(r)
	return actor, how != noCredential
}

// authenticate finds the request's merchant credentials: the admin token,
// a user the web server authenticated, or the admin page's session, in
// that order.
func (h *Handler) authenticate(r *http.Request) (string, credential) {
	if got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && h.cfg.AdminToken != "" && tokenEqual(got, h.cfg.AdminToken) {
		return "admin-token", byToken
	}
	if user := merchantFrom(r.Context()); user != "" {
		return user, byServer
	}
	if h.validSession(r) {
		return "admin-session", bySession
	}
	return "", noCredential
}

// tokenEqual compares in constant time; hashing first hides the length.
func tokenEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// movement is what the bodies of ship and refund share: an amount, or all.
type movement struct {
	Amount *int64 `json:"amount,omitempty"`
	All    bool   `json:"all,omitempty"`
}

// shipBody is the JSON body of ship: exactly one of amount, all and lines.
// An empty body means all.
type shipBody struct {
	movement
	Lines       []shop.CartLine `json:"lines,omitempty"`
	Final       bool            `json:"final,omitempty"`
	TrackingURL string          `json:"tracking_url,omitempty"`
}

var shipFields = []string{"amount", "all", "lines", "final", "tracking_url"}

// refundBody is the JSON body of refund: amount or all. An empty body
// means all.
type refundBody struct {
	movement
}

var refundFields = []string{"amount", "all"}

// readMovement reads the body of ship or refund (v, which embeds m)
// strictly: an empty body means all, and an amount that is sent must be
// more than zero. It returns the amount (zero for all or lines).
func readMovement(r *http.Request, v any, m *movement, fields []string) (int64, error) {
	empty, err := readMerchantBody(r, v, fields...)
	if err != nil {
		return 0, err
	}
	if empty {
		m.All = true
	}
	if m.Amount == nil {
		return 0, nil
	}
	if *m.Amount <= 0 {
		return 0, &shop.InputError{Field: "amount", Reason: "must be more than zero (in minor units: 10000 is 100.00)"}
	}
	return *m.Amount, nil
}

// OperationResponse is the answer of a merchant operation.
type OperationResponse struct {
	Reference string     `json:"reference"`
	Status    string     `json:"status"`
	Operation *Operation `json:"operation,omitempty"`
	Payment   Money      `json:"payment"`
}

// Operation is a merchant operation as the API shows it.
type Operation struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Amount    int64  `json:"amount"`
	Status    string `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
	TraceID   string `json:"trace_id,omitempty"`
	// InDoubt is set while Vipps has not said whether a pending operation
	// was applied for longer than a request takes; the shop keeps asking.
	InDoubt bool `json:"in_doubt,omitempty"`
}

// Money is what has happened to an order's money, in minor units.
type Money struct {
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
	Authorized int64  `json:"authorized"`
	Captured   int64  `json:"captured"`
	Cancelled  int64  `json:"cancelled"`
	Refunded   int64  `json:"refunded"`
	// Reserved is authorized and neither captured nor released: what can
	// still be shipped or released.
	Reserved int64 `json:"reserved"`
	// Refundable is captured and not yet refunded.
	Refundable int64 `json:"refundable"`
}

func moneyOf(o *state.Order) Money {
	p := o.Payment
	return Money{Currency: o.Currency, Amount: o.Amount, Authorized: p.Authorized, Captured: p.Captured,
		Cancelled: p.Cancelled, Refunded: p.Refunded, Reserved: p.Reserved(), Refundable: p.Refundable()}
}

func (h *Handler) operationResponse(o *state.Order, op *state.Operation) OperationResponse {
	resp := OperationResponse{Reference: o.Reference, Status: string(o.Status), Payment: moneyOf(o)}
	if op != nil {
		v := h.operationView(*op)
		resp.Operation = &v
	}
	return resp
}

func (h *Handler) operationView(op state.Operation) Operation {
	return Operation{ID: op.ID, Kind: op.Kind, Amount: op.Amount, Status: op.Status, ErrorCode: op.ErrorCode,
		TraceID: op.TraceID, InDoubt: h.svc.InDoubt(op)}
}

// answerOperation writes the outcome: 200 when done, 202 when Vipps did not
// answer and the outbox will finish it with the same key (the operation is
// recorded, pending), and the failure otherwise. An operation found by
// the caller's Idempotency-Key is marked Idempotent-Replayed.
func (h *Handler) answerOperation(w http.ResponseWriter, r *http.Request, o *state.Order, op *state.Operation, err error) {
	if op != nil && op.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	var unavailable *shop.UnavailableError
	switch {
	case err != nil && errors.As(err, &unavailable) && o != nil && op != nil:
		writeJSON(w, http.StatusAccepted, h.operationResponse(o, op))
	case err != nil:
		h.failErr(w, r, err)
	case o == nil:
		// Every path that succeeds returns the order as recorded; one
		// that did not is a bug, answered as such rather than as a
		// success nobody recorded.
		h.failErr(w, r, errors.New("operation answered without its order"))
	default:
		writeJSON(w, http.StatusOK, h.operationResponse(o, op))
	}
}

// ship serves POST {base}/orders/R/ship: capture what was shipped —
// everything still reserved (an empty body, or {"all": true}),
// {"amount": N}, or {"lines": [{"sku","qty"}]} — with optional
// "final": true (release the rest) and "tracking_url".
func (h *Handler) ship(w http.ResponseWriter, r *http.Request, actor string) {
	var body shipBody
	amount, err := readMovement(r, &body, &body.movement, shipFields)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.operate(w, r, shop.OpCapture, body, func(c shop.Caller) (*state.Order, *state.Operation, error) {
		c.Actor = actor
		return h.svc.Ship(r.Context(), r.PathValue("ref"), shop.ShipRequest{
			Amount: amount, All: body.All, Lines: body.Lines, Final: body.Final, TrackingURL: body.TrackingURL, Caller: c,
		})
	})
}

// cancel serves POST {base}/orders/R/cancel: release what is still
// reserved. The body is empty or {}.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, actor string) {
	var body struct{}
	if _, err := readMerchantBody(r, &body); err != nil {
		h.failErr(w, r, err)
		return
	}
	h.operate(w, r, shop.OpCancel, body, func(c shop.Caller) (*state.Order, *state.Operation, error) {
		c.Actor = actor
		return h.svc.Cancel(r.Context(), r.PathValue("ref"), c)
	})
}

// refund serves POST {base}/orders/R/refund: pay back captured money —
// everything captured and not refunded (an empty body, or {"all": true}),
// or {"amount": N}.
func (h *Handler) refund(w http.ResponseWriter, r *http.Request, actor string) {
	var body refundBody
	amount, err := readMovement(r, &body, &body.movement, refundFields)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	h.operate(w, r, shop.OpRefund, body, func(c shop.Caller) (*state.Order, *state.Operation, error) {
		c.Actor = actor
		return h.svc.Refund(r.Context(), r.PathValue("ref"), shop.RefundRequest{Amount: amount, All: body.All, Caller: c})
	})
}

// eraseBuyer serves DELETE {base}/orders/R/buyer: forget what is kept of
// the order's buyer at once (a buyer's request under the GDPR). 204 when
// done; the order's amounts and items stay.
func (h *Handler) eraseBuyer(w http.ResponseWriter, r *http.Request, actor string) {
	if _, err := h.svc.EraseBuyer(r.PathValue("ref")); err != nil {
		h.failErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
