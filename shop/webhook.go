package shop

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// HandleWebhook takes a verified webhook delivery. The payload is a signal:
// the order is refreshed from Vipps through the arbiter, unless the stored
// order already shows what the event tells (see eventKnown): then there is
// nothing to ask. If Vipps cannot be asked right now, a durable refresh job
// is queued instead, so the delivery can still be acknowledged. Unknown
// references and other merchants' events are ignored. An error means
// nothing durable happened and Vipps should deliver again.
func (s *Service) HandleWebhook(ctx context.Context, ev *vipps.WebhookEvent) error {
	if s.cfg.MerchantSerialNumber != "" && ev.MSN != "" && ev.MSN != s.cfg.MerchantSerialNumber {
		s.log.Info("ignoring webhook for another merchant serial number", zap.String("reference", ev.Reference))
		return nil
	}
	cur, err := s.Order(ev.Reference)
	if errors.Is(err, ErrNotFound) {
		s.log.Info("ignoring webhook for unknown order", zap.String("event", string(ev.Name)))
		return nil
	} else if err != nil {
		return err
	}
	if eventKnown(cur, ev) {
		s.log.Debug("webhook tells what the order shows", zap.String("reference", ev.Reference), zap.String("event", string(ev.Name)))
		return nil
	}
	callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.mustRead(callCtx, cur, state.SourceWebhook); err == nil {
		return nil
	} else {
		s.log.Info("webhook refresh deferred", zap.String("reference", ev.Reference), zap.Error(err))
	}
	_, _, err = s.update(ev.Reference, state.SourceWebhook, func(o *state.Order, tx *state.Tx) error {
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

// eventKnown reports whether the stored order already shows a successful
// event: the authorization of the amount it records as authorized, the
// final state it records, or a capture, release or refund the shop made
// itself and recorded from Vipps' answer (the same Idempotency-Key and
// amount). A refresh would then only read what is stored; anything else
// (an operation in the business portal, a different amount) is refreshed.
func eventKnown(o *state.Order, ev *vipps.WebhookEvent) bool {
	if !ev.Success {
		return false
	}
	switch ev.Name {
	case vipps.EventAuthorized:
		return o.Payment.Authorized > 0 && o.Payment.Authorized == ev.Amount.Value
	case vipps.EventAborted, vipps.EventExpired, vipps.EventTerminated:
		return o.Payment.State == string(ev.Name)
	case vipps.EventCaptured, vipps.EventCancelled, vipps.EventRefunded:
		kind := map[vipps.EventName]string{vipps.EventCaptured: OpCapture, vipps.EventCancelled: OpCancel, vipps.EventRefunded: OpRefund}[ev.Name]
		for _, op := range o.Ops {
			if ev.IdempotencyKey != "" && op.IdempotencyKey == ev.IdempotencyKey && op.Kind == kind && op.Status == OpDone && op.Amount == ev.Amount.Value {
				return true
			}
		}
	}
	return false
}
