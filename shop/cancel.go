package shop

import (
	"context"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Cancel releases what is still reserved: before any capture the whole
// payment, after a partial capture the rest. A payment the buyer has not
// approved yet is terminated. Captured money must be refunded instead.
func (s *Service) Cancel(ctx context.Context, ref, actor string) (*state.Order, *state.Operation, error) {
	return s.runOperation(ctx, ref, OpCancel, actor, func(o *state.Order, op *state.Operation) error {
		switch o.Status {
		case state.StatusPending:
			op.Amount, op.Note = o.Amount, "cancelled before approval"
			return nil
		case state.StatusAuthorized, state.StatusPartiallyCaptured:
			if r := Remaining(o); r > 0 {
				op.Amount, op.Note = r, "reservation released"
				return nil
			}
		}
		reason := "nothing is reserved to release"
		if o.Payment.Captured > 0 {
			reason = "the payment is captured; refund it instead"
		}
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: reason}
	})
}
