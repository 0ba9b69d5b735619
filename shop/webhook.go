package shop

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// HandleWebhook takes a verified webhook delivery. The payload is only a
// signal: the order is refreshed from Vipps through the arbiter. If Vipps
// cannot be asked right now, a durable refresh job is queued instead, so the
// delivery can still be acknowledged. Unknown references and other merchants'
// events are ignored. An error means nothing durable happened and Vipps
// should deliver again.
func (s *Service) HandleWebhook(ctx context.Context, ev *vipps.WebhookEvent) error {
	if s.cfg.MerchantSerialNumber != "" && ev.MSN != "" && ev.MSN != s.cfg.MerchantSerialNumber {
		s.log.Info("ignoring webhook for another merchant serial number", zap.String("reference", ev.Reference))
		return nil
	}
	if _, err := s.Order(ev.Reference); errors.Is(err, ErrNotFound) {
		s.log.Info("ignoring webhook for unknown order", zap.String("event", string(ev.Name)))
		return nil
	} else if err != nil {
		return err
	}
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Refresh(callCtx, ev.Reference, state.SourceWebhook); err == nil {
		return nil
	} else {
		s.log.Info("webhook refresh deferred", zap.String("reference", ev.Reference), zap.Error(err))
	}
	_, _, err := s.update(ev.Reference, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
		// Vipps gets a 2xx only once the signal is kept (the commit is
		// synced).
		tx.Enqueue(state.Job{Kind: JobRefresh, Ref: o.Reference, NotBefore: s.now().UTC()})
		if o.Watched() {
			o.NextCheckAt = s.now().UTC()
		}
		return nil
	})
	return err
}
