package shop

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// webhookMetaKey is where the registration (id, URL, secret) is kept.
const webhookMetaKey = "webhook-registration"

// WebhookEvents are the ePayment events the shop subscribes to: everything
// that changes a payment after it was created.
var WebhookEvents = []string{
	vipps.EventAuthorized.WebhookEventType(),
	vipps.EventAborted.WebhookEventType(),
	vipps.EventExpired.WebhookEventType(),
	vipps.EventTerminated.WebhookEventType(),
	vipps.EventCaptured.WebhookEventType(),
	vipps.EventCancelled.WebhookEventType(),
	vipps.EventRefunded.WebhookEventType(),
}

type webhookRegistration struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Secret string `json:"secret"`
}

// secretCache keeps each store's registration for a short while, so a
// webhook needs no database read; another instance that registered anew is
// seen within secretCacheTTL.
var secretCache sync.Map // store → cachedRegistration

const secretCacheTTL = 30 * time.Second

type cachedRegistration struct {
	reg webhookRegistration
	at  time.Time
}

// EnsureWebhook makes sure Vipps delivers webhooks to the shop's webhook URL,
// once, and that the signing secret is stored. An existing registration for
// the URL whose secret is stored is reused; every other registration for the
// URL (its secret unknown to the shop: left by an instance that died between
// registering and storing, or by two instances that raced when the database
// lost the lock) is removed, so each event is delivered once, signed with
// the stored secret. When the URL changed, the old registration is removed
// after the new one is in place.
func (s *Service) EnsureWebhook(ctx context.Context) error {
	// One instance at a time: a second one starting finds and reuses the
	// first one's registration instead of replacing it.
	return s.store.Exclusive(ctx, "webhook-registration", func() error { return s.ensureWebhook(ctx) })
}

func (s *Service) ensureWebhook(ctx context.Context) error {
	url := s.WebhookURL()
	stored, _ := s.loadRegistration()
	hooks, err := s.vipps.ListWebhooks(ctx)
	if err != nil {
		return s.classify("webhooks.list", err)
	}
	keep := ""
	if stored != nil && stored.URL == url {
		for _, h := range hooks {
			if h.ID == stored.ID && h.URL == url {
				keep = h.ID
			}
		}
	}
	if keep == "" {
		reg, err := s.vipps.RegisterWebhook(ctx, url, WebhookEvents)
		if err != nil {
			return s.classify("webhooks.register", err)
		}
		if err := s.saveRegistration(webhookRegistration{ID: reg.ID, URL: url, Secret: reg.Secret}); err != nil {
			return err
		}
		keep = reg.ID
		s.log.Info("registered webhook", zap.String("id", reg.ID), zap.String("url", url))
	} else {
		s.log.Debug("reusing webhook registration", zap.String("id", keep))
	}
	for _, h := range hooks {
		stale := h.URL == url || (stored != nil && h.ID == stored.ID)
		if stale && h.ID != keep {
			if err := s.vipps.DeleteWebhook(ctx, h.ID); err != nil {
				s.log.Warn("removing stale webhook registration", zap.String("id", h.ID), zap.Error(err))
			} else {
				s.log.Info("removed a webhook registration whose secret the shop does not hold", zap.String("id", h.ID))
			}
		}
	}
	return nil
}

// webhookRecheckGap is the least time between two looks at the
// registrations that a failed signature asks for, so forged deliveries
// cannot make the shop call Vipps more often.
var webhookRecheckGap = time.Minute

// webhookRecheckEvery is how often the registration is looked at anyway:
// one removed at Vipps (by hand, or by another tool) comes back.
const webhookRecheckEvery = time.Hour

// KeepWebhookRegistered retries EnsureWebhook with backoff until it succeeds
// or ctx ends, so a Vipps outage at start-up does not stop Caddy. Then it
// looks again every hour, and soon after a delivery failed its signature
// check (at most once a minute).
func (s *Service) KeepWebhookRegistered(ctx context.Context) {
	for {
		if !s.ensureWithRetry(ctx) {
			return
		}
		last := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-time.After(webhookRecheckEvery):
		case <-s.webhookRecheck:
			if wait := webhookRecheckGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
	}
}

// ensureWithRetry runs EnsureWebhook until it succeeds (true) or ctx ends.
func (s *Service) ensureWithRetry(ctx context.Context) bool {
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.EnsureWebhook(callCtx)
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			return true
		}
		s.log.Warn("webhook registration failed; will retry", zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-ctx.Done():
			return false
		case <-time.After(state.Backoff(attempt)):
		}
	}
}

// ErrNoWebhookRegistration: no webhook secret is stored yet.
var ErrNoWebhookRegistration = errors.New("no webhook registration yet")

// VerifyWebhook runs verify with the stored signing secret. When the
// signature does not match the cached secret, the secret is read again from
// the store (another instance may have registered anew); when it still does
// not match, the registrations at Vipps are looked at again soon, in case
// one the shop holds no secret for is delivering.
func (s *Service) VerifyWebhook(verify func(secret string) error) error {
	secret, ok := s.WebhookSecret()
	if !ok {
		return ErrNoWebhookRegistration
	}
	err := verify(secret)
	if err == nil {
		return nil
	}
	if reg, lerr := s.loadRegistration(); lerr == nil && reg != nil && reg.Secret != "" && reg.Secret != secret {
		if err = verify(reg.Secret); err == nil {
			return nil
		}
	}
	if errors.Is(err, vipps.ErrWebhookSignature) {
		select {
		case s.webhookRecheck <- struct{}{}:
		default:
		}
	}
	return err
}

// WebhookSecret returns the signing secret of the current registration.
func (s *Service) WebhookSecret() (string, bool) {
	if v, ok := secretCache.Load(s.store); ok {
		c := v.(cachedRegistration)
		if time.Since(c.at) < secretCacheTTL {
			return c.reg.Secret, c.reg.Secret != ""
		}
	}
	reg, err := s.loadRegistration()
	if err != nil || reg == nil {
		return "", false
	}
	return reg.Secret, reg.Secret != ""
}

func (s *Service) loadRegistration() (*webhookRegistration, error) {
	raw, err := s.store.GetMeta(webhookMetaKey)
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var reg webhookRegistration
	if err := json.Unmarshal(raw, &reg); err != nil {
		return nil, fmt.Errorf("decoding webhook registration: %w", err)
	}
	secretCache.Store(s.store, cachedRegistration{reg: reg, at: time.Now()})
	return &reg, nil
}

func (s *Service) saveRegistration(reg webhookRegistration) error {
	raw, err := json.Marshal(reg)
	if err != nil {
		return err
	}
	if err := s.store.PutMeta(webhookMetaKey, raw); err != nil {
		return fmt.Errorf("storing webhook registration: %w", err)
	}
	secretCache.Store(s.store, cachedRegistration{reg: reg, at: time.Now()})
	return nil
}
