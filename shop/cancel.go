package shop

import (
	"context"

	"github.com/caddy-vipps/caddy-vipps/state"
)

// Cancel releases what is still reserved, whatever was captured or refunded
// before: before any capture the whole payment, after partial captures the
// rest. A payment the buyer has not approved yet is terminated. Captured
// money must be refunded instead.
func (s *Service) Cancel(ctx context.Context, ref string, c Caller) (*state.Order, *state.Operation, error) {
	return s.runOperation(ctx, ref, OpCancel, c, func(o *state.Order, op *state.Operation) error {
		p := o.Payment
		switch {
		case p.State == "CREATED":
			op.Amount, op.Note = o.Amount, "cancelled before approval"
			return nil
		case p.State == "AUTHORIZED" && p.Reserved() > 0:
			op.Amount, op.Note = p.Reserved(), "reservation released"
			return nil
		case p.State == "":
			return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: "the payment is not created at vipps"}
		}
		reason := "nothing is reserved to release"
		if p.Refundable() > 0 {
			reason = "nothing is reserved to release; captured money can be refunded"
		}
		return &StateError{Reference: o.Reference, Status: string(o.Status), Reason: reason}
	})
}
