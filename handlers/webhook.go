package handlers

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/shop"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// webhook serves POST {base}/webhook, where Vipps delivers payment events.
// The signature (HMAC-SHA256 over method, path, date, host and the hash of
// the raw body) is verified before anything is parsed; forged, stale or
// malformed deliveries are refused, logged, and change nothing.
func (h *Handler) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.rejectWebhook(w, r, http.StatusRequestEntityTooLarge, "body too large", err)
			return
		}
		h.rejectWebhook(w, r, http.StatusBadRequest, "unreadable body", err)
		return
	}
	skew := 5 * time.Minute
	if h.cfg.WebhookMaxSkew > 0 {
		skew = time.Duration(h.cfg.WebhookMaxSkew)
	}
	// Vipps signs the URL it was given at registration: verify against
	// that, so a proxy or CDN in front may rewrite Host and path.
	signed := r.Clone(r.Context())
	if u, err := url.Parse(h.svc.WebhookURL()); err == nil {
		signed.Host = u.Host
		signed.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	}
	err = h.svc.VerifyWebhook(func(secret string) error {
		v := vipps.WebhookVerifier{Secret: secret, MaxSkew: skew}
		return v.Verify(signed, body)
	})
	if errors.Is(err, shop.ErrNoWebhookRegistration) {
		h.rejectWebhook(w, r, http.StatusUnauthorized, "no webhook registration yet", nil)
		return
	}
	if err != nil {
		h.rejectWebhook(w, r, http.StatusUnauthorized, "signature", err)
		return
	}
	sig := signed.Header.Get("Authorization")
	if sig == "" {
		sig = signed.Header.Get(vipps.HeaderVippsAuthorization)
	}
	if seen, err := h.svc.WebhookSeen(sig); err != nil {
		h.log.Error("webhook could not be checked for replay", zap.Error(err))
		h.fail(w, r, http.StatusServiceUnavailable, "Try again", "The event could not be recorded.")
		return
	} else if seen {
		h.rejectWebhook(w, r, http.StatusUnauthorized, "replay", nil)
		return
	}
	ev, err := vipps.ParseWebhookEvent(body)
	if err != nil || ev.Reference == "" {
		h.rejectWebhook(w, r, http.StatusBadRequest, "malformed payload", err)
		return
	}
	if err := h.svc.HandleWebhook(r.Context(), ev); err != nil {
		h.log.Error("webhook could not be recorded", zap.String("reference", ev.Reference), zap.Error(err))
		h.fail(w, r, http.StatusServiceUnavailable, "Try again", "The event could not be recorded.")
		return
	}
	// Only a handled delivery counts as seen: one that failed may come
	// again.
	if err := h.svc.RememberWebhook(sig); err != nil {
		h.log.Warn("remembering a handled webhook", zap.Error(err))
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) rejectWebhook(w http.ResponseWriter, r *http.Request, status int, reason string, err error) {
	h.log.Warn("webhook refused", zap.String("reason", reason), zap.Int("status", status), zap.String("remote", r.RemoteAddr), zap.Error(err))
	if h.cfg.Observer != nil {
		h.cfg.Observer.WebhookRejected(reason)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	h.fail(w, r, status, http.StatusText(status), "The webhook delivery was refused.")
}
