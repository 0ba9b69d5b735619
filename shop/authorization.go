package shop

import (
	"context"

	"github.com/caddy-vipps/caddy-vipps/state"
	"github.com/caddy-vipps/caddy-vipps/vipps"
)

// JobAuthorization sets when a payment was authorized from Vipps' own event
// log, once the order is authorized: the capture deadline counts from that
// moment, not from when the shop happened to notice (which matters for
// MobilePay's 14 days).
const JobAuthorization = "authorization"

// settleAuthorization reads the AUTHORIZED event's time and moves the
// order's authorization time and capture deadline back to it. The deadline
// only ever moves earlier: a captureGuaranteedUntil Vipps gave stays if it
// is sooner.
func (s *Service) settleAuthorization(ctx context.Context, ref string) error {
	events, err := s.vipps.GetPaymentEvents(ctx, ref)
	if err := s.classify("events", err); err != nil {
		return err
	}
	var at *vipps.PaymentEvent
	for i := range events {
		if events[i].Name == vipps.EventAuthorized && events[i].Success {
			at = &events[i]
			break
		}
	}
	if at == nil || at.Timestamp.IsZero() {
		return errNoAuthorizedEvent // the log may lag: try again later
	}
	authorizedAt := at.Timestamp.UTC()
	_, _, err = s.update(ref, state.SourceWorker, func(o *state.Order, tx *state.Tx) error {
		p := &o.Payment
		if p.Authorized == 0 || p.AuthorizedAt.Equal(authorizedAt) {
			return state.ErrNoChange
		}
		p.AuthorizedAt = authorizedAt
		if d := CaptureDeadline(o.Currency, authorizedAt); p.CaptureDeadline.IsZero() || d.Before(p.CaptureDeadline) {
			p.CaptureDeadline = d
		}
		tx.Note("authorized at %s by vipps' event log", authorizedAt.Format("2006-01-02T15:04:05Z"))
		return nil
	})
	return err
}
