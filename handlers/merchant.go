package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/state"
)

type merchantKey struct{}

type originalURLKey struct{}

// WithOriginalURL records the URL as the client sent it, before any rewrite
// by the web server; webhook signatures cover that URL.
func WithOriginalURL(ctx context.Context, u *url.URL) context.Context {
	return context.WithValue(ctx, originalURLKey{}, u)
}

func originalURL(ctx context.Context) *url.URL {
	u, _ := ctx.Value(originalURLKey{}).(*url.URL)
	return u
}

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

// merchant guards an endpoint: the admin token as a Bearer token (compared in
// constant time), or a user the web server authenticated. The token is never
// accepted in the query string.
func (h *Handler) merchant(next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if actor, ok := h.isMerchant(r); ok {
			next(w, r, actor)
			return
		}
		if h.cfg.AdminToken == "" {
			h.fail(w, r, http.StatusForbidden, "Forbidden", "Merchant endpoints are disabled: no admin token is configured.")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="vipps"`)
		h.fail(w, r, http.StatusUnauthorized, "Unauthorized", "A valid admin token is required.")
	}
}

// isMerchant reports whether the request carries merchant credentials, and
// names the actor for the order history.
func (h *Handler) isMerchant(r *http.Request) (string, bool) {
	if user := merchantFrom(r.Context()); user != "" {
		return user, true
	}
	if h.cfg.AdminToken == "" {
		return "", false
	}
	if h.validSession(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead || sameOrigin(r)) {
		return "admin-session", true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || !tokenEqual(got, h.cfg.AdminToken) {
		return "", false
	}
	return "admin-token", true
}

// tokenEqual compares in constant time; hashing first hides the length.
func tokenEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// operationRequest is the optional JSON body of ship, cancel and refund.
type operationRequest struct {
	Amount int64 `json:"amount"`
	// Lines, Final and TrackingURL apply to ship only.
	Lines       []shop.CartLine `json:"lines"`
	Final       bool            `json:"final"`
	TrackingURL string          `json:"tracking_url"`
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
}

// Money is what has happened to an order's money, in minor units.
type Money struct {
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
	Authorized int64  `json:"authorized"`
	Captured   int64  `json:"captured"`
	Cancelled  int64  `json:"cancelled"`
	Refunded   int64  `json:"refunded"`
}

func readOperation(r *http.Request) (operationRequest, error) {
	var req operationRequest
	if r.ContentLength == 0 {
		return req, nil
	}
	if err := r.ParseForm(); err == nil && r.PostForm.Get("amount") != "" {
		return req, &shop.InputError{Field: "amount", Reason: "send the amount as JSON: {\"amount\": 10000}"}
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return req, err
		}
		return req, &shop.InputError{Reason: "the body is not valid JSON of the form {\"amount\": 10000}"}
	}
	return req, nil
}

func operationResponse(o *state.Order, op *state.Operation) OperationResponse {
	resp := OperationResponse{
		Reference: o.Reference,
		Status:    string(o.Status),
		Payment: Money{Currency: o.Currency, Amount: o.Amount, Authorized: o.Payment.Authorized,
			Captured: o.Payment.Captured, Cancelled: o.Payment.Cancelled, Refunded: o.Payment.Refunded},
	}
	if op != nil {
		resp.Operation = &Operation{ID: op.ID, Kind: op.Kind, Amount: op.Amount, Status: op.Status, ErrorCode: op.ErrorCode, TraceID: op.TraceID}
	}
	return resp
}

// answerOperation writes the outcome: 200 when done, 202 when Vipps did not
// answer and the outbox will finish it with the same key.
func (h *Handler) answerOperation(w http.ResponseWriter, r *http.Request, o *state.Order, op *state.Operation, err error) {
	var unavailable *shop.UnavailableError
	if err != nil && errors.As(err, &unavailable) && o != nil && op != nil {
		writeJSON(w, http.StatusAccepted, operationResponse(o, op))
		return
	}
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, operationResponse(o, op))
}

// ship serves POST {base}/orders/R/ship: capture what was shipped — all
// that is reserved, {"amount": N}, or {"lines": [{"sku","qty"}]} — with
// optional "final": true (release the rest) and "tracking_url".
func (h *Handler) ship(w http.ResponseWriter, r *http.Request, actor string) {
	req, err := readOperation(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	o, op, err := h.svc.Ship(r.Context(), r.PathValue("ref"), shop.ShipRequest{
		Amount: req.Amount, Lines: req.Lines, Final: req.Final, TrackingURL: req.TrackingURL, Actor: actor,
	})
	h.answerOperation(w, r, o, op, err)
}

// cancel serves POST {base}/orders/R/cancel: release what is still reserved.
func (h *Handler) cancel(w http.ResponseWriter, r *http.Request, actor string) {
	if _, err := readOperation(r); err != nil {
		h.failErr(w, r, err)
		return
	}
	o, op, err := h.svc.Cancel(r.Context(), r.PathValue("ref"), actor)
	h.answerOperation(w, r, o, op, err)
}

// refund serves POST {base}/orders/R/refund: pay back captured money (all of
// it unless {"amount": N}).
func (h *Handler) refund(w http.ResponseWriter, r *http.Request, actor string) {
	req, err := readOperation(r)
	if err != nil {
		h.failErr(w, r, err)
		return
	}
	o, op, err := h.svc.Refund(r.Context(), r.PathValue("ref"), req.Amount, actor)
	h.answerOperation(w, r, o, op, err)
}
