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

// EnsureWebhook makes sure Vipps delivers webhooks to the shop's webhook URL
// and that the signing secret is stored. An existing registration for the
// URL whose secret is stored is reused; registrations for the URL without a
// known secret are replaced, and when the URL changed the old registration
// is removed after the new one is in place.
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
	if stored != nil && stored.URL == url {
		for _, h := range hooks {
			if h.ID == stored.ID && h.URL == url {
				s.log.Debug("reusing webhook registration", zap.String("id", h.ID))
				return nil
			}
		}
	}
	reg, err := s.vipps.RegisterWebhook(ctx, url, WebhookEvents)
	if err != nil {
		return s.classify("webhooks.register", err)
	}
	fresh := webhookRegistration{ID: reg.ID, URL: url, Secret: reg.Secret}
	if err := s.saveRegistration(fresh); err != nil {
		return err
	}
	for _, h := range hooks {
		stale := h.URL == url || (stored != nil && h.ID == stored.ID)
		if stale && h.ID != fresh.ID {
			if err := s.vipps.DeleteWebhook(ctx, h.ID); err != nil {
				s.log.Warn("removing stale webhook registration", zap.String("id", h.ID), zap.Error(err))
			}
		}
	}
	s.log.Info("registered webhook", zap.String("id", reg.ID), zap.String("url", url))
	return nil
}

// KeepWebhookRegistered retries EnsureWebhook with backoff until it succeeds
// or ctx ends, so a Vipps outage at start-up does not stop Caddy.
func (s *Service) KeepWebhookRegistered(ctx context.Context) {
	for attempt := 1; ; attempt++ {
		callCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := s.EnsureWebhook(callCtx)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.Warn("webhook registration failed; will retry", zap.Int("attempt", attempt), zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(state.Backoff(attempt)):
		}
	}
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
